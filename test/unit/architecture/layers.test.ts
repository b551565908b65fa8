import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The layer rules of .dependency-cruiser.cjs (run by `npm run lint`) fail on the imports they
 * forbid: each case is a small tree with one such import, cruised with the project's own
 * configuration, as lint would.
 */

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const DEPCRUISE = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const run = promisify(execFile);

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eden-layers-'));
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  await writeFile(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `files` as a tree `src/…` of its own and returns what the rules say of it. */
async function violations(files: Record<string, string>): Promise<Violation[]> {
  const tree = await mkdtemp(join(dir, 'case-'));
  await symlink(join(dir, 'node_modules'), join(tree, 'node_modules'));
  await symlink(join(dir, 'tsconfig.json'), join(tree, 'tsconfig.json'));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(tree, path)), { recursive: true });
    await writeFile(join(tree, path), text);
  }
  const args = [DEPCRUISE, 'src', '--config', join(ROOT, '.dependency-cruiser.cjs')];
  // depcruise exits with the number of errors; its report is on stdout either way.
  const { stdout } = await run(process.execPath, [...args, '--output-type', 'json'], {
    cwd: tree,
  }).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
  const report = JSON.parse(stdout) as { summary: { violations: Violation[] } };
  return report.summary.violations;
}

const names = (found: Violation[]) => found.map((violation) => violation.rule.name);

describe('the layer rules', () => {
  it('let imports point down: stage to domain, pipeline to stage, app to pipeline', async () => {
    const found = await violations({
      'src/domain/errors.ts': 'export const E = 1;\n',
      'src/ledger/runs.ts': "import { E } from '../domain/errors.js';\nexport const R = E;\n",
      'src/pipeline/plan.ts': "import { R } from '../ledger/runs.js';\nexport const P = R;\n",
      'src/app/run.ts': "import { P } from '../pipeline/plan.js';\nexport const A = P;\n",
      'src/commands/run.ts': "import { A } from '../app/run.js';\nexport const C = A;\n",
    });
    expect(found).toEqual([]);
  }, 30_000);

  it('refuse a stage importing another stage (the ledger deciding for de-identification)', async () => {
    const found = await violations({
      'src/deid/scrub.ts': 'export const scrub = 1;\n',
      'src/ledger/rows.ts': "import { scrub } from '../deid/scrub.js';\nexport const r = scrub;\n",
    });
    expect(names(found)).toEqual(['stages-never-import-each-other']);
    expect(found[0]).toMatchObject({ from: 'src/ledger/rows.ts', to: 'src/deid/scrub.ts' });
  }, 30_000);

  it('refuse upward imports, from domain, the pipeline and the app', async () => {
    const found = await violations({
      'src/domain/spec.ts': "import { p } from '../pipeline/plan.js';\nexport const s = p;\n",
      'src/pipeline/plan.ts': "import { a } from '../app/run.js';\nexport const p = a;\n",
      'src/app/run.ts': "import { c } from '../commands/run.js';\nexport const a = c;\n",
      'src/commands/run.ts': 'export const c = 1;\n',
    });
    expect(names(found).sort()).toEqual([
      'app-below-commands',
      'domain-is-the-floor',
      'pipeline-below-the-app',
    ]);
  }, 30_000);

  it('refuse the demo generator outside its two commands', async () => {
    const found = await violations({
      'src/demo/sample-pacs.ts': 'export const pacs = 1;\n',
      'src/commands/demo.ts':
        "import { pacs } from '../demo/sample-pacs.js';\nexport const d = pacs;\n",
      'src/app/run.ts': "import { pacs } from '../demo/sample-pacs.js';\nexport const a = pacs;\n",
    });
    expect(found.every((violation) => violation.from === 'src/app/run.ts')).toBe(true);
    expect(names(found)).toContain('demo-only-for-its-commands');
  }, 30_000);

  it('refuse building an adapter outside the composition root; its types are fine', async () => {
    const pg = 'export function openPg() { return 1; }\nexport type Pg = number;\n';
    const found = await violations({
      'src/sql/pg-client.ts': pg,
      'src/app/compose.ts':
        "import { openPg } from '../sql/pg-client.js';\nexport const db = openPg();\n",
      'src/app/run.ts':
        "import { openPg } from '../sql/pg-client.js';\nexport const db = openPg();\n",
      'src/pipeline/plan.ts':
        "import type { Pg } from '../sql/pg-client.js';\nexport const p: Pg = 1;\n",
    });
    expect(found.map((violation) => [violation.rule.name, violation.from])).toEqual([
      ['only-the-composition-root-builds-adapters', 'src/app/run.ts'],
    ]);
  }, 30_000);

  it('refuse a client library outside its adapter folder', async () => {
    const found = await violations({
      'src/sql/pg-client.ts': "import pg from 'pg';\nexport const Pool = pg.Pool;\n",
      'src/ledger/runs.ts': "import pg from 'pg';\nexport const Pool = pg.Pool;\n",
    });
    expect(found.map((violation) => [violation.rule.name, violation.from])).toEqual([
      ['client-libraries-behind-adapters', 'src/ledger/runs.ts'],
    ]);
  }, 30_000);

  it('refuse an import cycle, even inside one folder', async () => {
    const found = await violations({
      'src/pipeline/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'src/pipeline/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
    });
    expect(new Set(names(found))).toEqual(new Set(['no-circular']));
  }, 30_000);
});
