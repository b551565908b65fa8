import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Queue } from 'bullmq';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collect, listFiles, runCli, startCli, type CliResult } from '../support/cli.js';
import { createTestDatabase } from '../support/postgres.js';
import {
  deleteRedisKeys,
  distributedFixture,
  expectDeliveredOnce,
  freePort,
  ledgerItems,
  REDIS_URL,
  startRedisServer,
  stopProcess,
  testQueuePrefix,
  waitFor,
  watchIdentities,
  type DistributedFixture,
} from '../support/queue.js';

const DATASET = 'eden-dataset-vlms/sample-test';

describe('steering runs on the workers: Redis restarts, schedules, cancel and retry', () => {
  let fixture: DistributedFixture;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    fixture = await distributedFixture('ctl', 3);
  }, 120_000);
  afterAll(async () => {
    await fixture.cleanup();
  });
  afterEach(async () => {
    fixture.files.delay.ms = 0;
    fixture.files.hidden.clear();
    fixture.files.unavailable.clear();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function testEnv(label: string, redisUrl = REDIS_URL) {
    const state = await createTestDatabase(label);
    const prefix = testQueuePrefix(label);
    cleanups.push(
      () => state.drop(),
      () => deleteRedisKeys(redisUrl, prefix),
    );
    return {
      env: fixture.env({ stateUrl: state.url, prefix, redisUrl }),
      stateUrl: state.url,
      prefix,
    };
  }

  /**
   * Starts `eden-etl run` to follow a run and resolves once it has counted where the run
   * starts from (so a worker started after it cannot settle instances it did not see).
   */
  async function startFollower(
    env: NodeJS.ProcessEnv,
    dest: string,
  ): Promise<{ done: Promise<CliResult> }> {
    const child = startCli(['run', '--dest', dest], fixture.dir, env);
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const done = collect(child);
    await waitFor('the follower to start', () => stdout.includes('EXTRACTION STATISTICS'));
    return { done };
  }

  /** A worker process; `log.text` holds what it has logged so far. */
  function startWorker(env: NodeJS.ProcessEnv): { worker: ChildProcess; log: { text: string } } {
    const worker = startCli(['worker'], fixture.dir, env);
    const log = { text: '' };
    worker.stderr?.on('data', (chunk: Buffer) => (log.text += chunk.toString()));
    void collect(worker);
    cleanups.push(() => stopProcess(worker, 'SIGKILL'));
    return { worker, log };
  }

  it('recovers from the ledger when Redis restarts mid-run and loses every job', async () => {
    const port = await freePort();
    let redis = await startRedisServer(port);
    cleanups.push(() => stopProcess(redis, 'SIGKILL'));
    const { env, stateUrl } = await testEnv('redis', `redis://127.0.0.1:${port}`);
    fixture.files.delay.ms = 150;
    const workers = [startWorker(env), startWorker(env)];
    const dataset = join(fixture.dir, 'restart', DATASET);
    const watch = watchIdentities(dataset);
    const follower = collect(startCli(['run', '--dest', 'file://./restart'], fixture.dir, env));

    await waitFor(
      'four images',
      async () => (await listFiles(join(dataset, 'images-jpg'))).length >= 4,
    );
    await stopProcess(redis, 'SIGKILL');
    const before = await ledgerItems(stateUrl);
    expect(before.some((item) => item.status === 'pending')).toBe(true);
    redis = await startRedisServer(port);

    const result = await follower;
    await watch.stop();
    expect(result.code, result.stderr).toBe(0);
    // The follower or a worker, whichever looked first, enqueued the lost run again.
    const logs = [result.stderr, ...workers.map(({ log }) => log.text)].join('');
    expect(logs).toContain('enqueued its unfinished batches again from the ledger');
    expect(result.stdout).toContain('EXTRACTION AND UPLOAD COMPLETE');
    await expectDeliveredOnce(dataset, stateUrl, watch.seen);
  }, 120_000);

  it('retries a batch job whose instance fails transiently; gives up on the last attempt', async () => {
    const { env, stateUrl } = await testEnv('transient');
    const detached = await runCli(
      ['run', '--dest', 'file://./transient', '--detach'],
      fixture.dir,
      env,
    );
    expect(detached.code, detached.stderr).toBe(0);
    const items = await ledgerItems(stateUrl);
    const flaky = await hiddenPathOf(stateUrl, items[2]?.instanceId ?? '');
    const down = await hiddenPathOf(stateUrl, items[9]?.instanceId ?? '');
    // Three tries in the worker per job attempt: the flaky file comes back in the second
    // attempt; the other never does, and is recorded failed on the third and last.
    fixture.files.unavailable.set(flaky, 4);
    fixture.files.unavailable.set(down, 1000);
    fixture.files.hits.clear();
    const { log } = startWorker(env);
    const result = await runCli(['run', '--dest', 'file://./transient'], fixture.dir, env);
    expect(result.code, result.stderr).toBe(3);
    expect(result.stdout).toContain('FETCH_FAILED: 1');
    expect(fixture.files.hits.get(flaky)).toBe(5);
    expect(fixture.files.hits.get(down)).toBe(9);
    const settled = await ledgerItems(stateUrl);
    expect(
      settled.filter((item) => item.status === 'failed').map((item) => item.instanceId),
    ).toEqual([items[9]?.instanceId]);
    expect(log.text).toMatch(/FETCH_FAILED .* answered HTTP 503/);
  }, 120_000);

  it('starts a scheduled run on a worker, lists and removes the schedule', async () => {
    const { env, prefix } = await testEnv('sched');
    startWorker(env);
    const runOptions = ['--studies', '1', '--dest', 'file://./scheduled', '--seed', 'nightly'];
    const added = await runCli(
      ['schedule', 'add', 'nightly', '--every', '1', '--', ...runOptions],
      fixture.dir,
      env,
    );
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain('Schedule nightly saved: every 1 s');

    const listed = await runCli(['schedule', 'list'], fixture.dir, env);
    expect(listed.stdout).toMatch(
      /^nightly\tevery 1 s\tnext \S+\teden-etl run --studies 1 --dest file:\/\/\.\/scheduled --seed nightly$/m,
    );

    const card = join(fixture.dir, 'scheduled', DATASET, 'README-dataset.md');
    await waitFor('the scheduled run’s dataset card', () => existsSync(card), 60_000);
    const status = await runCli(['status'], fixture.dir, env);
    expect(status.stdout).toMatch(/: finalized/);

    const removed = await runCli(['schedule', 'remove', 'nightly'], fixture.dir, env);
    expect(removed.code).toBe(0);
    expect((await runCli(['schedule', 'list'], fixture.dir, env)).stdout).toBe('No schedule.\n');
    const again = await runCli(['schedule', 'remove', 'nightly'], fixture.dir, env);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('there is no schedule of this name');
    const schedules = new Queue('eden-schedules', { connection: { url: REDIS_URL }, prefix });
    try {
      expect(await schedules.getJobSchedulersCount()).toBe(0);
    } finally {
      await schedules.close();
    }
  }, 120_000);

  it('refuses a schedule whose options carry a password', async () => {
    const { env } = await testEnv('schedsecret');
    const refused = await runCli(
      [
        'schedule',
        'add',
        'leaky',
        '--every',
        '60',
        '--',
        '--source',
        'postgres://u:hunter2@db/pacs',
      ],
      fixture.dir,
      env,
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('carries credentials');
    expect(refused.stderr).not.toContain('hunter2');
  });

  it('cancels a waiting run, then retry takes it up and re-queues its failed instances', async () => {
    const { env, stateUrl, prefix } = await testEnv('cancel');
    const detached = await runCli(
      ['run', '--dest', 'file://./cancelled', '--detach'],
      fixture.dir,
      env,
    );
    expect(detached.code, detached.stderr).toBe(0);
    const runId = detached.stdout.trim();

    const cancelled = await runCli(['cancel', runId], fixture.dir, env);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stdout).toMatch(
      /cancelled: [1-9]\d* waiting job\(s\) removed; 0 delivered, 0 failed, [1-9]\d* left pending/,
    );
    const batches = new Queue('eden-batches', { connection: { url: REDIS_URL }, prefix });
    try {
      expect(await batches.getWaitingCount()).toBe(0);
    } finally {
      await batches.close();
    }
    expect((await runCli(['status', runId], fixture.dir, env)).stdout).toContain(
      `Run ${runId}: cancelled`,
    );
    const refollow = await runCli(['run', '--dest', 'file://./cancelled'], fixture.dir, env);
    expect(refollow.code).toBe(1);
    expect(refollow.stderr).toContain('RUN_CANCELLED');

    // Taken up again, on a worker, with one file the PACS web server does not have (404).
    const items = await ledgerItems(stateUrl);
    const missing = items[5]?.instanceId ?? '';
    for (const path of fixture.files.hits.keys()) fixture.files.hits.delete(path);
    const hiddenPath = await hiddenPathOf(stateUrl, missing);
    fixture.files.hidden.add(hiddenPath);
    const retried = await runCli(['retry', runId], fixture.dir, env);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toContain('0 failed instance(s) back to pending');
    // The follower starts before the worker, so it sees the whole round.
    const partial = (await startFollower(env, 'file://./cancelled')).done;
    const { worker } = startWorker(env);
    expect((await partial).code).toBe(3);
    expect((await partial).stdout).toContain('FILE_MISSING: 1');
    await stopProcess(worker, 'SIGTERM');

    // The file is back: retry re-queues the failed instance only, and the run completes.
    fixture.files.hidden.clear();
    const dataset = join(fixture.dir, 'cancelled', DATASET);
    const watch = watchIdentities(dataset);
    // Each instance but the missing one has its DICOM and its JPEG there already.
    const others = items.length - 1;
    await waitFor('the delivered objects to be seen', () => watch.seen.size >= others * 2);
    const second = await runCli(['retry', runId], fixture.dir, env);
    expect(second.stdout).toContain('1 failed instance(s) back to pending; 1 batch job(s)');
    const following = (await startFollower(env, 'file://./cancelled')).done;
    startWorker(env);
    const complete = await following;
    await watch.stop();
    expect(complete.code, complete.stderr).toBe(0);
    expect(complete.stdout).toMatch(/Delivered: 1\b/);
    expect(complete.stdout).toMatch(new RegExp(`Skipped \\(settled earlier\\): ${others}\\b`));
    await expectDeliveredOnce(dataset, stateUrl, watch.seen);
    const status = await runCli(['status', runId], fixture.dir, env);
    expect(status.stdout).toContain(`Run ${runId}: finalized (retry round 3)`);
  }, 120_000);
});

/** The path the file server sees for an instance's file_url. */
async function hiddenPathOf(stateUrl: string, instanceId: string): Promise<string> {
  const client = new pg.Client({ connectionString: stateUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ file_url: string }>(
      'SELECT file_url FROM eden_items WHERE instance_id = $1',
      [instanceId],
    );
    return new URL(rows[0]?.file_url ?? 'http://x/').pathname;
  } finally {
    await client.end();
  }
}
