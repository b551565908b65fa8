import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/sql/pglite-client.js';
import { listFiles, runCli, tempDir } from '../support/cli.js';
import { startOrthanc, type Orthanc } from '../support/orthanc.js';
import { csvObjects } from '../support/rfc4180.js';

// A real PACS web server: Orthanc from Debian, loaded with the sample PACS files, serving them
// at /instances/{id}/file behind HTTP Basic auth. The selection's file_urls point at it.

let orthanc: Orthanc | undefined;
let work: { dir: string; cleanup: () => Promise<void> } | undefined;
/** file_path (relative to the sample files directory) → Orthanc instance id */
const uploaded = new Map<string, string>();

const SOURCE = 'pglite:.eden/sample-pacs/db';

function env(password: string): NodeJS.ProcessEnv {
  const vars: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME']) {
    if (process.env[name] !== undefined) vars[name] = process.env[name];
  }
  return { ...vars, EDEN_PROGRESS: 'lines', PACS_HTTP_USER: 'eden', PACS_HTTP_PASSWORD: password };
}

function server(): Orthanc {
  if (orthanc === undefined) throw new Error('Orthanc did not start (see the beforeAll error)');
  return orthanc;
}

function dir(): string {
  if (work === undefined) throw new Error('the sample PACS was not created');
  return work.dir;
}

beforeAll(async () => {
  orthanc = await startOrthanc();
  work = await tempDir('orthanc');
  const demo = await runCli(['demo', '--studies', '2', '--dest', 'file://./warmup'], work.dir);
  expect(demo.code, demo.stderr).toBe(0);

  const filesDir = join(work.dir, '.eden/sample-pacs/files');
  for (const file of await listFiles(filesDir)) {
    uploaded.set(file, await orthanc.upload(await readFile(join(filesDir, file))));
  }
  expect(uploaded.size).toBeGreaterThan(0);

  const db = await openPglite(join(work.dir, '.eden/sample-pacs/db'), 'the Orthanc test');
  try {
    const { rows } = await db.query<{ file_path: string }>('SELECT file_path FROM pacs_instances');
    for (const { file_path } of rows) {
      const id = uploaded.get(file_path);
      if (id === undefined) throw new Error(`${file_path} is in the sample PACS but not on disk`);
      await db.query('UPDATE pacs_instances SET file_url = $1 WHERE file_path = $2', [
        `${orthanc.origin}/instances/${id}/file`,
        file_path,
      ]);
    }
  } finally {
    await db.close();
  }
}, 60_000);

afterAll(async () => {
  await orthanc?.stop();
  await work?.cleanup();
});

describe('eden-etl run against Orthanc', () => {
  it('delivers every instance, byte for byte, with HTTP Basic auth', async () => {
    const { origin, password } = server();
    const run = await runCli(
      // Every instance must travel (none kept out by a quality gate): transport is under test.
      [
        'run',
        '--source',
        SOURCE,
        '--studies',
        '2',
        '--quality-gates',
        'none',
        '--dest',
        'file://./out',
      ],
      dir(),
      env(password),
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Failed: 0\b/);
    expect(`${run.stdout}${run.stderr}`).not.toContain(password);

    const dataset = join(dir(), 'out/eden-dataset-vlms/sample-test');
    const csv = csvObjects(
      await readFile(join(dataset, 'dicom-reports-extracted-sample.csv'), 'utf8'),
    );
    expect(csv.length).toBeGreaterThan(0);
    const filesDir = join(dir(), '.eden/sample-pacs/files');
    for (const row of csv) {
      const filePath = row.file_path as string;
      expect(row.downloaded).toBe('True');
      expect(row.file_url).toBe(`${origin}/instances/${uploaded.get(filePath)}/file`);
      const delivered = await readFile(join(dataset, `dicom-files/${row.instance_id}.dcm`));
      // Orthanc returns the stored file as it was uploaded.
      expect(delivered.equals(await readFile(join(filesDir, filePath))), filePath).toBe(true);
      expect(existsSync(join(dataset, `images-jpg/${row.instance_id}.jpg`))).toBe(true);
    }
  });

  it('fails every instance with FETCH_FAILED naming the credentials, without retrying, when the password is wrong', async () => {
    const wrong = `wrong-${server().password}`;
    const run = await runCli(
      ['run', '--source', SOURCE, '--studies', '2', '--dest', 'file://./denied'],
      dir(),
      env(wrong),
    );
    const output = `${run.stdout}${run.stderr}`;
    expect(run.code, output).toBe(3);
    expect(run.stdout).toMatch(/Delivered: 0\b/);
    expect(run.stdout).toMatch(/FETCH_FAILED: \d+/);
    expect(output).not.toContain(wrong);
    expect(output).not.toContain(server().password);

    const runId = /Run id: (\S+)/.exec(run.stdout)?.[1];
    expect(runId, run.stdout).toBeDefined();
    const ledger = await openPglite(join(dir(), '.eden/state'), 'the Orthanc test');
    try {
      const { rows } = await ledger.query<{
        status: string;
        attempts: number;
        error_code: string;
        error_message: string;
      }>('SELECT status, attempts, error_code, error_message FROM eden_items WHERE run_id = $1', [
        runId,
      ]);
      expect(rows.length).toBeGreaterThan(0);
      expect(run.stdout).toMatch(new RegExp(`Failed: ${rows.length}\\b`));
      for (const row of rows) {
        expect(row.status).toBe('failed');
        expect(row.error_code).toBe('FETCH_FAILED');
        expect(row.error_message).toMatch(/HTTP 401/);
        expect(row.error_message).toMatch(/PACS_HTTP_USER\/PACS_HTTP_PASSWORD/);
        expect(row.error_message).not.toContain(wrong);
        // 401 is permanent: one request per instance, no backoff.
        expect(row.attempts).toBe(1);
      }
    } finally {
      await ledger.close();
    }
  });
});
