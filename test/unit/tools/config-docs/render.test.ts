import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS } from '../../../../src/config/schema.js';
import { configurationDoc } from '../../../../tools/config-docs/render.js';

const DOC = new URL('../../../../docs/configuration.md', import.meta.url);

describe('docs/configuration.md', () => {
  it('is what the schema generates (run `npm run docs` after changing CONFIG_KEYS)', async () => {
    const written = await readFile(DOC, 'utf8');
    expect(
      written === configurationDoc(),
      'docs/configuration.md is out of date with src/config/schema.ts: run `npm run docs`',
    ).toBe(true);
  });

  it('documents every key with its flag, environment variables and default', () => {
    const doc = configurationDoc();
    for (const [key, spec] of Object.entries(CONFIG_KEYS)) {
      const start = doc.indexOf(`### \`${key}\`\n`);
      expect(start, `no section for ${key}`).toBeGreaterThan(0);
      const next = doc.indexOf('\n### ', start + 1);
      const section = doc.slice(start, next === -1 ? undefined : next);
      expect(section).toContain(spec.doc);
      if ('flag' in spec) expect(section).toContain(`- Flag: \`${spec.flag}\``);
      for (const name of 'env' in spec ? spec.env : []) expect(section).toContain(`\`${name}\``);
      if ('default' in spec)
        expect(section).toContain(JSON.stringify(spec.default).replaceAll('"', ''));
    }
  });

  it('names the variables the README used to leave out', () => {
    const doc = configurationDoc();
    for (const name of [
      'EDEN_WINDOW',
      'EDEN_WINDOW_INDEX',
      'EDEN_IMAGE_FORMAT',
      'EDEN_BIT_DEPTH',
      'EDEN_MAX_SIZE',
      'EDEN_FRAMES',
      'EDEN_SOURCE_MAX_CONNECTIONS',
      'EDEN_SOURCE_STATEMENT_TIMEOUT',
      'SOURCE_DATABASE_CA_FILE',
    ]) {
      expect(doc).toContain(`\`${name}\``);
    }
  });
});
