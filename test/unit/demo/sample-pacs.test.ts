import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureSamplePacs } from '../../../src/demo/sample-pacs.js';
import { planStudy } from '../../../src/demo/study-plan.js';
import type { SqlClient } from '../../../src/domain/sql.js';
import { openPglite } from '../../../src/sql/pglite-client.js';
import { dcmdumpCheck, pydicomCheck, type PydicomImage } from '../../support/demo-dicom-tools.js';

let dir: string;
const databases: SqlClient[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eden-sample-pacs-'));
});
afterEach(async () => {
  await Promise.all(databases.splice(0).map((db) => db.close()));
  await rm(dir, { recursive: true, force: true });
});

async function open(root: string): Promise<SqlClient> {
  const db = await openPglite(join(root, 'db'), 'sample PACS');
  databases.push(db);
  return db;
}

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort();
}

/** relative path → [sha256, mtime] of every file under `${root}/files`. */
async function snapshot(root: string): Promise<Map<string, [string, number]>> {
  const filesDir = join(root, 'files');
  const result = new Map<string, [string, number]>();
  for (const path of await listFiles(filesDir)) {
    const full = join(filesDir, path);
    const hash = createHash('sha256')
      .update(await readFile(full))
      .digest('hex');
    result.set(path, [hash, (await stat(full)).mtimeMs]);
  }
  return result;
}

interface InstanceRow {
  study_id: number;
  deleted: boolean;
  modality: string;
  sop_class_uid: string;
  file_path: string;
  file_url: string;
  file_size: number;
}

async function instanceRows(db: SqlClient): Promise<InstanceRow[]> {
  const { rows } = await db.query<InstanceRow>(`
    SELECT st.id AS study_id, st.deleted, st.modality, i.sop_class_uid, i.file_path, i.file_url,
           i.file_size
    FROM pacs_instances i
    JOIN pacs_series se ON se.id = i.series_id
    JOIN pacs_studies st ON st.id = se.study_id
    ORDER BY i.id`);
  return rows;
}

/** Every row of every table, file_url aside (it names the directory). */
async function allRows(db: SqlClient): Promise<unknown[]> {
  const tables = ['pacs_studies', 'pacs_series', 'pacs_report_fields'];
  const rows: unknown[] = [];
  for (const table of tables) {
    rows.push((await db.query(`SELECT * FROM ${table} ORDER BY id`)).rows);
  }
  rows.push(
    (
      await db.query(
        'SELECT id, series_id, sop_instance_uid, sop_class_uid, instance_number, file_path, file_size FROM pacs_instances ORDER BY id',
      )
    ).rows,
  );
  return rows;
}

/** Every file passes dcmdump and pydicom without a warning; returns what pydicom decoded. */
async function checkFiles(root: string, rows: readonly InstanceRow[]): Promise<PydicomImage[]> {
  for (const row of rows) {
    const dump = await dcmdumpCheck(join(root, 'files', row.file_path));
    expect(dump.problems, row.file_path).toBe('');
  }
  const python = await pydicomCheck(rows.map((row) => join(root, 'files', row.file_path)));
  expect(python.problems).toBe('');
  expect(python.images).toHaveLength(rows.length);
  for (const [index, image] of python.images.entries()) {
    const row = rows[index] as InstanceRow;
    expect(image.sopClassUid).toBe(row.sop_class_uid);
    expect(image.min).toBeLessThan(image.max);
    if (row.modality === 'CT') {
      expect(image).toMatchObject({ shape: [512, 512], dtype: 'int16', rescale: true });
      expect(image.windowCenter).toEqual(expect.arrayContaining([-600, 40]));
    } else {
      expect(image.dtype).toBe('uint16');
      expect(image.max).toBeLessThan(2 ** image.bitsStored);
      expect(image.shape.every((side) => side >= 2000 && side <= 3000)).toBe(true);
    }
  }
  return python.images;
}

describe('ensureSamplePacs', () => {
  // Above the default timeout: on a loaded 2-core machine the generation and pydicom's reading
  // of 4 studies (with their quality-gate cases) can take a minute.
  it('creates rows and readable DICOM files, with one deleted study', async () => {
    const db = await open(dir);
    const progress: [number, number][] = [];
    const summary = await ensureSamplePacs(db, { dir, studies: 3, seed: 22 }, (done, total) =>
      progress.push([done, total]),
    );

    const rows = await instanceRows(db);
    // Two series per study, and one defect series in each of the two live studies that have
    // one (study-plan.ts, InstanceQuirk).
    expect(summary).toMatchObject({ created: true, studies: 3, deletedStudies: 1, series: 10 });
    expect(summary.instances).toBe(rows.length);
    expect(progress).toEqual([
      [1, 4],
      [2, 4],
      [3, 4],
      [4, 4],
    ]);
    // PGlite returns int8 as a JavaScript number (node-postgres would return a string).
    expect(typeof rows[0]?.study_id).toBe('number');

    let bytes = 0;
    for (const row of rows) {
      const path = join(dir, 'files', row.file_path);
      expect(row.file_path).toMatch(/^\d{4}\/\d{2}\/\d{2}\/(2\.25\.\d+\/){2}2\.25\.\d+\.dcm$/);
      expect(row.file_url).toBe(pathToFileURL(path).href);
      expect((await stat(path)).size).toBe(Number(row.file_size));
      bytes += Number(row.file_size);
    }
    expect(summary.bytes).toBe(bytes);
    expect(await listFiles(join(dir, 'files'))).toHaveLength(rows.length);

    const deleted = rows.filter((row) => row.deleted);
    expect(new Set(deleted.map((row) => row.study_id)).size).toBe(1);
    expect(deleted.length).toBeGreaterThan(0);
    const live = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pacs_studies WHERE deleted = FALSE',
    );
    expect(live.rows[0]?.n).toBe(3);

    // Seed 22's first studies cover MONOCHROME1/2, a radiograph without windows and both CT
    // scanners (one pads outside the field of view), in both transfer syntaxes.
    const images = await checkFiles(dir, rows);
    const radiographs = images.filter((image) => image.dtype === 'uint16');
    expect(new Set(radiographs.map((image) => image.photometric))).toEqual(
      new Set(['MONOCHROME1', 'MONOCHROME2']),
    );
    expect(radiographs.some((image) => image.windowCenter === null)).toBe(true);
    expect(images.some((image) => image.paddingValue === -2000)).toBe(true);
    expect(new Set(images.map((image) => image.transferSyntax))).toEqual(
      new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1']),
    );

    const reports = await db.query<{ value: string }>(
      "SELECT string_agg(value, E'\\n' ORDER BY created_at) AS value FROM pacs_report_fields GROUP BY study_id",
    );
    expect(reports.rows).toHaveLength(4);
    for (const { value } of reports.rows) {
      expect(value).toContain(',');
      expect(value).toContain('"');
      expect(value).toMatch(/\n/);
      expect(value).toMatch(/[^\p{ASCII}]/u);
    }
  }, 120_000);

  it('reuses what exists, grows incrementally and repairs a missing file', async () => {
    const db = await open(dir);
    // Seed 50 starts with CTs, which are small: the test stays fast.
    await ensureSamplePacs(db, { dir, studies: 2, seed: 50 });
    const first = await snapshot(dir);
    const firstRows = await allRows(db);

    const calls: number[] = [];
    const again = await ensureSamplePacs(db, { dir, studies: 2, seed: 50 }, (done) =>
      calls.push(done),
    );
    expect(again.created).toBe(false);
    expect(calls).toEqual([]);
    expect(await snapshot(dir)).toEqual(first);
    // Fewer studies than exist is satisfied as well.
    expect((await ensureSamplePacs(db, { dir, studies: 1, seed: 50 })).created).toBe(false);

    const grown = await ensureSamplePacs(db, { dir, studies: 3, seed: 50 });
    expect(grown).toMatchObject({ created: true, studies: 3, deletedStudies: 1 });
    const after = await snapshot(dir);
    for (const [path, identity] of first) expect(after.get(path)).toEqual(identity);
    const third = planStudy(50, 3);
    const added = [...after.keys()].filter((path) => !first.has(path));
    expect(added.sort()).toEqual(
      third.series
        .flatMap((series) => series.instances.map((instance) => instance.filePath))
        .sort(),
    );
    const grownRows = (await allRows(db)) as unknown[][];
    (firstRows as unknown[][]).forEach((table, index) => {
      expect(grownRows[index]?.slice(0, table.length)).toEqual(table);
    });

    const [victim, [hash]] = [...first.entries()][0] as [string, [string, number]];
    await rm(join(dir, 'files', victim));
    const repaired = await ensureSamplePacs(db, { dir, studies: 3, seed: 50 });
    expect(repaired.created).toBe(true);
    const final = await snapshot(dir);
    expect(final.get(victim)?.[0]).toBe(hash);
    for (const [path, identity] of after)
      if (path !== victim) expect(final.get(path)).toEqual(identity);
    const leftovers = (await listFiles(join(dir, 'files'))).filter((path) => path.endsWith('.tmp'));
    expect(leftovers).toEqual([]);

    // Without its meta row the database is someone else's PACS: refused, left as it is.
    await db.exec('DELETE FROM sample_pacs_meta');
    await expect(ensureSamplePacs(db, { dir, studies: 4, seed: 50 })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/did not create/) as unknown,
    });
    expect(await allRows(db)).toEqual(grownRows);
  });

  it('is deterministic from the seed and rebuilds when the seed changes', async () => {
    const db = await open(dir);
    const hashes = async (): Promise<Map<string, string>> =>
      new Map([...(await snapshot(dir))].map(([path, [hash]]) => [path, hash]));
    // Seeds 15 and 21 both start with two CT studies, the cheapest to generate. A seed change
    // drops everything, so regenerating seed 15 afterwards is a fresh generation.
    await ensureSamplePacs(db, { dir, studies: 1, seed: 15 });
    const first = { files: await hashes(), rows: await allRows(db) };

    const reseeded = await ensureSamplePacs(db, { dir, studies: 1, seed: 21 });
    expect(reseeded).toMatchObject({ created: true, studies: 1, deletedStudies: 1 });
    const other = await hashes();
    expect([...other.keys()].filter((path) => first.files.has(path))).toEqual([]);
    const firstContents = new Set(first.files.values());
    expect([...other.values()].filter((hash) => firstContents.has(hash))).toEqual([]);
    const meta = await db.query<{ seed: number | string }>('SELECT seed FROM sample_pacs_meta');
    expect(Number(meta.rows[0]?.seed)).toBe(21);

    expect((await ensureSamplePacs(db, { dir, studies: 1, seed: 15 })).created).toBe(true);
    expect(await hashes()).toEqual(first.files);
    expect(await allRows(db)).toEqual(first.rows);
  });

  it('rejects invalid options, naming each value and what was expected', async () => {
    const untouchable = (): never => {
      throw new Error('the database must not be used when the options are invalid');
    };
    const db: SqlClient = {
      query: untouchable,
      exec: untouchable,
      transaction: untouchable,
      close: untouchable,
    };
    await expect(ensureSamplePacs(db, { dir: '', studies: 0, seed: -1 })).rejects.toThrow(
      /dir: received "", expected a directory path; studies: received 0, expected an integer from 1 to 10000; seed: received -1, expected a non-negative integer/,
    );
    await expect(ensureSamplePacs(db, { dir, studies: 2.5, seed: 1 })).rejects.toThrow(
      /studies: received 2.5/,
    );
  });
});
