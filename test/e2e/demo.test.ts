import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  exportFiles,
  datasetFiles,
  fileIdentities,
  listFiles,
  runCli,
  tempDir,
  type CliResult,
} from '../support/cli.js';
import { csvObjects, parseCsv } from '../support/rfc4180.js';

const ORIGINAL_COLUMNS = [
  'study_id',
  'series_number',
  'instance_id',
  'instance_number',
  'file_path',
  'file_url',
  'report_value',
  'field_created_at',
  'downloaded',
  'local_file_path',
];

describe('eden-etl demo (the README quick start)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let first: CliResult;
  const dataset = () => join(dir, 'output/eden-dataset-vlms/sample-test');

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('demo'));
    first = await runCli(['demo', '--studies', '3'], dir);
  }, 300_000);

  afterAll(async () => {
    await cleanup();
  });

  it('runs the whole ETL on the sample PACS and prints the report', () => {
    expect(first.stderr).not.toMatch(/ERROR|FATAL/);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('EXTRACTION STATISTICS');
    expect(first.stdout).toContain('TIMING SUMMARY');
    expect(first.stdout).toContain('STATISTICS SUMMARY');
    expect(first.stdout).toMatch(/Failed: 0/);
  });

  it('writes the output contract: DICOM as is, JPEGs, CSV, failures list and dataset card', async () => {
    const files = await listFiles(dataset());
    const csvText = await readFile(join(dataset(), 'dicom-reports-extracted-sample.csv'), 'utf8');
    const records = parseCsv(csvText);
    expect(records[0]?.slice(0, 10)).toEqual(ORIGINAL_COLUMNS);
    const rows = csvObjects(csvText);
    expect(rows.length).toBeGreaterThanOrEqual(3 * 2);
    expect(new Set(rows.map((row) => row.instance_id)).size).toBe(rows.length);
    expect(new Set(rows.map((row) => row.study_id)).size).toBe(3);
    // The sample PACS has quality-gate cases: those rows are excluded, with nothing stored.
    const excluded = rows.filter((row) => row.status === 'excluded');
    expect(excluded.length).toBeGreaterThan(0);
    for (const row of excluded) expect(row.downloaded).toBe('False');
    const delivered = rows.filter((row) => row.status === 'delivered');
    expect(delivered.length + excluded.length).toBe(rows.length);

    for (const row of delivered) {
      const id = row.instance_id as string;
      expect(row.downloaded).toBe('True');
      expect(row.local_file_path).toBe(`dicom-files/${id}.dcm`);
      const delivered = await readFile(join(dataset(), `dicom-files/${id}.dcm`));
      const original = await readFile(new URL(row.file_url as string));
      expect(delivered.equals(original)).toBe(true);
      const jpeg = await sharp(join(dataset(), `images-jpg/${id}.jpg`)).metadata();
      expect(jpeg).toMatchObject({ format: 'jpeg', channels: 1 });
      expect(String(jpeg.width)).toBe(row.width);
      expect(String(jpeg.height)).toBe(row.height);
    }
    // Every study's report reached each of its rows, with its punctuation intact.
    for (const row of delivered) expect(row.report_value).not.toBe('');
    expect(rows.some((row) => /[,"\n]/.test(row.report_value as string))).toBe(true);

    const expected = datasetFiles(
      delivered.map((row) => row.instance_id as string),
      await exportFiles(dataset()),
    );
    // The demo shows every export: each split's shard at least.
    expect(
      expected.filter((file) => file.startsWith('exports/webdataset/')).length,
    ).toBeGreaterThan(0);
    expect(files).toEqual(expected);
    expect(await listFiles(join(dir, 'output/.eden-tmp'))).toEqual([]);

    const failures = parseCsv(await readFile(join(dataset(), 'failures.csv'), 'utf8'));
    expect(failures).toHaveLength(1);
    const card = await readFile(join(dataset(), 'README-dataset.md'), 'utf8');
    expect(card).toContain('chest_dicom_files_and_reports.sql');
    expect(card).toContain(String(rows.length));
    expect(card).toContain(String(excluded.length));
    expect(card).toContain('has not been de-identified');
  });

  it('reruns without writing anything, and says so', async () => {
    const before = await fileIdentities(join(dir, 'output'));
    const again = await runCli(['demo', '--studies', '3'], dir);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already complete.*Nothing to upload/);
    expect(await fileIdentities(join(dir, 'output'))).toEqual(before);
  });

  it('skips objects already delivered with the same content when a new run overlaps', async () => {
    // Another seed over the same 3-study PACS selects the same studies: a new run whose
    // objects are all there already.
    const before = await fileIdentities(dataset());
    const overlap = await runCli(['demo', '--studies', '3', '--seed', 'other'], dir);
    expect(overlap.code).toBe(0);
    const rows = csvObjects(
      await readFile(join(dataset(), 'dicom-reports-extracted-sample.csv'), 'utf8'),
    );
    // Of a re-sent copy and its original, the first processed is delivered: either may be, so
    // one delivered image pair may be new to the destination.
    const delivered = rows.filter((row) => row.status === 'delivered').length;
    const present = Number(/Already present: (\d+)/.exec(overlap.stdout)?.[1]);
    expect(present).toBeGreaterThanOrEqual((delivered - 1) * 2);
    expect(present).toBeLessThanOrEqual(delivered * 2);
    const after = await fileIdentities(dataset());
    for (const [file, identity] of before) {
      if (file.startsWith('dicom-files/') || file.startsWith('images-jpg/')) {
        expect(after.get(file)).toBe(identity);
      }
    }
  });

  it('writes PNG images of every frame with --format png --frames all', async () => {
    const png = await runCli(
      ['demo', '--studies', '3', '--dest', 'file://./png', '--format', 'png', '--frames', 'all'],
      dir,
    );
    expect(png.code).toBe(0);
    const root = join(dir, 'png/eden-dataset-vlms/sample-test');
    const rows = csvObjects(
      await readFile(join(root, 'dicom-reports-extracted-sample.csv'), 'utf8'),
    );
    const files = await listFiles(root);
    expect(files.filter((name) => name.startsWith('images-jpg/'))).toEqual([]);
    for (const row of rows.filter((candidate) => candidate.status === 'delivered')) {
      // The sample PACS has single-frame images: one image each, numbered 1.
      expect(row.image_key).toBe(`images-png/${row.instance_id}_1.png`);
      expect(row.image_count).toBe('1');
      expect(row.codec).toBe('png');
      const meta = await sharp(join(root, row.image_key as string)).metadata();
      expect(meta).toMatchObject({ format: 'png', width: Number(row.width) });
    }
    const card = await readFile(join(root, 'README-dataset.md'), 'utf8');
    expect(card).toContain('{instance_id}_{frame}.png');
  });
});
