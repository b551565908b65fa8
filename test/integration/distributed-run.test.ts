import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collect, listFiles, runCli, startCli, type CliResult } from '../support/cli.js';
import { createTestDatabase } from '../support/postgres.js';
import {
  deleteRedisKeys,
  distributedFixture,
  expectDeliveredOnce,
  ledgerItems,
  REDIS_URL,
  stopProcess,
  testQueuePrefix,
  waitFor,
  watchIdentities,
  type DistributedFixture,
} from '../support/queue.js';

const DATASET = 'eden-dataset-vlms/sample-test';

describe('the BullMQ executor with worker processes', () => {
  let fixture: DistributedFixture;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    fixture = await distributedFixture('dist', 3);
  }, 120_000);
  afterAll(async () => {
    await fixture.cleanup();
  });
  afterEach(async () => {
    fixture.files.delay.ms = 0;
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A state database and a queue prefix of the test's own, cleaned up after it. */
  async function testEnv(label: string, extra: Record<string, string> = {}) {
    const state = await createTestDatabase(label);
    const prefix = testQueuePrefix(label);
    cleanups.push(
      () => state.drop(),
      () => deleteRedisKeys(REDIS_URL, prefix),
    );
    return {
      env: fixture.env({ stateUrl: state.url, prefix }, extra),
      stateUrl: state.url,
      prefix,
    };
  }

  function startWorkers(count: number, env: NodeJS.ProcessEnv) {
    const workers = Array.from({ length: count }, () => startCli(['worker'], fixture.dir, env));
    const exits = workers.map((worker) => collect(worker));
    cleanups.push(async () => {
      await Promise.all(workers.map((worker) => stopProcess(worker, 'SIGKILL')));
    });
    return { workers, exits };
  }

  it('runs over three workers, everything delivered once, the PACS rate limit shared', async () => {
    const { env, stateUrl } = await testEnv('three', { EDEN_PACS_RATE_LIMIT: '8' });
    const { workers, exits } = startWorkers(3, env);
    const watch = watchIdentities(join(fixture.dir, 'three', DATASET));
    fixture.files.times.length = 0;
    fixture.files.hits.clear();

    const result = await runCli(['run', '--dest', 'file://./three'], fixture.dir, env);
    await watch.stop();
    expect(result.stderr).not.toMatch(/ERROR|FATAL/);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('EXTRACTION AND UPLOAD COMPLETE');
    const total = Number(/Total records: (\d+)/.exec(result.stdout)?.[1]);
    expect(total).toBeGreaterThan(0);
    expect(result.stdout).toMatch(new RegExp(`Delivered: ${total}\\b`));

    const ids = await expectDeliveredOnce(
      join(fixture.dir, 'three', DATASET),
      stateUrl,
      watch.seen,
    );
    // Each file downloaded exactly once, by whichever worker took its batch.
    expect(fixture.files.hits.size).toBe(ids.length);
    expect([...fixture.files.hits.values()].every((count) => count === 1)).toBe(true);
    // 8 requests/s for the three workers together: N requests span at least (N - 1)/8 s. Three
    // separate per-process limits would allow 24/s (about a third of that).
    const times = fixture.files.times;
    const span = ((times[times.length - 1] ?? 0) - (times[0] ?? 0)) / 1000;
    expect(span).toBeGreaterThan((ids.length - 1) / 8 - 0.3);

    // SIGTERM: each worker stops cleanly.
    await Promise.all(workers.map((worker) => stopProcess(worker, 'SIGTERM')));
    for (const exit of await Promise.all(exits)) {
      expect(exit.code, exit.stderr).toBe(0);
      expect(exit.stderr).toContain('worker stopped');
    }
  }, 120_000);

  it('finishes a run whose worker is killed with SIGKILL mid-batch, nothing created twice', async () => {
    const { env, stateUrl } = await testEnv('killed');
    fixture.files.delay.ms = 150;
    const { workers, exits } = startWorkers(2, env);
    const dataset = join(fixture.dir, 'killed', DATASET);
    const watch = watchIdentities(dataset);

    const detached = await runCli(
      ['run', '--dest', 'file://./killed', '--detach'],
      fixture.dir,
      env,
    );
    expect(detached.code, detached.stderr).toBe(0);
    const runId = detached.stdout.trim();
    expect(runId).toMatch(/^[0-9a-f]{16}$/);

    await waitFor(
      'four images',
      async () => (await listFiles(join(dataset, 'images-jpg'))).length >= 4,
    );
    const victim = workers[0];
    if (victim === undefined) throw new Error('no worker');
    await stopProcess(victim, 'SIGKILL');
    expect((await exits[0])?.signal).toBe('SIGKILL');

    // The same command finds the same run and follows it to its end (the other worker takes the
    // stalled job over), or reports it complete if the other worker was quicker than the CLI.
    const followed = await runCli(['run', '--dest', 'file://./killed'], fixture.dir, env);
    await watch.stop();
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout).toMatch(
      new RegExp(`Run id: ${runId}|Run ${runId} is already complete`),
    );
    const { length: n } = await expectDeliveredOnce(dataset, stateUrl, watch.seen);

    const status = await runCli(['status', runId], fixture.dir, env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`Run ${runId}: finalized`);
    expect(status.stdout).toContain(
      `${n}/${n} settled (100.0%): ${n} delivered, 0 failed, 0 excluded, 0 pending`,
    );
  }, 120_000);

  it('loses nothing when a worker gets SIGTERM: its batch goes back to the queue', async () => {
    const { env, stateUrl, prefix } = await testEnv('term');
    fixture.files.delay.ms = 300;
    const first = startWorkers(1, env);
    const dataset = join(fixture.dir, 'term', DATASET);
    const watch = watchIdentities(dataset);
    const detached = await runCli(['run', '--dest', 'file://./term', '--detach'], fixture.dir, env);
    expect(detached.code, detached.stderr).toBe(0);

    await waitFor(
      'three images',
      async () => (await listFiles(join(dataset, 'images-jpg'))).length >= 3,
    );
    const worker = first.workers[0];
    if (worker === undefined) throw new Error('no worker');
    const stoppedAt = Date.now();
    await stopProcess(worker, 'SIGTERM');
    const exit = (await first.exits[0]) as CliResult;
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stderr).toContain('finishing the instances in flight');
    // It finished the instances in flight (two at most, 300 ms each), not its whole batch.
    expect(Date.now() - stoppedAt).toBeLessThan(5000);

    // Nothing failed, some are left; the interrupted batch waits for the next worker as is.
    const items = await ledgerItems(stateUrl);
    expect(items.some((item) => item.status === 'failed')).toBe(false);
    expect(items.some((item) => item.status === 'pending')).toBe(true);
    const batches = new Queue('eden-batches', { connection: { url: REDIS_URL }, prefix });
    try {
      const counts = await batches.getJobCounts('failed', 'delayed', 'active', 'waiting');
      expect(counts.failed).toBe(0);
      expect(counts.active).toBe(0);
      expect(counts.delayed).toBe(0);
      expect(counts.waiting).toBeGreaterThan(0);
    } finally {
      await batches.close();
    }

    fixture.files.delay.ms = 0;
    startWorkers(1, env);
    const followed = await runCli(['run', '--dest', 'file://./term'], fixture.dir, env);
    await watch.stop();
    expect(followed.code, followed.stderr).toBe(0);
    await expectDeliveredOnce(dataset, stateUrl, watch.seen);
  }, 120_000);

  it('stops at once on a second SIGINT, and another worker finishes the run', async () => {
    const { env, stateUrl } = await testEnv('sigint');
    fixture.files.delay.ms = 300;
    const first = startWorkers(1, env);
    const dataset = join(fixture.dir, 'sigint', DATASET);
    const watch = watchIdentities(dataset);
    const detached = await runCli(
      ['run', '--dest', 'file://./sigint', '--detach'],
      fixture.dir,
      env,
    );
    expect(detached.code, detached.stderr).toBe(0);
    await waitFor(
      'two images',
      async () => (await listFiles(join(dataset, 'images-jpg'))).length >= 2,
    );
    const worker = first.workers[0];
    if (worker === undefined) throw new Error('no worker');
    let logged = '';
    worker.stderr?.on('data', (chunk: Buffer) => (logged += chunk.toString()));
    worker.kill('SIGINT');
    await waitFor('the first SIGINT to be seen', () =>
      logged.includes('finishing the instances in flight'),
    );
    worker.kill('SIGINT');
    // 130, not the 0 of a worker that finished its instances in flight first.
    const exit = (await first.exits[0]) as CliResult;
    expect(exit.code).toBe(130);

    fixture.files.delay.ms = 0;
    startWorkers(1, env);
    const followed = await runCli(['run', '--dest', 'file://./sigint'], fixture.dir, env);
    await watch.stop();
    expect(followed.code, followed.stderr).toBe(0);
    await expectDeliveredOnce(dataset, stateUrl, watch.seen);
  }, 120_000);
});
