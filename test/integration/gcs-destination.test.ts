import { readFile } from 'node:fs/promises';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGcsEmulator, type GcsEmulator } from '../../tools/gcs-emulator/server.js';
import { runCli, tempDir } from '../support/cli.js';
import { csvObjects } from '../support/rfc4180.js';

const BUCKET = 'eden-test-bucket';
const PREFIX = 'datasets/chest';

describe('a run into gs:// (the GCS emulator, the real client)', () => {
  let emulator: GcsEmulator;
  let storage: Storage;
  let dir: string;
  let cleanup: () => Promise<void>;
  let env: NodeJS.ProcessEnv;

  /** Every object under the prefix with its generation: a new generation is a new write. */
  async function generations(): Promise<Map<string, string>> {
    const [files] = await storage.bucket(BUCKET).getFiles({ prefix: `${PREFIX}/` });
    return new Map(files.map((file) => [file.name, String(file.metadata.generation)]));
  }

  beforeAll(async () => {
    emulator = await startGcsEmulator({ port: 0 });
    storage = new Storage({ apiEndpoint: emulator.url, projectId: 'test' });
    await storage.createBucket(BUCKET);
    ({ dir, cleanup } = await tempDir('gcs-dest'));
    env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      EDEN_PROGRESS: 'lines',
      STORAGE_EMULATOR_HOST: emulator.url,
    };
  });

  afterAll(async () => {
    await emulator.close();
    await cleanup();
  });

  it('delivers the dataset into the bucket, DICOM byte for byte', async () => {
    // Uploads meet 503s and a 429 first: the client's retries carry them through.
    emulator.failures.fail503(3, { method: 'POST' });
    emulator.failures.fail429(1, 1, { method: 'POST' });
    const result = await runCli(
      ['demo', '--studies', '1', '--dest', `gs://${BUCKET}/datasets`, '--prefix', 'chest'],
      dir,
      env,
    );
    expect(result.stderr).not.toMatch(/ERROR|FATAL/);
    expect(result.code).toBe(0);
    // Identifiable data going to a bucket is said out loud.
    expect(result.stderr).toMatch(/cloud bucket and is NOT de-identified/);
    expect(emulator.failures.injected.length).toBeGreaterThanOrEqual(4);
    const bucket = storage.bucket(BUCKET);
    const [csv] = await bucket.file(`${PREFIX}/dicom-reports-extracted-sample.csv`).download();
    // The sample PACS's quality-gate cases are excluded: nothing of them is uploaded.
    const rows = csvObjects(csv.toString('utf8')).filter((row) => row.status === 'delivered');
    expect(rows.length).toBeGreaterThan(0);
    const objects = await generations();
    // DICOM and JPEG per instance; the card, the CSV, failures.csv, excluded.csv,
    // metadata.jsonl, studies.jsonl and manifest.json; and the demo's exports, among them the
    // WebDataset shard finalize made from the images it read back from the bucket.
    const exported = [...objects.keys()].filter((name) => name.startsWith(`${PREFIX}/exports/`));
    expect(
      exported.some((name) => /\/exports\/webdataset\/split=\w+-000000\.tar$/.test(name)),
    ).toBe(true);
    expect(objects.size).toBe(rows.length * 2 + 7 + exported.length);
    for (const row of rows) {
      const [dicom] = await bucket.file(`${PREFIX}/dicom-files/${row.instance_id}.dcm`).download();
      const original = await readFile(new URL(row.file_url as string));
      expect(dicom.equals(original)).toBe(true);
      const [metadata] = await bucket
        .file(`${PREFIX}/images-jpg/${row.instance_id}.jpg`)
        .getMetadata();
      expect(metadata.contentType).toBe('image/jpeg');
    }
    const verified = await runCli(['verify', `gs://${BUCKET}/${PREFIX}`], dir, env);
    expect(verified.stdout).toMatch(/^OK gs:\/\//);
    expect(verified.code).toBe(0);
  }, 120_000);

  it('writes no object again: a rerun, and an overlapping new run', async () => {
    const before = await generations();
    const rerun = await runCli(
      ['demo', '--studies', '1', '--dest', `gs://${BUCKET}/datasets`, '--prefix', 'chest'],
      dir,
      env,
    );
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toContain('already complete');
    expect(await generations()).toEqual(before);

    const overlap = await runCli(
      [
        'demo',
        '--studies',
        '1',
        '--seed',
        'other',
        '--dest',
        `gs://${BUCKET}/datasets`,
        '--prefix',
        'chest',
      ],
      dir,
      env,
    );
    expect(overlap.code).toBe(0);
    const after = await generations();
    for (const [name, generation] of before) {
      if (name.includes('/dicom-files/') || name.includes('/images-jpg/')) {
        expect(after.get(name), name).toBe(generation);
      }
    }
    expect(overlap.stdout).toMatch(/Already present: [1-9]/);
  }, 120_000);

  it('stops at the first upload, naming the permission, when the credentials may not create objects', async () => {
    emulator.failures.deny(403, Infinity, { method: 'POST', path: '/o' });
    try {
      const result = await runCli(
        ['demo', '--studies', '2', '--concurrency', '2', '--dest', `gs://${BUCKET}/denied`],
        dir,
        env,
      );
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toContain('DESTINATION_UNAVAILABLE');
      expect(result.stderr).toContain('refused (403)');
      expect(result.stderr).toContain('storage.objects.create');
      expect(result.stderr).toContain('roles/storage.objectCreator');
      // Stopped at once: one refused upload per instance in flight (2), never retried.
      const refused = emulator.failures.injected.filter((fault) => fault.kind === '403');
      expect(refused.length).toBeGreaterThan(0);
      expect(refused.length).toBeLessThanOrEqual(2);
    } finally {
      emulator.failures.clear();
    }
    const [objects] = await storage.bucket(BUCKET).getFiles({ prefix: 'denied/' });
    expect(objects).toEqual([]);
  }, 60_000);

  it('stops before planning, naming the credentials, when they are refused', async () => {
    emulator.failures.deny(401, Infinity, { method: 'GET', path: `/b/${BUCKET}` });
    try {
      const result = await runCli(
        ['demo', '--studies', '1', '--dest', `gs://${BUCKET}/refused`],
        dir,
        env,
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`DESTINATION_UNAVAILABLE gs://${BUCKET}`);
      expect(result.stderr).toContain('cannot reach the bucket (401)');
      expect(result.stderr).toContain('GCS_CREDENTIALS_PATH');
    } finally {
      emulator.failures.clear();
    }
  }, 60_000);

  it('stops at once, naming the bucket, when it does not exist', async () => {
    const result = await runCli(
      ['demo', '--studies', '1', '--dest', 'gs://no-such-bucket-here'],
      dir,
      env,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('DESTINATION_UNAVAILABLE gs://no-such-bucket-here');
    expect(result.stderr).toContain('the bucket does not exist');
  }, 60_000);
});
