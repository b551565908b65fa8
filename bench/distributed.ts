/**
 * `npm run bench -- distributed [--studies 40] [--repeat 2] [--concurrency 4] [--render-threads 2]`:
 * what the BullMQ queue costs against the local executor, on the same selection, in one run.
 *
 * Setup (not timed): a sample PACS of `studies` studies in a fresh PostgreSQL database, its files
 * served over HTTP by a static server in this process, a state database for the queued runs and
 * a Redis key prefix of its own (PostgreSQL at --pg, Redis at --redis). Then, `repeat` times:
 *
 * - local: `eden-etl run --executor local` with `--concurrency C --render-threads R`;
 * - 1 worker: one `eden-etl worker` with the same C and R, and `eden-etl run --executor bullmq`;
 * - 2 workers: two workers with C/2 and R/2 each (the same parallelism, over two processes).
 *
 * Every run keeps its ledger in the same PostgreSQL state database (so the only difference is
 * the queue) and delivers into a fresh destination. Throughput is instances per second of the run's
 * processing phase as its own report gives it (Process: …), plus the whole command's wall time;
 * the ratios compare each queued setup with local. Everything created is removed at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { deleteRedisKeys } from '../tools/redis-keys.js';
import pg from 'pg';

const CLI = fileURLToPath(new URL('../src/commands/main.js', import.meta.url));

interface Measurement {
  instances: number;
  processSeconds: number;
  wallSeconds: number;
}

function cli(
  args: string[],
  cwd: string,
  env: Record<string, string>,
): { child: ChildProcess; done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      EDEN_PROGRESS: 'off',
      ...env,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    },
  );
  return { child, done };
}

async function ready(worker: { child: ChildProcess }): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error('bench: a worker did not start')), 60_000);
    worker.child.stderr?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('worker ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

async function measure(
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<Measurement> {
  const started = performance.now();
  const result = await cli(args, cwd, env).done;
  const wallSeconds = (performance.now() - started) / 1000;
  if (result.code !== 0) {
    throw new Error(`bench: the run exited ${String(result.code)}:\n${result.stderr.slice(-2000)}`);
  }
  const records = /Total records: (\d+)/.exec(result.stdout)?.[1];
  const process = /Process: .*\(([\d.]+)s\)/.exec(result.stdout)?.[1];
  if (records === undefined || process === undefined) {
    throw new Error(`bench: could not read the run's report:\n${result.stdout.slice(-2000)}`);
  }
  return { instances: Number(records), processSeconds: Number(process), wallSeconds };
}

async function withDatabase<T>(admin: string, work: (url: string) => Promise<T>): Promise<T> {
  const name = `eden_bench_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  try {
    return await work(url.toString());
  } finally {
    const dropper = new pg.Client({ connectionString: admin });
    await dropper.connect();
    await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await dropper.end();
  }
}

/** Serves `dir` read-only, like a PACS web server would. */
async function serveFiles(dir: string): Promise<{ origin: string; close: () => Promise<void> }> {
  const server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname));
    readFile(join(dir, path)).then(
      (bytes) => {
        response.writeHead(200, { 'content-length': bytes.length });
        response.end(bytes);
      },
      () => {
        response.writeHead(404);
        response.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

export async function distributedBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      studies: { type: 'string', default: '40' },
      repeat: { type: 'string', default: '2' },
      concurrency: { type: 'string', default: '4' },
      'render-threads': { type: 'string', default: String(availableParallelism()) },
      pg: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
      redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    },
  });
  const studies = Number(values.studies);
  const repeat = Number(values.repeat);
  const concurrency = Number(values.concurrency);
  const threads = Number(values['render-threads']);
  if (![studies, repeat, concurrency, threads].every((n) => Number.isInteger(n) && n >= 1)) {
    throw new Error(
      'bench: --studies, --repeat, --concurrency and --render-threads take counts ≥ 1',
    );
  }
  const cwd = await mkdtemp(join(tmpdir(), 'eden-bench-distributed-'));
  const prefix = `eden-bench-${randomBytes(4).toString('hex')}`;
  const files = await serveFiles(join(cwd, 'pacs/files'));
  try {
    await withDatabase(values.pg, (pacsUrl) =>
      withDatabase(values.pg, async (stateUrl) => {
        const loaded = await cli(
          [
            'sample-pacs',
            '--into',
            pacsUrl,
            '--studies',
            String(studies),
            '--files',
            'pacs',
            '--base-url',
            files.origin,
          ],
          cwd,
          {},
        ).done;
        if (loaded.code !== 0) throw new Error(`bench: sample-pacs failed:\n${loaded.stderr}`);
        const queued = {
          SOURCE_DATABASE_URL: pacsUrl,
          EDEN_STUDIES: String(studies),
          REDIS_URL: values.redis,
          STATE_DATABASE_URL: stateUrl,
          EDEN_QUEUE_PREFIX: prefix,
        };
        const parallel = (c: number, r: number) => [
          '--concurrency',
          String(c),
          '--render-threads',
          String(r),
        ];
        // Warms the file cache and the database; not measured.
        await measure(
          ['run', '--executor', 'local', '--dest', 'warmup', ...parallel(concurrency, threads)],
          cwd,
          queued,
        );

        const setups: { name: string; workers: [number, number][] }[] = [
          { name: 'local', workers: [] },
          { name: '1 worker', workers: [[concurrency, threads]] },
          {
            name: '2 workers',
            workers: [
              [Math.max(1, Math.floor(concurrency / 2)), Math.max(1, Math.floor(threads / 2))],
              [Math.max(1, Math.ceil(concurrency / 2)), Math.max(1, Math.ceil(threads / 2))],
            ],
          },
        ];
        const results = new Map<string, Measurement[]>();
        for (let round = 0; round < repeat; round += 1) {
          for (const setup of setups) {
            const dest = `out-${setup.name.replace(' ', '-')}-${round}`;
            const executor = setup.workers.length === 0 ? 'local' : 'bullmq';
            const workers = setup.workers.map(([c, r]) =>
              cli(['worker', ...parallel(c, r)], cwd, queued),
            );
            try {
              await Promise.all(workers.map(ready));
              const m = await measure(
                ['run', '--executor', executor, '--dest', dest, ...parallel(concurrency, threads)],
                cwd,
                queued,
              );
              results.set(setup.name, [...(results.get(setup.name) ?? []), m]);
            } finally {
              for (const worker of workers) worker.child.kill('SIGTERM');
              await Promise.all(workers.map((worker) => worker.done));
            }
            await rm(join(cwd, dest), { recursive: true, force: true });
          }
        }

        process.stdout.write(
          `machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}; ` +
            `${studies} studies, files over HTTP from PostgreSQL's sample PACS; parallelism: ${concurrency} instances in flight, ` +
            `${threads} render threads in all; median of ${repeat} run(s)\n\n`,
        );
        process.stdout.write(
          'setup     | instances | inst/s (process) | vs local | wall s | vs local (wall)\n',
        );
        process.stdout.write(
          '----------|-----------|------------------|----------|--------|----------------\n',
        );
        const local = results.get('local') ?? [];
        const localRate = median(local.map((m) => m.instances / m.processSeconds));
        const localWall = median(local.map((m) => m.wallSeconds));
        for (const setup of setups) {
          const runs = results.get(setup.name) ?? [];
          const rate = median(runs.map((m) => m.instances / m.processSeconds));
          const wall = median(runs.map((m) => m.wallSeconds));
          process.stdout.write(
            `${setup.name.padEnd(9)} | ${String(runs[0]?.instances ?? 0).padStart(9)} | ${rate.toFixed(2).padStart(16)} | ` +
              `${(rate / localRate).toFixed(3).padStart(8)} | ${wall.toFixed(1).padStart(6)} | ${(localWall / wall).toFixed(3).padStart(15)}\n`,
          );
        }
      }),
    );
  } finally {
    await files.close();
    await deleteRedisKeys(values.redis, prefix);
    await rm(cwd, { recursive: true, force: true });
  }
}
