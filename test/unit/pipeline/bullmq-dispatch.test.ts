import { UnrecoverableError, Worker } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import type { Ledger, RunRecord } from '../../../src/ledger/ledger.js';
import {
  dispatchRun,
  finalizeJobState,
  recoverLostRuns,
  redispatchIfLost,
} from '../../../src/pipeline/bullmq-dispatch.js';
import { QUEUE_NAMES } from '../../../src/queue/queue-names.js';
import { RunQueues } from '../../../src/queue/queues.js';
import { connectionOf } from '../../../src/queue/settings.js';
import { TEST_SPEC } from '../../support/ledger-fixtures.js';
import { deleteRedisKeys, REDIS_URL, testQueuePrefix, waitFor } from '../../support/queue.js';
import { recordingLogger } from '../../support/recording-logger.js';

const RETRY = { attempts: 3, backoffMs: 250 };

function runRecord(runId: string, dispatchRound = 1): RunRecord {
  return {
    runId,
    status: 'planned',
    spec: TEST_SPEC,
    pages: 1,
    totalInstances: 6,
    totalStudies: 2,
    createdAt: '2026-01-01T00:00:00Z',
    plannedAt: '2026-01-01T00:00:01Z',
    finishedAt: null,
    dispatchRound,
    cancelledAt: null,
  };
}

/** The ledger as dispatch reads it: the pending batches, and the runs in progress. */
function fakeLedger(pendingBatches: number[], inProgress: RunRecord[] = []) {
  const calls: unknown[][] = [];
  const ledger = {
    batchNumbers: (runId: string, onlyPending: boolean) => {
      calls.push(['batchNumbers', runId, onlyPending]);
      return Promise.resolve(pendingBatches);
    },
    runsInProgress: (minAgeSeconds: number) => {
      calls.push(['runsInProgress', minAgeSeconds]);
      return Promise.resolve(inProgress);
    },
  } as unknown as Ledger;
  return { ledger, calls };
}

describe('BullMQ dispatch', () => {
  const opened: RunQueues[] = [];
  afterEach(async () => {
    for (const queues of opened.splice(0)) {
      await queues.close();
      await deleteRedisKeys(REDIS_URL, queues.settings.prefix);
    }
  });

  async function open(label: string): Promise<RunQueues> {
    const queues = await RunQueues.open({ redisUrl: REDIS_URL, prefix: testQueuePrefix(label) });
    opened.push(queues);
    return queues;
  }

  it('enqueues one finalize job over the pending batches, with the retry and keep options', async () => {
    const queues = await open('dispatch-flow');
    const { ledger, calls } = fakeLedger([2, 5]);
    expect(await dispatchRun(queues, ledger, runRecord('run1'), RETRY)).toEqual({ batches: 2 });
    expect(calls).toEqual([['batchNumbers', 'run1', true]]);

    const parent = await queues.finalize.getJob('run1-r1-finalize');
    expect(parent?.name).toBe('finalize');
    expect(parent?.data).toEqual({ runId: 'run1' });
    expect(await parent?.getState()).toBe('waiting-children');
    expect(parent?.opts).toMatchObject({
      attempts: 3,
      backoff: { type: 'exponential', delay: 250 },
      removeOnComplete: { age: 86_400, count: 10_000 },
      removeOnFail: { age: 604_800 },
    });
    const batches = await queues.batches.getWaiting();
    expect(batches.map((job) => [job.id, job.name, job.data]).sort()).toEqual([
      ['run1-r1-b2', 'batch', { runId: 'run1', batchNo: 2 }],
      ['run1-r1-b5', 'batch', { runId: 'run1', batchNo: 5 }],
    ]);
    for (const job of batches) {
      expect(job.opts).toMatchObject({
        attempts: 3,
        backoff: { type: 'exponential', delay: 250 },
        ignoreDependencyOnFailure: true,
        removeOnComplete: { age: 86_400, count: 10_000 },
      });
      expect(job.parentKey).toBe(`${queues.settings.prefix}:eden-finalize:run1-r1-finalize`);
    }
  });

  it('adds nothing when the round is enqueued again, and new jobs for the next round', async () => {
    const queues = await open('dispatch-dedup');
    const { ledger } = fakeLedger([1, 2, 3]);
    await dispatchRun(queues, ledger, runRecord('run2'), RETRY);
    await dispatchRun(queues, ledger, runRecord('run2'), RETRY);
    expect(await queues.batches.getWaitingCount()).toBe(3);
    expect(await queues.finalize.getJobCountByTypes('waiting-children')).toBe(1);

    await dispatchRun(queues, fakeLedger([3]).ledger, runRecord('run2', 2), RETRY);
    expect(await queues.batches.getWaitingCount()).toBe(4);
    expect(await queues.batches.getJob('run2-r2-b3')).toBeDefined();
    expect(await queues.finalize.getJobCountByTypes('waiting-children')).toBe(2);
  });

  it('enqueues a run with nothing pending as a finalize job ready to run', async () => {
    const queues = await open('dispatch-empty');
    expect(await dispatchRun(queues, fakeLedger([]).ledger, runRecord('run3'), RETRY)).toEqual({
      batches: 0,
    });
    expect(await finalizeJobState(queues, runRecord('run3'))).toEqual({ state: 'waiting' });
    expect(await queues.batches.count()).toBe(0);
  });

  it('tells the state of the current round’s finalize job, with the reason it failed', async () => {
    const queues = await open('dispatch-state');
    expect(await finalizeJobState(queues, runRecord('run4'))).toEqual({ state: 'missing' });
    await dispatchRun(queues, fakeLedger([1]).ledger, runRecord('run4'), RETRY);
    expect(await finalizeJobState(queues, runRecord('run4'))).toEqual({
      state: 'waiting-children',
    });
    // Another round's job is not this round's.
    expect(await finalizeJobState(queues, runRecord('run4', 2))).toEqual({ state: 'missing' });

    await dispatchRun(queues, fakeLedger([]).ledger, runRecord('run5'), RETRY);
    const worker = new Worker(
      QUEUE_NAMES.finalize,
      () => Promise.reject(new UnrecoverableError('finalize broke')),
      { connection: connectionOf(queues.settings), prefix: queues.settings.prefix },
    );
    try {
      await waitFor(
        'the finalize job to fail',
        async () => (await finalizeJobState(queues, runRecord('run5'))).state === 'failed',
      );
    } finally {
      await worker.close();
    }
    expect(await finalizeJobState(queues, runRecord('run5'))).toEqual({
      state: 'failed',
      failedReason: 'finalize broke',
    });
  });

  it('enqueues a run again only when Redis lost its jobs, and says so', async () => {
    const queues = await open('dispatch-lost');
    const { logger, records } = recordingLogger();
    const { ledger } = fakeLedger([1, 2]);
    await dispatchRun(queues, ledger, runRecord('run6'), RETRY);
    expect(await redispatchIfLost(queues, ledger, runRecord('run6'), RETRY, logger)).toBe(false);
    expect(records).toEqual([]);

    // Redis restarted without persistence: every key of the prefix is gone.
    await deleteRedisKeys(REDIS_URL, queues.settings.prefix);
    expect(await redispatchIfLost(queues, ledger, runRecord('run6'), RETRY, logger)).toBe(true);
    expect(await finalizeJobState(queues, runRecord('run6'))).toEqual({
      state: 'waiting-children',
    });
    expect(await queues.batches.getWaitingCount()).toBe(2);
    expect(records).toMatchObject([
      { level: 'warn', runId: 'run6', batches: 2, msg: expect.stringContaining('lost') as unknown },
    ]);
  });

  it('recovers the runs in progress whose jobs are gone, leaving the others', async () => {
    const queues = await open('dispatch-recover');
    const { logger } = recordingLogger();
    const kept = runRecord('kept');
    const lost = runRecord('lost', 3);
    await dispatchRun(queues, fakeLedger([1]).ledger, kept, RETRY);
    const { ledger, calls } = fakeLedger([4], [kept, lost]);
    expect(await recoverLostRuns(queues, ledger, RETRY, 30, logger)).toEqual(['lost']);
    expect(calls[0]).toEqual(['runsInProgress', 30]);
    expect(await queues.batches.getJob('lost-r3-b4')).toBeDefined();
    expect(await queues.batches.getJob('kept-r1-b4')).toBeUndefined();
    expect(await recoverLostRuns(queues, ledger, RETRY, 30, logger)).toEqual([]);
  });
});
