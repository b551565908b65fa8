import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlClient } from '../../../src/domain/sql.js';
import { compileNamedParameters, type SelectionQuery } from '../../../src/source/query-file.js';
import type { SelectedInstance } from '../../../src/domain/dataset.js';
import { checkSelectionQuery, readSelection } from '../../../src/source/selection.js';
import { openPglite } from '../../../src/sql/pglite-client.js';

function query(text: string): SelectionQuery {
  return { name: 'test.sql', path: 'test.sql', text, sha256: 'x', ...compileNamedParameters(text) };
}

const CONTRACT = `SELECT i.study_id, i.series_id, i.series_number, i.id AS instance_id,
  i.instance_number, i.path AS file_path, 'file:///' || i.path AS file_url,
  f.value AS report_value, f.created_at AS field_created_at
FROM inst i LEFT JOIN field f ON f.study_id = i.study_id
WHERE i.study_id <= :max_study`;

describe('readSelection (keyset pagination)', () => {
  let dir: string;
  let db: SqlClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'eden-selection-'));
    db = await openPglite(join(dir, 'db'), 'test PACS');
    await db.exec(`
      CREATE TABLE inst (id bigint, study_id bigint, series_id bigint, series_number int,
        instance_number int, path text);
      CREATE TABLE field (study_id bigint, value text, created_at timestamptz);
      INSERT INTO inst SELECT 1000 + n, 1 + n / 4, 100 + n / 2, n / 2, n % 2, 'f' || n
        FROM generate_series(0, 22) AS n;
      INSERT INTO field SELECT s, 'report ' || s || ' part ' || k,
        timestamptz '2024-01-01 00:00Z' + k * interval '1 minute'
        FROM generate_series(1, 6) AS s, generate_series(1, 3) AS k;
      -- study 6 gets five more fields: eight, more than a page of 4 rows holds.
      INSERT INTO field SELECT 6, 'big ' || k, timestamptz '2024-01-02 00:00Z' + k * interval '1 minute'
        FROM generate_series(1, 5) AS k;
    `);
  });

  afterAll(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function readAll(pageSize: number, maxStudy: number) {
    const instances: SelectedInstance[] = [];
    const pageSizes: number[] = [];
    const pages = await readSelection(db, {
      query: query(CONTRACT),
      parameters: [maxStudy],
      pageSize,
      onPage: (page) => {
        instances.push(...page);
        pageSizes.push(page.length);
        return Promise.resolve();
      },
    });
    return { instances, pages, pageSizes };
  }

  it('returns every instance once with all its report fields, whatever the page size', async () => {
    const whole = await readAll(10_000, 100);
    expect(whole.instances).toHaveLength(23);
    for (const pageSize of [1, 2, 3, 4, 7]) {
      const paged = await readAll(pageSize, 100);
      expect(paged.instances).toEqual(whole.instances);
      expect(paged.pages).toBeGreaterThan(1);
    }
    const ids = whole.instances.map((instance) => instance.instanceId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('keeps report fields in created_at order and normalises types', async () => {
    const { instances } = await readAll(4, 100);
    const first = instances[0] as SelectedInstance;
    expect(first).toMatchObject({
      studyId: '1',
      seriesId: '100',
      seriesNumber: 0,
      instanceId: '1000',
      instanceNumber: 0,
      filePath: 'f0',
      fileUrl: 'file:///f0',
    });
    expect(first.reportFields.map((field) => field.value)).toEqual([
      'report 1 part 1',
      'report 1 part 2',
      'report 1 part 3',
    ]);
    expect(first.reportFields[0]?.createdAt).toBe('2024-01-01T00:01:00.000Z');
    // Study 6: eight fields, read whole although a page holds four rows.
    const big = instances.filter((instance) => instance.studyId === '6');
    expect(big.length).toBeGreaterThan(0);
    for (const instance of big) expect(instance.reportFields).toHaveLength(8);
  });

  it('binds the query parameters', async () => {
    const { instances } = await readAll(5, 2);
    expect(new Set(instances.map((instance) => instance.studyId))).toEqual(new Set(['1', '2']));
  });

  it('refuses a query missing contract columns, naming them', async () => {
    const broken = query('SELECT id AS instance_id, study_id FROM inst');
    await expect(checkSelectionQuery(db, broken, [])).rejects.toMatchObject({
      code: 'QUERY_INVALID',
      message: expect.stringContaining(
        'series_id, series_number, instance_number, file_path, file_url, report_value, field_created_at',
      ) as unknown,
    });
    await expect(checkSelectionQuery(db, query(CONTRACT), [3])).resolves.toBeUndefined();
  });

  it('reports a failing query as SOURCE_QUERY_FAILED', async () => {
    await expect(
      checkSelectionQuery(db, query('SELECT * FROM no_such_table'), []),
    ).rejects.toMatchObject({
      code: 'SOURCE_QUERY_FAILED',
    });
  });
});
