import type { Ledger, RunRecord } from '../ledger/ledger.js';
import type { Logger } from '../observability/logger.js';
import { QUEUE_NAMES } from '../queue/queue-names.js';
import type { RunQueues } from '../queue/queues.js';
import { batchJobId, finalizeJobId } from '../queue/settings.js';

/** How batch jobs are retried: attempts in all, and the first backoff (doubled each time). */
export interface JobRetry {
  attempts: number;
  backoffMs: number;
}

// Finished jobs stay a while for the dashboard and for the lost-job check, then go.
const KEEP_COMPLETED = { age: 24 * 3600, count: 10_000 };
const KEEP_FAILED = { age: 7 * 24 * 3600 };

/**
 * Enqueues the run's current round as one flow: a finalize job whose children are the batches
 * that still have pending instances. Job ids derive from (run, round, batch), so calling this
 * again while the round's jobs exist adds nothing. A child that fails for good does not block
 * its parent (ignoreDependencyOnFailure): finalize then finds instances pending and says so.
 */
export async function dispatchRun(
  queues: RunQueues,
  ledger: Ledger,
  run: RunRecord,
  retry: JobRetry,
): Promise<{ batches: number }> {
  const batches = await ledger.batchNumbers(run.runId, true);
  const round = run.dispatchRound;
  await queues.flows.add({
    name: 'finalize',
    queueName: QUEUE_NAMES.finalize,
    data: { runId: run.runId },
    opts: {
      jobId: finalizeJobId(run.runId, round),
      attempts: retry.attempts,
      backoff: { type: 'exponential', delay: retry.backoffMs },
      removeOnComplete: KEEP_COMPLETED,
      removeOnFail: KEEP_FAILED,
    },
    children: batches.map((batchNo) => ({
      name: 'batch',
      queueName: QUEUE_NAMES.batches,
      data: { runId: run.runId, batchNo },
      opts: {
        jobId: batchJobId(run.runId, round, batchNo),
        attempts: retry.attempts,
        backoff: { type: 'exponential', delay: retry.backoffMs },
        ignoreDependencyOnFailure: true,
        removeOnComplete: KEEP_COMPLETED,
        removeOnFail: KEEP_FAILED,
      },
    })),
  });
  return { batches: batches.length };
}

/** The state of the run's current finalize job; `missing` when Redis does not know it. */
export async function finalizeJobState(
  queues: RunQueues,
  run: RunRecord,
): Promise<{ state: string; failedReason?: string }> {
  const job = await queues.finalize.getJob(finalizeJobId(run.runId, run.dispatchRound));
  if (job === undefined) return { state: 'missing' };
  const state = await job.getState();
  return state === 'failed' ? { state, failedReason: job.failedReason } : { state };
}

/**
 * Enqueues the run's current round again when Redis no longer has its finalize job (Redis
 * restarted without persistence, or was flushed), saying so; only its pending instances are
 * redone. Returns whether it had to.
 */
export async function redispatchIfLost(
  queues: RunQueues,
  ledger: Ledger,
  run: RunRecord,
  retry: JobRetry,
  logger: Logger,
): Promise<boolean> {
  if ((await finalizeJobState(queues, run)).state !== 'missing') return false;
  const { batches } = await dispatchRun(queues, ledger, run, retry);
  logger.warn(
    { runId: run.runId, batches },
    'the queue had lost this run’s jobs (Redis restarted?): enqueued its unfinished batches again from the ledger',
  );
  return true;
}

/**
 * Runs in progress in the ledger whose jobs Redis lost are enqueued again (redispatchIfLost).
 * Runs planned less than `minAgeSeconds` ago are left to the command that is enqueueing them.
 * Returns the run ids enqueued again.
 */
export async function recoverLostRuns(
  queues: RunQueues,
  ledger: Ledger,
  retry: JobRetry,
  minAgeSeconds: number,
  logger: Logger,
): Promise<string[]> {
  const recovered: string[] = [];
  for (const run of await ledger.runsInProgress(minAgeSeconds)) {
    if (await redispatchIfLost(queues, ledger, run, retry, logger)) recovered.push(run.runId);
  }
  return recovered;
}
