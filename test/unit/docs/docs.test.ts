import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../src/domain/errors.js';

/**
 * The user documentation against the repository: links that lead somewhere inside it, and the
 * README's error table against the error codes the code defines.
 */

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const README = join(ROOT, 'README.md');
const MAX_README_LINES = 220;
const FAILURE_SECTION = '## Failures and error codes';

const DOCUMENTS = [
  README,
  join(ROOT, 'CHANGELOG.md'),
  join(ROOT, 'bench/RESULTS.md'),
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(ROOT, 'docs', name)),
];

/** The text outside fenced code blocks and inline code, where a `[x](y)` is a link. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** Every link target of a Markdown text: inline links and images. */
function linkTargets(markdown: string): string[] {
  const targets: string[] = [];
  for (const match of prose(markdown).matchAll(
    /!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g,
  )) {
    targets.push(match[1] ?? '');
  }
  return targets;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(markdown: string): Set<string> {
  const headings = markdown
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
    .split('\n')
    .filter((line) => /^#{1,6}\s/.test(line))
    .map((line) => anchorOf(line.replace(/^#+\s+/, '')));
  return new Set(headings);
}

/** What is wrong with the relative links of the document at `file` (empty when nothing is). */
function brokenLinks(file: string, markdown: string, root: string): string[] {
  const problems: string[] = [];
  for (const target of linkTargets(markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:: not files of ours
    const [pathPart = '', anchor] = target.split('#', 2);
    if (isAbsolute(pathPart)) {
      problems.push(`${target}: an absolute path, not a link inside the repository`);
      continue;
    }
    const resolved = pathPart === '' ? file : resolve(dirname(file), decodeURIComponent(pathPart));
    const inside = relative(root, resolved);
    if (inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
      problems.push(`${target}: leaves the repository`);
      continue;
    }
    if (pathPart !== '' && !existsSync(resolved)) {
      problems.push(`${target}: no such file ${inside}`);
      continue;
    }
    if (anchor !== undefined && anchor !== '' && resolved.endsWith('.md')) {
      const text = resolved === file ? markdown : readFileSync(resolved, 'utf8');
      if (!anchorsOf(text).has(anchor))
        problems.push(`${target}: no heading #${anchor} in ${inside}`);
    }
  }
  return problems;
}

/** The rows of the first table after `heading`: code (backquoted, first cell) → exit code. */
function failureTable(markdown: string, heading: string): Map<string, string> {
  const start = markdown.split('\n').indexOf(heading);
  if (start === -1) return new Map();
  const rows = new Map<string, string>();
  let inTable = false;
  for (const line of markdown.split('\n').slice(start + 1)) {
    if (line.startsWith('## ')) break;
    if (!line.startsWith('|')) {
      if (inTable) break;
      continue;
    }
    inTable = true;
    const cells = line.split('|').map((cell) => cell.trim());
    const code = /^`([A-Z][A-Z0-9_]*)`$/.exec(cells[1] ?? '')?.[1];
    if (code !== undefined) rows.set(code, cells[2] ?? '');
  }
  return rows;
}

describe('relative links in README.md, docs/*.md, CHANGELOG.md and bench/RESULTS.md', () => {
  it.each(DOCUMENTS.map((file) => [relative(ROOT, file), file]))(
    '%s: every one resolves to a file inside the repository',
    (_name, file) => {
      expect(brokenLinks(file, readFileSync(file, 'utf8'), ROOT)).toEqual([]);
    },
  );

  it('are found and judged: a missing file, an escape, a missing heading, code left alone', () => {
    const file = join(ROOT, 'docs', 'example.md');
    const text = [
      '# Example',
      '[ok](../README.md) [ok too](configuration.md#settings) [self](#example) [web](https://x.org/a)',
      '[gone](nowhere.md) [out](../../shared/DESIGN.md) [abs](/etc/passwd) [anchor](#no-such-heading)',
      '`[code](not-a-link.md)`',
      '```',
      '[fenced](not-a-link-either.md)',
      '```',
    ].join('\n');
    expect(brokenLinks(file, text, ROOT)).toEqual([
      'nowhere.md: no such file docs/nowhere.md',
      '../../shared/DESIGN.md: leaves the repository',
      '/etc/passwd: an absolute path, not a link inside the repository',
      '#no-such-heading: no heading #no-such-heading in docs/example.md',
    ]);
  });
});

describe('README.md', () => {
  const readme = readFileSync(README, 'utf8');

  it(`is at most ${MAX_README_LINES} lines: the rest lives in docs/`, () => {
    expect(readme.trimEnd().split('\n').length).toBeLessThanOrEqual(MAX_README_LINES);
  });

  it('lists every error code of src/domain/errors.ts, with its exit code, and no other', () => {
    const table = failureTable(readme, FAILURE_SECTION);
    const defined = Object.keys(ERROR_CODES).sort();
    expect([...table.keys()].sort()).toEqual(defined);
    for (const [code, exit] of table) {
      expect(exit, code).toBe(String(ERROR_CODES[code as keyof typeof ERROR_CODES].exitCode));
    }
  });

  it('names every folder of src/ in its layout list', () => {
    const folders = readdirSync(join(ROOT, 'src'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
    expect(folders.filter((name) => !readme.includes(`\`src/${name}/\``))).toEqual([]);
  });

  it('reads the failure table as a table: a code missing or invented shows', () => {
    const text = [
      FAILURE_SECTION,
      '',
      '| code | exit |',
      '| --- | --- |',
      '| `NOT_DICOM` | 3 |',
      '| `MADE_UP` | 1 |',
      '',
      '## Next',
      '| `USAGE` | 2 |',
    ].join('\n');
    expect([...failureTable(text, FAILURE_SECTION)]).toEqual([
      ['NOT_DICOM', '3'],
      ['MADE_UP', '1'],
    ]);
  });
});
