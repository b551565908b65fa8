import { Worker, WaitingError, type Job } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { EtlError } from '../../../src/domain/errors.js';
import type { Ledger, PendingItem, RunCounts, RunRecord } from '../../../src/ledger/ledger.js';
import { dispatchRun } from '../../../src/pipeline/bullmq-dispatch.js';
import {
  runJobProcessors,
  startLostRunRecovery,
  type WorkerAdapters,
} from '../../../src/pipeline/bullmq-worker.js';
import type { InstanceOutcome } from '../../../src/ledger/outcomes.js';
import type { PipelineContext } from '../../../src/pipeline/context.js';
import type { FetchTarget } from '../../../src/source/fetcher.js';
import { startJobWorkers } from '../../../src/queue/job-workers.js';
import { QUEUE_NAMES } from '../../../src/queue/queue-names.js';
import { RunQueues } from '../../../src/queue/queues.js';
import { connectionOf, type BatchJobData } from '../../../src/queue/settings.js';
import { TEST_SPEC } from '../../support/ledger-fixtures.js';
import { deleteRedisKeys, REDIS_URL, testQueuePrefix, waitFor } from '../../support/queue.js';
import { recordingLogger } from '../../support/recording-logger.js';

const RETRY = { attempts: 2, backoffMs: 50 };
const ITEM_RETRY = { attempts: 1, baseDelayMs: 1 };

function runRecord(runId: string, status: RunRecord['status'] = 'planned'): RunRecord {
  return {
    runId,
    status,
    spec: TEST_SPEC,
    pages: 1,
    totalInstances: 2,
    totalStudies: 1,
    createdAt: '2026-01-01T00:00:00Z',
    plannedAt: '2026-01-01T00:00:01Z',
    finishedAt: null,
    dispatchRound: 1,
    cancelledAt: null,
  };
}

const ITEM: PendingItem = {
  ordinal: 1,
  studyId: '1',
  seriesId: '10',
  reportValue: 'a report long enough for the gate',
  instanceId: '100',
  filePath: null,
  fileUrl: 'file:///nowhere.dcm',
  attempts: 0,
};

/** The ledger as the processors read it; `pendingItems` says what a batch finds. */
interface FakeLedger {
  runs: Map<string, RunRecord>;
  pending: number;
  pendingItems: (runId: string, batchNo: number) => Promise<PendingItem[]>;
  inProgress: () => Promise<RunRecord[]>;
  /** What fetching an instance's file does; nothing gets past it to the renderer here. */
  fetch: (target: FetchTarget) => Promise<Uint8Array>;
  outcomes: { ordinal: number; status: string; code: string | undefined }[];
}

function fakeLedger(): { ledger: Ledger; fake: FakeLedger } {
  const fake: FakeLedger = {
    runs: new Map(),
    pending: 0,
    pendingItems: () => Promise.resolve([]),
    inProgress: () => Promise.resolve([]),
    fetch: () => Promise.reject(new Error('no fetch expected')),
    outcomes: [],
  };
  const ledger = {
    findRun: (runId: string) => Promise.resolve(fake.runs.get(runId) ?? null),
    pendingItems: (runId: string, batchNo: number) => fake.pendingItems(runId, batchNo),
    counts: () =>
      Promise.resolve({ pending: fake.pending, delivered: 0, failed: 0, excluded: 0 } as RunCounts),
    batchNumbers: () => Promise.resolve([1]),
    runsInProgress: () => fake.inProgress(),
    recordOutcome: (_runId: string, ordinal: number, outcome: InstanceOutcome) => {
      fake.outcomes.push({ ordinal, status: outcome.status, code: outcome.error?.code });
      return Promise.resolve();
    },
  } as unknown as Ledger;
  return { ledger, fake };
}

describe('the BullMQ job processors', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(
    label: string,
    stopping = new AbortController().signal,
    contextError?: EtlError,
  ) {
    const queues = await RunQueues.open({ redisUrl: REDIS_URL, prefix: testQueuePrefix(label) });
    cleanups.push(
      () => deleteRedisKeys(REDIS_URL, queues.settings.prefix),
      () => queues.close(),
    );
    const { ledger, fake } = fakeLedger();
    const { logger, records } = recordingLogger();
    const reported: [string, Record<string, string | number>][] = [];
    const contexts: string[] = [];
    const adapters: WorkerAdapters = {
      ledger,
      logger,
      contextFor: (run) => {
        contexts.push(run.runId);
        if (contextError !== undefined) return Promise.reject(contextError);
        const fetcher = { fetch: (target: FetchTarget) => fake.fetch(target) };
        return Promise.resolve({ ledger, logger, fetcher } as unknown as PipelineContext);
      },
      startScheduledRun: (data) =>
        data.schedule === 'broken'
          ? Promise.reject(new EtlError('QUERY_INVALID', 'no such query', { subject: 'q.sql' }))
          : Promise.resolve(`run-of-${data.schedule}`),
      toolVersion: '0.0.0-test',
      splitKey: 'not the run’s key',
      reportError: (error, context) => reported.push([(error as Error).message, context]),
    };
    const processors = runJobProcessors(
      adapters,
      { concurrency: 2, itemRetry: ITEM_RETRY },
      stopping,
    );
    const startWorkers = () => {
      const workers = startJobWorkers(
        queues.settings,
        processors,
        { lockDurationMs: 5000, stalledIntervalMs: 5000 },
        logger,
      );
      cleanups.push(() => workers.close());
    };
    return { queues, ledger, fake, records, reported, contexts, processors, startWorkers };
  }

  async function settledJob(get: () => Promise<Job | undefined>, what: string): Promise<Job> {
    await waitFor(what, async () => {
      const state = await (await get())?.getState();
      return state === 'completed' || state === 'failed';
    });
    const job = await get();
    if (job === undefined) throw new Error(`${what}: gone`);
    return job;
  }

  const batchJob = (queues: RunQueues, id: string) =>
    settledJob(() => queues.batches.getJob(id), `batch ${id}`);
  const finalizeJob = (queues: RunQueues, id: string) =>
    settledJob(() => queues.finalize.getJob(id), `finalize ${id}`);

  it('skips the batches of runs that are not planned, without building their context', async () => {
    const { queues, fake, records, contexts, startWorkers } = await setup('worker-skip');
    fake.runs.set('done', runRecord('done', 'finalized'));
    startWorkers();
    await queues.batches.add('batch', { runId: 'done', batchNo: 1 }, { jobId: 'a' });
    await queues.batches.add('batch', { runId: 'nobody', batchNo: 1 }, { jobId: 'b' });
    expect((await batchJob(queues, 'a')).returnvalue).toBe('skipped');
    expect((await batchJob(queues, 'b')).returnvalue).toBe('skipped');
    expect(contexts).toEqual([]);
    expect(records.map((record) => record.msg).sort()).toEqual([
      'batch skipped: the run is finalized',
      'batch skipped: the run is unknown',
    ]);
  });

  it('completes a batch with nothing pending', async () => {
    const { queues, fake, contexts, startWorkers } = await setup('worker-empty');
    fake.runs.set('r', runRecord('r'));
    startWorkers();
    await queues.batches.add('batch', { runId: 'r', batchNo: 1 }, { jobId: 'r-b1' });
    expect((await batchJob(queues, 'r-b1')).returnvalue).toBe('done');
    expect(contexts).toEqual(['r']);
  });

  it('retries a batch after a transient failure, reporting each attempt', async () => {
    const { queues, fake, records, reported, startWorkers } = await setup('worker-transient');
    fake.runs.set('r', runRecord('r'));
    fake.pendingItems = () =>
      Promise.reject(new EtlError('SOURCE_UNAVAILABLE', 'connection reset', { subject: 'pacs' }));
    startWorkers();
    await queues.batches.add(
      'batch',
      { runId: 'r', batchNo: 2 },
      { jobId: 'r-b2', attempts: 2, backoff: { type: 'fixed', delay: 50 } },
    );
    const job = await batchJob(queues, 'r-b2');
    expect(await job.getState()).toBe('failed');
    expect(job.attemptsMade).toBe(2);
    expect(job.failedReason).toBe('connection reset');
    expect(reported).toEqual([
      ['connection reset', { runId: 'r', batchNo: 2, attempt: 1 }],
      ['connection reset', { runId: 'r', batchNo: 2, attempt: 2 }],
    ]);
    expect(records.filter((record) => record.level === 'warn')).toMatchObject([
      { runId: 'r', batchNo: 2, attempt: 1, msg: 'SOURCE_UNAVAILABLE pacs: connection reset' },
      { runId: 'r', batchNo: 2, attempt: 2, msg: 'SOURCE_UNAVAILABLE pacs: connection reset' },
    ]);
  });

  it('fails a batch for good after an error that retrying cannot fix', async () => {
    const { queues, fake, reported, startWorkers } = await setup('worker-fatal');
    fake.runs.set('r', runRecord('r'));
    fake.pendingItems = () => Promise.reject(new Error('relation "eden_items" does not exist'));
    startWorkers();
    await queues.batches.add(
      'batch',
      { runId: 'r', batchNo: 1 },
      { jobId: 'r-b1', attempts: 5, backoff: { type: 'fixed', delay: 50 } },
    );
    const job = await batchJob(queues, 'r-b1');
    expect(await job.getState()).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toBe('INTERNAL: relation "eden_items" does not exist');
    expect(reported).toHaveLength(1);
  });

  it('fails a batch for good, logged and reported, when its run’s context cannot be built', async () => {
    const keyError = new EtlError('CONFIG_INVALID', 'this worker’s SECRET_KEY is not the run’s', {
      subject: 'SECRET_KEY',
    });
    const { queues, fake, records, reported, startWorkers } = await setup(
      'worker-context',
      undefined,
      keyError,
    );
    fake.runs.set('r', runRecord('r'));
    startWorkers();
    await queues.batches.add(
      'batch',
      { runId: 'r', batchNo: 1 },
      { jobId: 'r-b1', attempts: 3, backoff: { type: 'fixed', delay: 50 } },
    );
    const job = await batchJob(queues, 'r-b1');
    expect(await job.getState()).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/^CONFIG_INVALID SECRET_KEY: this worker’s SECRET_KEY/);
    expect(reported).toEqual([[keyError.message, { runId: 'r', batchNo: 1, attempt: 1 }]]);
    expect(records).toContainEqual(
      expect.objectContaining({ level: 'warn', runId: 'r', batchNo: 1, msg: job.failedReason }),
    );
  });

  it('leaves a transient failure pending for the queue, and records it on the last attempt', async () => {
    const { queues, fake, reported, startWorkers } = await setup('worker-defer');
    fake.runs.set('r', runRecord('r'));
    fake.pendingItems = () => Promise.resolve([ITEM]);
    let fetches = 0;
    fake.fetch = () => {
      fetches += 1;
      return Promise.reject(new EtlError('FETCH_FAILED', 'PACS answered 503'));
    };
    startWorkers();
    await queues.batches.add(
      'batch',
      { runId: 'r', batchNo: 1 },
      { jobId: 'r-b1', attempts: 2, backoff: { type: 'fixed', delay: 50 } },
    );
    const job = await batchJob(queues, 'r-b1');
    expect(await job.getState()).toBe('completed');
    expect(job.returnvalue).toBe('done');
    expect(job.attemptsMade).toBe(2);
    expect(fetches).toBe(2);
    // The first attempt threw the error back to the queue; only the last one recorded it.
    expect(reported).toEqual([
      [expect.stringContaining('503') as unknown, { runId: 'r', batchNo: 1, attempt: 1 }],
    ]);
    expect(fake.outcomes).toEqual([{ ordinal: 1, status: 'failed', code: 'FETCH_FAILED' }]);
  });

  it('stops a batch whose run is cancelled: instances not started stay pending', async () => {
    const { queues, fake, reported, startWorkers } = await setup('worker-cancel');
    fake.runs.set('r', runRecord('r'));
    fake.pendingItems = () =>
      Promise.resolve(
        [1, 2, 3].map((ordinal) => ({ ...ITEM, ordinal, instanceId: `i${ordinal}` })),
      );
    const fetched: string[] = [];
    fake.fetch = async (target) => {
      fetched.push(target.instanceId);
      fake.runs.set('r', runRecord('r', 'cancelled'));
      // Longer than the batch's cancel check (every 2 s): the check sees the cancel first.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      throw new EtlError('FILE_MISSING', 'gone', { subject: target.instanceId });
    };
    startWorkers();
    await queues.batches.add('batch', { runId: 'r', batchNo: 1 }, { jobId: 'r-b1', attempts: 3 });
    const job = await batchJob(queues, 'r-b1');
    expect(job.returnvalue).toBe('cancelled');
    expect(job.attemptsMade).toBe(1);
    // Two slots: the first two were in flight and finish; the third never starts.
    expect(fetched.sort()).toEqual(['i1', 'i2']);
    expect(fake.outcomes.map((outcome) => outcome.ordinal).sort()).toEqual([1, 2]);
    expect(reported).toEqual([]);
  });

  it('puts a batch back in the queue untouched when the worker is stopping', async () => {
    const stopping = new AbortController();
    const { queues, fake, reported, processors } = await setup('worker-stop', stopping.signal);
    fake.runs.set('r', runRecord('r'));
    fake.pendingItems = () => Promise.resolve([ITEM]);
    stopping.abort();
    await queues.batches.add('batch', { runId: 'r', batchNo: 1 }, { jobId: 'r-b1', attempts: 3 });
    // A worker without a processor: the test takes the job and runs the processor itself.
    const manual = new Worker<BatchJobData>(QUEUE_NAMES.batches, null, {
      connection: connectionOf(queues.settings),
      prefix: queues.settings.prefix,
    });
    cleanups.push(() => manual.close());
    const token = 'test-token';
    const job = (await manual.getNextJob(token)) as Job<BatchJobData> | undefined;
    expect(job?.id).toBe('r-b1');
    if (job === undefined) return;
    await expect(processors.batch(job, token)).rejects.toBeInstanceOf(WaitingError);
    const again = await queues.batches.getJob('r-b1');
    expect(await again?.getState()).toBe('waiting');
    expect(again?.attemptsMade).toBe(0);
    expect(reported).toEqual([]);
  });

  it('finalizes nothing for runs that are gone, cancelled or finalized already', async () => {
    const { queues, fake, startWorkers } = await setup('worker-final-skip');
    fake.runs.set('c', runRecord('c', 'cancelled'));
    fake.runs.set('f', runRecord('f', 'finalized'));
    startWorkers();
    for (const runId of ['gone', 'c', 'f']) {
      await queues.finalize.add('finalize', { runId }, { jobId: runId });
    }
    expect((await finalizeJob(queues, 'gone')).returnvalue).toBe('skipped');
    expect((await finalizeJob(queues, 'c')).returnvalue).toBe('skipped');
    expect((await finalizeJob(queues, 'f')).returnvalue).toBe('already finalized');
  });

  it('fails the finalize job of a run its batches left pending, naming the batch’s failure', async () => {
    const { queues, ledger, fake, startWorkers } = await setup('worker-final-pending');
    const run = runRecord('r');
    fake.runs.set('r', run);
    fake.pending = 3;
    fake.pendingItems = () =>
      Promise.reject(new EtlError('STATE_UNAVAILABLE', 'ledger table missing'));
    await dispatchRun(queues, ledger, run, RETRY);
    startWorkers();
    const job = await finalizeJob(queues, 'r-r1-finalize');
    expect(await job.getState()).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toContain('3 instance(s) of run r are still pending');
    expect(job.failedReason).toContain('STATE_UNAVAILABLE: ledger table missing');
    expect(job.failedReason).toContain('`eden-etl retry r`');
    expect(await (await queues.batches.getJob('r-r1-b1'))?.getState()).toBe('failed');
  });

  it('fails finalize for good when the split key is not the run’s, and reports it', async () => {
    const { queues, fake, reported, startWorkers } = await setup('worker-final-key');
    fake.runs.set('r', runRecord('r'));
    startWorkers();
    await queues.finalize.add('finalize', { runId: 'r' }, { jobId: 'r-f', attempts: 3 });
    const job = await finalizeJob(queues, 'r-f');
    expect(await job.getState()).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/^CONFIG_INVALID r: the split key differs/);
    expect(reported).toEqual([
      [expect.stringContaining('split key') as unknown, { runId: 'r', job: 'finalize' }],
    ]);
  });

  it('starts a schedule’s run, and fails a schedule that cannot start once', async () => {
    const { queues, records, startWorkers } = await setup('worker-schedule');
    startWorkers();
    await queues.schedules.add('schedule', { schedule: 'nightly', args: [] }, { jobId: 'ok' });
    await queues.schedules.add(
      'schedule',
      { schedule: 'broken', args: ['--studies', '3'] },
      { jobId: 'ko', attempts: 3 },
    );
    const get = (id: string) => settledJob(() => queues.schedules.getJob(id), `schedule ${id}`);
    expect((await get('ok')).returnvalue).toBe('run-of-nightly');
    const failed = await get('ko');
    expect(await failed.getState()).toBe('failed');
    expect(failed.attemptsMade).toBe(1);
    expect(failed.failedReason).toBe('QUERY_INVALID q.sql: no such query');
    expect(records).toContainEqual(
      expect.objectContaining({ level: 'error', schedule: 'broken', msg: failed.failedReason }),
    );
    expect(records).toContainEqual(
      expect.objectContaining({ level: 'info', schedule: 'nightly', runId: 'run-of-nightly' }),
    );
  });
});

describe('startLostRunRecovery', () => {
  it('enqueues lost runs on every tick, logs a failed check, and stops', async () => {
    const queues = await RunQueues.open({
      redisUrl: REDIS_URL,
      prefix: testQueuePrefix('worker-recovery'),
    });
    const { ledger, fake } = fakeLedger();
    const { logger, records } = recordingLogger();
    let checks = 0;
    let fail = false;
    fake.inProgress = () => {
      checks += 1;
      return fail
        ? Promise.reject(new Error('state database down'))
        : Promise.resolve([runRecord('lost')]);
    };
    const stop = startLostRunRecovery(queues, ledger, RETRY, 100, logger);
    try {
      await waitFor('the lost run enqueued', async () =>
        Boolean(await queues.finalize.getJob('lost-r1-finalize')),
      );
      expect(await queues.batches.getJob('lost-r1-b1')).toBeDefined();
      fail = true;
      await waitFor('a failed check logged', () =>
        records.some(
          (record) => record.msg === 'lost-job check failed: INTERNAL: state database down',
        ),
      );
      stop();
      const checksWhenStopped = checks;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(checks).toBe(checksWhenStopped);
      // Enqueued once: later ticks found its jobs and left them.
      expect(records.filter((record) => record.msg.includes('lost this run'))).toHaveLength(1);
    } finally {
      stop();
      await queues.close();
      await deleteRedisKeys(REDIS_URL, queues.settings.prefix);
    }
  });
});
