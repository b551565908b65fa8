import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtlError } from '../../../src/domain/errors.js';
import type { RunSpec } from '../../../src/domain/run-spec.js';
import type { SqlClient } from '../../../src/domain/sql.js';
import { Ledger } from '../../../src/ledger/ledger.js';
import { planRun } from '../../../src/pipeline/plan.js';
import { compileNamedParameters, type SelectionQuery } from '../../../src/source/query-file.js';
import { openPglite } from '../../../src/sql/pglite-client.js';
import { TEST_SPEC } from '../../support/ledger-fixtures.js';

function query(text: string): SelectionQuery {
  return { name: 'q.sql', path: 'q.sql', text, sha256: 'x', ...compileNamedParameters(text) };
}

/** The query contract over the fake PACS tables `inst<suffix>`, `field<suffix>`. */
function contract(suffix = ''): SelectionQuery {
  return query(`SELECT i.study_id, i.series_id, i.series_number, i.id AS instance_id,
  i.instance_number, i.path AS file_path, 'file:///' || i.path AS file_url,
  f.value AS report_value, f.created_at AS field_created_at
FROM inst${suffix} i LEFT JOIN field${suffix} f ON f.study_id = i.study_id
WHERE i.study_id <= :studies`);
}
const CONTRACT = contract();

/** Five instances in three studies; study 2 has two report fields, study 3 none. */
const PACS = `
  CREATE TABLE inst (id text, study_id int, series_id text, series_number int,
    instance_number int, path text);
  CREATE TABLE field (study_id int, value text, created_at timestamptz);
  INSERT INTO inst VALUES
    ('a1', 1, 's1', 1, 1, 'a1.dcm'), ('a2', 1, 's1', 1, 2, 'a2.dcm'),
    ('b1', 2, 's2', 1, 1, 'b1.dcm'), ('b2', 2, 's2', 1, 2, 'b2.dcm'),
    ('c1', 3, 's3', 1, 1, 'c1.dcm');
  INSERT INTO field VALUES
    (1, 'Study one is clear.', '2024-01-01T09:00Z'),
    (2, 'Addendum: no change.', '2024-01-02T09:00Z'),
    (2, 'Study two, first read.', '2024-01-01T09:00Z');
`;

const SPEC: RunSpec = { ...TEST_SPEC, queryParameters: { studies: 3, seed: '0' }, batchSize: 2 };

describe('planRun', () => {
  let dir: string;
  let source: SqlClient;
  let state: SqlClient;
  let ledger: Ledger;

  // Opening PGlite takes seconds: one PACS and one ledger for the file, one run id per test.
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'eden-plan-'));
    source = await openPglite(join(dir, 'pacs'), 'test PACS');
    await source.exec(PACS);
    state = await openPglite(join(dir, 'state'), 'test state');
    ledger = await Ledger.open(state);
  });

  afterAll(async () => {
    await source.close();
    await state.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A copy of the PACS tables that a test may change without disturbing the others. */
  async function pacsCopy(suffix: string): Promise<SelectionQuery> {
    await source.exec(`CREATE TABLE inst${suffix} AS SELECT * FROM inst;
      CREATE TABLE field${suffix} AS SELECT * FROM field;`);
    return contract(suffix);
  }

  /** Every item of the run as (instance, batch), in ordinal order. */
  async function frozen(runId: string): Promise<[string, number][]> {
    const batches = await ledger.batchNumbers(runId, false);
    const items: [string, number][] = [];
    for (const batchNo of batches) {
      for (const item of await ledger.pendingItems(runId, batchNo)) {
        items.push([item.instanceId, batchNo]);
      }
    }
    return items;
  }

  it('freezes the selection in key order, with batches of batchSize and the totals', async () => {
    const run = await planRun(ledger, source, 'order', SPEC, CONTRACT);
    expect(run).toMatchObject({
      runId: 'order',
      status: 'planned',
      totalInstances: 5,
      totalStudies: 3,
    });
    expect(run.plannedAt).not.toBeNull();
    expect(run.spec).toEqual(SPEC);
    expect(await frozen('order')).toEqual([
      ['a1', 0],
      ['a2', 0],
      ['b1', 1],
      ['b2', 1],
      ['c1', 2],
    ]);
  });

  it('stores each study’s report once, its fields joined oldest first', async () => {
    await planRun(ledger, source, 'reports', SPEC, CONTRACT);
    const reports = await ledger.studyReports('reports');
    expect(reports.sort((a, b) => a.studyId.localeCompare(b.studyId))).toEqual([
      { studyId: '1', reportValue: 'Study one is clear.' },
      { studyId: '2', reportValue: 'Study two, first read.\n\nAddendum: no change.' },
      { studyId: '3', reportValue: '' },
    ]);
    const items = await ledger.pendingItems('reports', 1);
    expect(items.map((item) => item.reportValue)).toEqual([
      'Study two, first read.\n\nAddendum: no change.',
      'Study two, first read.\n\nAddendum: no change.',
    ]);
  });

  it('reads the source page by page and counts the pages, not changing the selection', async () => {
    // One row per page at most: each study gets a page of its own.
    const run = await planRun(ledger, source, 'paged', { ...SPEC, pageSize: 1 }, CONTRACT);
    expect(run.pages).toBe(3);
    const whole = await planRun(ledger, source, 'w', { ...SPEC, pageSize: 1000 }, CONTRACT);
    expect(whole.pages).toBe(1);
    expect(await frozen('paged')).toEqual(await frozen('w'));
  });

  it('binds the spec’s parameters to the query', async () => {
    const two = { ...SPEC, queryParameters: { studies: 2, seed: '0' } };
    const run = await planRun(ledger, source, 'two', two, CONTRACT);
    expect(run).toMatchObject({ totalInstances: 4, totalStudies: 2 });
    expect((await frozen('two')).map(([instance]) => instance)).toEqual(['a1', 'a2', 'b1', 'b2']);
  });

  it('keeps the frozen selection when the PACS changes after planning', async () => {
    const copy = await pacsCopy('_changed');
    await planRun(ledger, source, 'changed', SPEC, copy);
    await source.exec(`DELETE FROM inst_changed WHERE study_id = 1;
      UPDATE field_changed SET value = 'new'`);
    expect(await frozen('changed')).toHaveLength(5);
    expect((await ledger.pendingItems('changed', 0))[0]?.reportValue).toBe('Study one is clear.');
  });

  it('refuses a query missing contract columns before creating the run', async () => {
    const partial = query('SELECT id AS instance_id, study_id FROM inst');
    const error = await planRun(ledger, source, 'partial', SPEC, partial).catch(
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(EtlError);
    expect((error as EtlError).code).toBe('QUERY_INVALID');
    expect((error as EtlError).message).toContain('series_id');
    expect(await ledger.findRun('partial')).toBeNull();
  });

  it('refuses a query naming an unknown parameter before creating the run', async () => {
    const unknown = query(`${CONTRACT.text} AND i.id <> :nope`);
    await expect(planRun(ledger, source, 'unknown', SPEC, unknown)).rejects.toMatchObject({
      code: 'QUERY_INVALID',
      message: expect.stringContaining(':nope') as unknown,
    });
    expect(await ledger.findRun('unknown')).toBeNull();
  });

  it('leaves the run in planning with no selection when an instance id repeats', async () => {
    const copy = await pacsCopy('_twice');
    await source.exec(`INSERT INTO inst_twice VALUES ('a1', 3, 's3', 1, 2, 'again.dcm')`);
    await expect(planRun(ledger, source, 'twice', SPEC, copy)).rejects.toMatchObject({
      code: 'QUERY_INVALID',
      subject: 'instance a1',
    });
    const run = await ledger.findRun('twice');
    expect(run?.status).toBe('planning');
    expect(run?.totalInstances).toBeNull();
    expect(await frozen('twice')).toEqual([]);
  });

  it('plans a run left in planning again from scratch, keeping its first spec', async () => {
    await ledger.createRun('again', SPEC);
    const other = { ...SPEC, prefix: 'other' };
    const run = await planRun(ledger, source, 'again', other, CONTRACT);
    expect(run.status).toBe('planned');
    expect(run.totalInstances).toBe(5);
    // createRun keeps an existing run untouched: the spec stored first is the one used.
    expect(run.spec.prefix).toBe(SPEC.prefix);
  });

  it('splits a run planned again into the batches of its stored spec, not of the new one', async () => {
    await ledger.createRun('resized', { ...SPEC, batchSize: 3 });
    // The run id does not depend on the batch size: a restart may pass another one.
    const run = await planRun(ledger, source, 'resized', { ...SPEC, batchSize: 1 }, CONTRACT);
    expect(run.spec.batchSize).toBe(3);
    expect((await frozen('resized')).map(([, batchNo]) => batchNo)).toEqual([0, 0, 0, 1, 1]);
  });
});
