import { CONFIG_KEYS, type ConfigKey, type KeySpec } from '../../src/config/schema.js';

const SPECS: Readonly<Record<ConfigKey, KeySpec>> = CONFIG_KEYS;

/** Markdown-safe inline code; a backtick inside would end the span. */
function code(text: string): string {
  return `\`${text.replaceAll('`', "'")}\``;
}

function defaultOf(spec: KeySpec): string {
  if (spec.default === undefined) return 'none';
  return code(typeof spec.default === 'string' ? spec.default : JSON.stringify(spec.default));
}

function section(key: ConfigKey): string[] {
  const spec = SPECS[key];
  const names = [spec.flag, ...(spec.env ?? [])].filter((name) => name !== undefined);
  const lines = [`### ${code(key)}`, '', spec.doc, ''];
  if (spec.flag !== undefined) lines.push(`- Flag: ${code(spec.flag)}`);
  if ((spec.env ?? []).length > 0) {
    lines.push(`- Environment: ${(spec.env ?? []).map(code).join(', ')} (the first set wins)`);
  }
  lines.push(`- Default: ${defaultOf(spec)}`, `- Expected: ${spec.expected}`);
  if (spec.commands !== undefined) lines.push(`- Commands: ${spec.commands.map(code).join(', ')}`);
  if (spec.secret === true) lines.push('- Secret: never shown; `eden-etl config` prints `***`.');
  if (spec.secret === 'url') {
    lines.push('- Secret: the credentials in the URL are redacted wherever it is shown.');
  }
  if (names.length === 0) lines.push('- Set by other keys only.');
  lines.push('');
  return lines;
}

/**
 * docs/configuration.md, generated from CONFIG_KEYS so the reference cannot drift from the
 * code: `npm run docs` writes it, and a unit test fails when the file differs.
 */
export function configurationDoc(): string {
  const keys = Object.keys(SPECS) as ConfigKey[];
  return [
    '# Configuration',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run docs`; edit the schema, not this file. -->',
    '',
    'Every setting can be given as a command-line flag, an environment variable or a line in a',
    '`.env` file in the working directory. The first of these wins: flags, then the values a',
    'command fixes (the demo fixes its sample PACS), then the environment, then `.env`, then a',
    "command's own defaults, then the defaults below. `eden-etl config` prints every resolved",
    'value with where it came from, secrets redacted. An invalid value stops the command before',
    'it starts with `CONFIG_INVALID` (exit 2), naming the value received and what was expected.',
    '',
    '## Settings',
    '',
    ...keys.flatMap(section),
  ].join('\n');
}
