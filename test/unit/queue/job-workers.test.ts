import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { startJobWorkers, type JobProcessors } from '../../../src/queue/job-workers.js';
import { QUEUE_NAMES } from '../../../src/queue/queue-names.js';
import { connectionOf, type QueueSettings } from '../../../src/queue/settings.js';
import { recordingLogger } from '../../support/recording-logger.js';
import { deleteRedisKeys, REDIS_URL, testQueuePrefix, waitFor } from '../../support/queue.js';

const OPTIONS = { lockDurationMs: 5000, stalledIntervalMs: 5000 };

/** A promise and the function that resolves it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = () => undefined as void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('startJobWorkers', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function setup(label: string) {
    const settings: QueueSettings = { redisUrl: REDIS_URL, prefix: testQueuePrefix(label) };
    cleanups.push(() => deleteRedisKeys(REDIS_URL, settings.prefix));
    const queue = (name: string) => {
      const opened = new Queue(name, { connection: { url: REDIS_URL }, prefix: settings.prefix });
      cleanups.push(() => opened.close());
      return opened;
    };
    const start = (processors: JobProcessors, options = OPTIONS) => {
      const workers = startJobWorkers(settings, processors, options, recordingLogger().logger);
      cleanups.push(() => workers.close());
      return workers;
    };
    return { settings, queue, start };
  }

  async function settled(queue: Queue, id: string): Promise<Job> {
    let job: Job | undefined;
    await waitFor(`job ${id} to settle`, async () => {
      job = await queue.getJob(id);
      const state = await job?.getState();
      return state === 'completed' || state === 'failed';
    });
    if (job === undefined) throw new Error(`no job ${id}`);
    return (await queue.getJob(id)) ?? job;
  }

  it('hands each queue’s jobs to its processor and keeps what it returns', async () => {
    const { queue, start } = setup('workers-route');
    const seen: string[] = [];
    start({
      batch: (job) => {
        seen.push(`batch ${job.data.runId}/${job.data.batchNo}`);
        return Promise.resolve(`batch ${job.data.batchNo} done`);
      },
      finalize: (job) => {
        seen.push(`finalize ${job.data.runId}`);
        return Promise.resolve('finalized');
      },
      schedule: (job) => {
        seen.push(`schedule ${job.data.schedule}`);
        return Promise.resolve('run-1');
      },
      openBatches: 1,
    });
    const batches = queue(QUEUE_NAMES.batches);
    const finalize = queue(QUEUE_NAMES.finalize);
    const schedules = queue(QUEUE_NAMES.schedules);
    await batches.add('batch', { runId: 'r', batchNo: 3 }, { jobId: 'b' });
    await finalize.add('finalize', { runId: 'r' }, { jobId: 'f' });
    await schedules.add('schedule', { schedule: 'nightly', args: [] }, { jobId: 's' });
    expect((await settled(batches, 'b')).returnvalue).toBe('batch 3 done');
    expect((await settled(finalize, 'f')).returnvalue).toBe('finalized');
    expect((await settled(schedules, 's')).returnvalue).toBe('run-1');
    expect(seen.sort()).toEqual(['batch r/3', 'finalize r', 'schedule nightly']);
  });

  it('takes as many batch jobs at once as the processors say, no more', async () => {
    const { queue, start } = setup('workers-open');
    const release = gate();
    let inFlight = 0;
    let most = 0;
    start({
      batch: async () => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        await release.opened;
        inFlight -= 1;
        return 'done';
      },
      finalize: () => Promise.resolve(''),
      schedule: () => Promise.resolve(''),
      openBatches: 2,
    });
    const batches = queue(QUEUE_NAMES.batches);
    await batches.addBulk(
      [1, 2, 3, 4].map((batchNo) => ({
        name: 'batch',
        data: { runId: 'r', batchNo },
        opts: { jobId: `b${batchNo}` },
      })),
    );
    await waitFor('two batches in progress', () => inFlight === 2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(most).toBe(2);
    release.open();
    for (const id of ['b1', 'b2', 'b3', 'b4']) await settled(batches, id);
    expect(most).toBe(2);
  });

  it('retries a failing job with its backoff, and fails an unrecoverable one at once', async () => {
    const { queue, start } = setup('workers-retry');
    const tries = new Map<string, number[]>();
    start({
      batch: () => Promise.resolve(''),
      finalize: (job) => {
        const times = tries.get(job.data.runId) ?? [];
        times.push(Date.now());
        tries.set(job.data.runId, times);
        return Promise.reject(
          job.data.runId === 'fatal' ? new UnrecoverableError('no way') : new Error('not yet'),
        );
      },
      schedule: () => Promise.resolve(''),
      openBatches: 1,
    });
    const finalize = queue(QUEUE_NAMES.finalize);
    const retry = { attempts: 3, backoff: { type: 'fixed', delay: 200 } };
    await finalize.add('finalize', { runId: 'flaky' }, { jobId: 'flaky', ...retry });
    await finalize.add('finalize', { runId: 'fatal' }, { jobId: 'fatal', ...retry });
    const flaky = await settled(finalize, 'flaky');
    const fatal = await settled(finalize, 'fatal');
    expect(await flaky.getState()).toBe('failed');
    expect(flaky.attemptsMade).toBe(3);
    expect(flaky.failedReason).toBe('not yet');
    const times = tries.get('flaky') ?? [];
    expect(times).toHaveLength(3);
    for (let i = 1; i < times.length; i += 1) {
      expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeGreaterThanOrEqual(190);
    }
    expect(await fatal.getState()).toBe('failed');
    expect(tries.get('fatal')).toHaveLength(1);
    expect(fatal.failedReason).toBe('no way');
  });

  it('closes once: a second close waits for the same jobs in progress', async () => {
    const { queue, start } = setup('workers-close');
    const release = gate();
    const started = gate();
    const workers = start({
      batch: () => Promise.resolve(''),
      finalize: () => Promise.resolve(''),
      schedule: async () => {
        started.open();
        await release.opened;
        return 'run-1';
      },
      openBatches: 1,
    });
    const schedules = queue(QUEUE_NAMES.schedules);
    await schedules.add('schedule', { schedule: 'nightly', args: [] }, { jobId: 's' });
    await started.opened;
    const first = workers.close();
    const second = workers.close();
    expect(second).toBe(first);
    let closed = false;
    void first.then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(closed).toBe(false);
    release.open();
    await first;
    const job = await schedules.getJob('s');
    expect(await job?.getState()).toBe('completed');
    expect(job?.returnvalue).toBe('run-1');
  });

  it('takes over the job of a worker that died, within the stalled interval', async () => {
    const { settings, queue, start } = setup('workers-stalled');
    const batches = queue(QUEUE_NAMES.batches);
    await batches.add('batch', { runId: 'r', batchNo: 1 }, { jobId: 'b1' });
    // A worker that takes the job, then dies: its lock expires and nobody renews it.
    const dead = new Worker(QUEUE_NAMES.batches, null, {
      connection: connectionOf(settings),
      prefix: settings.prefix,
      lockDuration: 300,
    });
    const taken = (await dead.getNextJob('dead-token')) as Job | undefined;
    expect(taken?.id).toBe('b1');
    await dead.close(true);
    start(
      {
        batch: (job) => Promise.resolve(`redone ${job.data.batchNo}`),
        finalize: () => Promise.resolve(''),
        schedule: () => Promise.resolve(''),
        openBatches: 1,
      },
      { lockDurationMs: 1000, stalledIntervalMs: 200 },
    );
    // BullMQ's default interval (30 s) would miss this deadline.
    const started = Date.now();
    await waitFor(
      'the stalled job redone',
      async () => (await (await batches.getJob('b1'))?.getState()) === 'completed',
      5000,
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await batches.getJob('b1'))?.returnvalue).toBe('redone 1');
  });
});
