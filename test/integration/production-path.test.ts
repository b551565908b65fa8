import { request as httpRequest } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGcsEmulator, type GcsEmulator } from '../../tools/gcs-emulator/server.js';
import { listFiles, runCli, tempDir } from '../support/cli.js';
import { startTestServer, type TestServer } from '../support/http-test-server.js';
import { startOrthanc, type Orthanc } from '../support/orthanc.js';
import { createTestDatabase } from '../support/postgres.js';
import { csvObjects } from '../support/rfc4180.js';

// The production path end to end: the PACS database in a real PostgreSQL, the files on a real
// PACS web server (Orthanc) that is down (503) for the first seconds of the run, the dataset
// into gs:// through the real client, with the bucket answering 503s, 429s and resetting a
// resumable upload mid-chunk. Nothing may be lost, nothing written twice.

const BUCKET = 'eden-production-path';
const PREFIX = 'datasets/chest';
/** How long the PACS web server answers 503 after the run's first download, in ms. */
const OUTAGE_MS = 3_000;

let database: { url: string; drop: () => Promise<void> } | undefined;
let orthanc: Orthanc | undefined;
let proxy: TestServer | undefined;
let emulator: GcsEmulator | undefined;
let work: { dir: string; cleanup: () => Promise<void> } | undefined;
/** Requests the PACS web server refused with 503 while it was "down". */
let refused = 0;
/** Instances of the studies not deleted: the selection of a run of every study. */
let liveInstances = 0;
/** file_path (relative to the files directory) → the file's bytes, as loaded into Orthanc */
const originals = new Map<string, Buffer>();

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} did not start (see the beforeAll error)`);
  return value;
}

/**
 * Orthanc behind a proxy that is down for OUTAGE_MS from the first request: a PACS web server
 * restarting under the run.
 */
async function flakyFront(target: Orthanc): Promise<TestServer> {
  let downUntil: number | undefined;
  const upstream = new URL(target.origin);
  return startTestServer((request, response) => {
    downUntil ??= Date.now() + OUTAGE_MS;
    if (Date.now() < downUntil) {
      refused += 1;
      request.resume();
      response.writeHead(503, { 'content-type': 'text/plain' }).end('restarting');
      return;
    }
    const forwarded = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forwarded.on('error', () => response.destroy());
    request.pipe(forwarded);
  });
}

function cliEnv(): NodeJS.ProcessEnv {
  const server = must(orthanc, 'Orthanc');
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    EDEN_PROGRESS: 'lines',
    PACS_HTTP_USER: server.user,
    PACS_HTTP_PASSWORD: server.password,
    STORAGE_EMULATOR_HOST: must(emulator, 'the GCS emulator').url,
  };
}

function runArgs(): string[] {
  return [
    'run',
    '--source',
    must(database, 'PostgreSQL').url,
    '--studies',
    '3',
    '--dest',
    `gs://${BUCKET}/datasets`,
    '--prefix',
    'chest',
    // Transport is under test here: every instance must travel, none be kept out by a gate.
    '--quality-gates',
    'none',
  ];
}

async function generations(storage: Storage): Promise<Map<string, string>> {
  const [files] = await storage.bucket(BUCKET).getFiles({ prefix: `${PREFIX}/` });
  return new Map(files.map((file) => [file.name, String(file.metadata.generation)]));
}

beforeAll(async () => {
  database = await createTestDatabase('production');
  work = await tempDir('production-path');
  const loaded = await runCli(
    ['sample-pacs', '--into', database.url, '--studies', '3', '--files', 'pacs'],
    work.dir,
  );
  expect(loaded.code, loaded.stderr).toBe(0);

  // file_path is relative to the files directory the sample PACS writes under --files.
  const filesDir = join(work.dir, 'pacs/files');
  orthanc = await startOrthanc();
  proxy = await flakyFront(orthanc);
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    for (const file of await listFiles(filesDir)) {
      const bytes = await readFile(join(filesDir, file));
      originals.set(file, bytes);
      const id = await orthanc.upload(bytes);
      await client.query('UPDATE pacs_instances SET file_url = $1 WHERE file_path = $2', [
        `${proxy.origin}/instances/${id}/file`,
        file,
      ]);
    }
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM pacs_instances WHERE file_url NOT LIKE $1`,
      [`${proxy.origin}/%`],
    );
    expect(rows[0]?.n).toBe('0');
    const live = await client.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM pacs_instances i JOIN pacs_series se ON se.id = i.series_id
       JOIN pacs_studies st ON st.id = se.study_id WHERE NOT st.deleted`,
    );
    liveInstances = Number(live.rows[0]?.n);
  } finally {
    await client.end();
  }

  emulator = await startGcsEmulator({ port: 0 });
  await new Storage({ apiEndpoint: emulator.url, projectId: 'test' }).createBucket(BUCKET);
}, 120_000);

afterAll(async () => {
  await emulator?.close();
  await proxy?.close();
  await orthanc?.stop();
  await database?.drop();
  await work?.cleanup();
});

describe('PostgreSQL + Orthanc → gs://, through outages on both sides', () => {
  it('delivers every instance exactly once, byte for byte', async () => {
    const gcs = must(emulator, 'the GCS emulator');
    const storage = new Storage({ apiEndpoint: gcs.url, projectId: 'test' });
    gcs.failures.fail503(4, { method: 'POST', path: 'uploadType=multipart' });
    gcs.failures.fail429(2, 1, { method: 'POST', path: 'uploadType=multipart' });
    gcs.failures.resetUploadChunk(1, 1024 * 1024);

    const run = await runCli(runArgs(), must(work, 'the work directory').dir, cliEnv());
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/Failed: 0\b/);
    expect(`${run.stdout}${run.stderr}`).not.toContain(must(orthanc, 'Orthanc').password);

    // Both sides did fail for a while, and the run rode it out.
    expect(refused).toBeGreaterThan(0);
    const kinds = new Set(gcs.failures.injected.map((fault) => fault.kind));
    expect([...kinds].sort()).toEqual(['429', '503', 'reset']);

    const bucket = storage.bucket(BUCKET);
    const [csv] = await bucket.file(`${PREFIX}/dicom-reports-extracted-sample.csv`).download();
    const rows = csvObjects(csv.toString('utf8'));
    expect(rows.length).toBe(liveInstances);
    for (const row of rows) {
      expect(row.downloaded).toBe('True');
      const [dicom] = await bucket.file(`${PREFIX}/dicom-files/${row.instance_id}.dcm`).download();
      expect(dicom.equals(originals.get(row.file_path as string) as Buffer), row.file_path).toBe(
        true,
      );
      const [jpeg] = await bucket.file(`${PREFIX}/images-jpg/${row.instance_id}.jpg`).download();
      expect(jpeg.subarray(0, 2).toString('hex')).toBe('ffd8');
    }
    // One object per delivered file and one per image: nothing twice, nothing left over.
    const names = [...(await generations(storage)).keys()];
    expect(names.filter((name) => name.includes('/dicom-files/'))).toHaveLength(rows.length);
    expect(names.filter((name) => name.includes('/images-jpg/'))).toHaveLength(rows.length);
  }, 300_000);

  it('writes nothing on a rerun', async () => {
    const storage = new Storage({ apiEndpoint: must(emulator, 'the GCS emulator').url });
    const before = await generations(storage);
    const rerun = await runCli(runArgs(), must(work, 'the work directory').dir, cliEnv());
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stdout).toContain('already complete');
    expect(await generations(storage)).toEqual(before);
  }, 120_000);
});
