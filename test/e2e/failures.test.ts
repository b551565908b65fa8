import { readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listFiles, runCli, tempDir } from '../support/cli.js';
import { csvObjects } from '../support/rfc4180.js';

describe('a PACS with a missing, a non-DICOM and a truncated file', () => {
  let dir: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('failures'));
  });
  afterAll(async () => {
    await cleanup();
  });

  it('records three failures with their codes, delivers the rest and exits 3', async () => {
    // First a clean demo run, to create the sample PACS and learn its files.
    const demo = await runCli(['demo', '--studies', '2', '--dest', 'file://./clean'], dir);
    expect(demo.code).toBe(0);
    const clean = csvObjects(
      await readFile(
        join(dir, 'clean/eden-dataset-vlms/sample-test/dicom-reports-extracted-sample.csv'),
        'utf8',
      ),
    );
    const [missing, notDicom, truncated] = clean.map((row) => row);
    if (missing === undefined || notDicom === undefined || truncated === undefined) {
      throw new Error('the sample PACS has fewer than three instances');
    }
    await rm(fileURLToPath(missing.file_url as string));
    await writeFile(fileURLToPath(notDicom.file_url as string), 'this is a text file, not DICOM\n');
    const truncatedPath = fileURLToPath(truncated.file_url as string);
    await truncate(truncatedPath, Math.floor((await readFile(truncatedPath)).length / 2));

    const broken = await runCli(
      [
        'run',
        '--source',
        'pglite:.eden/sample-pacs/db',
        '--studies',
        '2',
        '--dest',
        'file://./broken',
      ],
      dir,
    );
    expect(broken.code).toBe(3);
    expect(broken.stdout).toMatch(/Failed: 3/);
    expect(broken.stdout).toContain('FILE_MISSING: 1');
    expect(broken.stdout).toContain('NOT_DICOM: 1');
    expect(broken.stdout).toContain('DICOM_TRUNCATED: 1');

    const dataset = join(dir, 'broken/eden-dataset-vlms/sample-test');
    const failures = csvObjects(await readFile(join(dataset, 'failures.csv'), 'utf8'));
    expect(failures.map((row) => [row.instance_id, row.error_code]).sort()).toEqual(
      [
        [missing.instance_id, 'FILE_MISSING'],
        [notDicom.instance_id, 'NOT_DICOM'],
        [truncated.instance_id, 'DICOM_TRUNCATED'],
      ].sort(),
    );
    for (const row of failures) expect(row.error_message).toMatch(/^[A-Z_]+ instance \S+: .+/);

    const rows = csvObjects(
      await readFile(join(dataset, 'dicom-reports-extracted-sample.csv'), 'utf8'),
    );
    expect(rows).toHaveLength(clean.length);
    const failedIds = new Set(failures.map((row) => row.instance_id));
    const files = await listFiles(dataset);
    for (const row of rows) {
      const id = row.instance_id as string;
      // The sample PACS's quality-gate cases are excluded (and stored nowhere), not failed.
      const delivered = !failedIds.has(id) && row.status !== 'excluded';
      expect(row.downloaded).toBe(delivered ? 'True' : 'False');
      expect(files.includes(`dicom-files/${id}.dcm`)).toBe(delivered);
      expect(files.includes(`images-jpg/${id}.jpg`)).toBe(delivered);
    }
  }, 300_000);
});

describe('bad usage and configuration', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('usage'));
  });
  afterAll(async () => {
    await cleanup();
  });

  it('lists every invalid value with what was expected and exits 2', async () => {
    const result = await runCli(
      ['run', '--source', 'pglite:./x', '--dest', './out', '--studies', 'abc', '--quality', '0'],
      dir,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--studies: received "abc"; expected an integer, 1 or more');
    expect(result.stderr).toContain('--quality: received "0"; expected an integer, 1..100');
  });

  it('exits 2 on an unknown flag', async () => {
    const result = await runCli(['run', '--no-such-flag'], dir);
    expect(result.code).toBe(2);
  });

  it('refuses a query missing contract columns before the run starts, naming them', async () => {
    await writeFile(join(dir, 'bad.sql'), 'SELECT id AS study_id FROM pacs_studies');
    const demo = await runCli(['demo', '--studies', '1', '--query', 'bad.sql'], dir);
    expect(demo.code).toBe(2);
    expect(demo.stderr).toContain('QUERY_INVALID');
    expect(demo.stderr).toContain('series_id, series_number, instance_id');
  }, 120_000);

  it('names an unreachable PACS database and exits 1', async () => {
    const result = await runCli(
      ['run', '--source', 'postgres://nobody:pw@127.0.0.1:1/pacs', '--dest', './out'],
      dir,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('SOURCE_UNAVAILABLE postgres://127.0.0.1:1/pacs');
    expect(result.stderr).not.toContain('pw@');
  });

  it('prints the configuration with secrets redacted', async () => {
    const result = await runCli(['config'], dir, {
      PATH: process.env.PATH ?? '',
      SOURCE_DATABASE_URL: 'postgres://reader:hunter2@db:5432/pacs',
      SECRET_KEY: 'abcdefghijklmnopqrstuvwxyz',
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('postgres://db:5432/pacs');
    expect(result.stdout).not.toContain('hunter2');
    expect(result.stdout).not.toContain('abcdefghijklmnopqrstuvwxyz');
  });
});
