import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, normalize } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import pg from 'pg';
import { expect } from 'vitest';
import { cleanEnv, datasetFiles, fileIdentities, listFiles, runCli, tempDir } from './cli.js';
import { createTestDatabase } from './postgres.js';
import { csvObjects } from './rfc4180.js';
import { startTestServer, type TestServer } from './http-test-server.js';

export { deleteRedisKeys } from '../../tools/redis-keys.js';

/** A key prefix of its own for one test, and a way to delete every key under it. */
export function testQueuePrefix(label: string): string {
  return `eden-test-${label}-${randomBytes(4).toString('hex')}`;
}

/** A free TCP port on 127.0.0.1 (free when asked; the caller binds it soon after). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A redis-server of the test's own, keeping nothing on disk: a restart loses every key. */
export async function startRedisServer(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const probe = new Redis(port, '127.0.0.1', {
    maxRetriesPerRequest: null,
    retryStrategy: () => 50,
  });
  // Refused connections are expected until the server listens; the pings below tell.
  probe.on('error', () => undefined);
  try {
    for (let waited = 0; ; waited += 50) {
      if (waited > 10_000) throw new Error(`redis-server did not start on ${port}`);
      const ok = await Promise.race([probe.ping().then(() => true), sleep(50).then(() => false)]);
      if (ok) break;
    }
  } finally {
    probe.disconnect();
  }
  return child;
}

export function stopProcess(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/**
 * Serves `dir` over HTTP like a PACS web server, each file after `delayMs` (so a run lasts
 * long enough to be interrupted in the middle), and counts the requests per path.
 */
interface FileServer {
  server: TestServer;
  delay: { ms: number };
  /** Requests per path, and when each request came (ms since the epoch). */
  hits: Map<string, number>;
  times: number[];
  /** Paths answered with 404 while listed. */
  hidden: Set<string>;
  /** Paths answered with 503 as many times as their count says. */
  unavailable: Map<string, number>;
}

async function startFileServer(dir: string): Promise<FileServer> {
  const delay = { ms: 0 };
  const hits = new Map<string, number>();
  const times: number[] = [];
  const hidden = new Set<string>();
  const unavailable = new Map<string, number>();
  const server = await startTestServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname));
    hits.set(path, (hits.get(path) ?? 0) + 1);
    times.push(Date.now());
    const failures = unavailable.get(path) ?? 0;
    if (failures > 0) {
      unavailable.set(path, failures - 1);
      response.writeHead(503);
      response.end();
      return;
    }
    setTimeout(() => {
      (hidden.has(path) ? Promise.reject(new Error('hidden')) : readFile(join(dir, path))).then(
        (bytes) => {
          response.writeHead(200, { 'content-length': bytes.length });
          response.end(bytes);
        },
        () => {
          response.writeHead(404);
          response.end();
        },
      );
    }, delay.ms);
  });
  return { server, delay, hits, times, hidden, unavailable };
}

/** A PACS in PostgreSQL whose files a (slowable) HTTP server serves, in a temp dir. */
export interface DistributedFixture {
  dir: string;
  pacsUrl: string;
  files: FileServer;
  /** Environment for the CLI's workers and commands of one test. */
  env(
    test: { stateUrl: string; prefix: string; redisUrl?: string },
    extra?: Record<string, string>,
  ): NodeJS.ProcessEnv;
  cleanup(): Promise<void>;
}

export const REDIS_URL = 'redis://127.0.0.1:6379';

export async function distributedFixture(
  label: string,
  studies: number,
): Promise<DistributedFixture> {
  const { dir, cleanup } = await tempDir(label);
  const pacs = await createTestDatabase(`${label}_pacs`);
  const files = await startFileServer(join(dir, 'pacs/files'));
  const loaded = await runCli(
    [
      'sample-pacs',
      '--into',
      pacs.url,
      '--studies',
      String(studies),
      '--files',
      'pacs',
      '--base-url',
      files.server.origin,
    ],
    dir,
  );
  if (loaded.code !== 0) throw new Error(`sample-pacs failed: ${loaded.stderr}`);
  return {
    dir,
    pacsUrl: pacs.url,
    files,
    env: (test, extra = {}) =>
      cleanEnv({
        REDIS_URL: test.redisUrl ?? REDIS_URL,
        STATE_DATABASE_URL: test.stateUrl,
        SOURCE_DATABASE_URL: pacs.url,
        EDEN_QUEUE_PREFIX: test.prefix,
        EDEN_STUDIES: String(studies),
        EDEN_BATCH_SIZE: '4',
        EDEN_CONCURRENCY: '2',
        EDEN_RENDER_THREADS: '1',
        EDEN_LOCK_DURATION: '2',
        EDEN_STALLED_INTERVAL: '1',
        EDEN_RECOVER_INTERVAL: '2',
        EDEN_JOB_BACKOFF: '1',
        // Three tries per instance and job attempt, and every instance delivered: the queue is
        // under test here, not the quality gates.
        EDEN_RETRIES: '2',
        EDEN_QUALITY_GATES: 'none',
        ...extra,
      }),
    async cleanup() {
      await files.server.close();
      await pacs.drop();
      await cleanup();
    },
  };
}

/**
 * Watches a local destination while a run writes it: the first inode and mtime seen of each
 * file. An object created twice (or rewritten) would show another identity at the end.
 */
export function watchIdentities(dir: string): {
  seen: Map<string, string>;
  stop: () => Promise<void>;
} {
  const seen = new Map<string, string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const file of await listFiles(dir)) {
        if (seen.has(file)) continue;
        try {
          const info = await stat(join(dir, file));
          seen.set(file, `${info.ino}:${info.mtimeMs}`);
        } catch {
          // Listed then gone: only temp files do that; the next pass sees the final ones.
        }
      }
      await sleep(25);
    }
  })();
  return {
    seen,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** The ledger's view of every instance of the state database: how often each appears, how settled. */
export async function ledgerItems(
  stateUrl: string,
): Promise<{ instanceId: string; status: string }[]> {
  const client = new pg.Client({ connectionString: stateUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ instance_id: string; status: string }>(
      'SELECT instance_id, status FROM eden_items ORDER BY ordinal',
    );
    return rows.map((row) => ({ instanceId: row.instance_id, status: row.status }));
  } finally {
    await client.end();
  }
}

/** Waits until `predicate` holds, polling; fails with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  predicate: () => Promise<boolean> | boolean,
  timeoutMs = 60_000,
): Promise<void> {
  const started = Date.now();
  while (!(await predicate())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Every instance of the run once in the ledger (delivered) and once in the destination: the
 * CSV lists each once, each object exists, and none changed identity after it first appeared.
 */
export async function expectDeliveredOnce(
  dataset: string,
  stateUrl: string,
  firstSeen: Map<string, string>,
): Promise<string[]> {
  const items = await ledgerItems(stateUrl);
  const ids = items.map((item) => item.instanceId);
  expect(items.length).toBeGreaterThan(0);
  expect(new Set(ids).size).toBe(ids.length);
  expect(items.filter((item) => item.status !== 'delivered')).toEqual([]);
  const rows = csvObjects(
    await readFile(join(dataset, 'dicom-reports-extracted-sample.csv'), 'utf8'),
  );
  expect(rows.map((row) => row.instance_id)).toEqual(ids);
  expect(await listFiles(dataset)).toEqual(datasetFiles(ids));
  const now = await fileIdentities(dataset);
  for (const [file, identity] of firstSeen) {
    if (file.endsWith('.dcm') || file.endsWith('.jpg')) expect(now.get(file), file).toBe(identity);
  }
  return ids;
}
