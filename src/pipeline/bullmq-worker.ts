import { UnrecoverableError, WaitingError, type Job } from 'bullmq';
import { asEtlError } from '../domain/errors.js';
import type { Ledger, RunRecord } from '../ledger/ledger.js';
import { datasetKeys } from '../dataset/object-keys.js';
import type { Logger } from '../observability/logger.js';
import type { PipelineContext } from './context.js';
import { finalizeRun } from './finalize.js';
import { OPEN_BATCHES, processBatch } from './process-batch.js';
import type { RetryPolicy } from './process-item.js';
import { recoverLostRuns, type JobRetry } from './bullmq-dispatch.js';
import { createLimiter, RunStopped, type Limiter } from './limiter.js';
import type { JobProcessors } from '../queue/job-workers.js';
import type { RunQueues } from '../queue/queues.js';
import type { BatchJobData, FinalizeJobData, ScheduleJobData } from '../queue/settings.js';

/** What the worker needs from the composition root. */
export interface WorkerAdapters {
  ledger: Ledger;
  logger: Logger;
  /** The pipeline context of a run: the shared fetcher and renderer, the run's destination. */
  contextFor(run: RunRecord): Promise<PipelineContext>;
  /** Plans and enqueues the run a schedule describes. */
  startScheduledRun(data: ScheduleJobData): Promise<string>;
  toolVersion: string;
  /** The patient-split key (--split-key, else SECRET_KEY, else the public default). */
  splitKey: string;
  /** Error tracking (Sentry when configured) for batch and finalize jobs that fail. */
  reportError(error: unknown, context: Record<string, string | number>): void;
}

export interface RunWorkerOptions {
  /** Instances in flight at once in this process, across its batch jobs. */
  concurrency: number;
  /** In-process tries of an instance before its batch job is retried by the queue. */
  itemRetry: RetryPolicy;
}

// How often a batch in progress checks whether its run was cancelled.
const CANCEL_POLL_MS = 2000;

/** Tells BullMQ how an error ends a job: retried later, or failed for good. */
function jobError(error: unknown): Error {
  const failure = asEtlError(error, 'INTERNAL');
  return failure.retryable ? failure : new UnrecoverableError(failure.oneLine());
}

/**
 * What `eden-etl worker` does with its jobs: batch jobs run the pipeline's own per-batch code,
 * finalize jobs its finalize, schedule jobs start their run. Everything is decided by the
 * ledger: a batch job takes the pending instances of its batch only, so a job redone after a
 * crash, a stall or a lost Redis delivers what is missing and nothing twice. Aborting `stopping`
 * (SIGTERM) lets the instances in flight finish and puts the rest of their batches back.
 */
export function runJobProcessors(
  adapters: WorkerAdapters,
  options: RunWorkerOptions,
  stopping: AbortSignal,
): JobProcessors {
  const { ledger, logger } = adapters;
  const sharedLimit = createLimiter(options.concurrency, stopping);

  /**
   * The run's context, or the job failed as any other error of it would be: a worker that
   * cannot build it (its SECRET_KEY is not the run's) says so in its log and error report,
   * and a permanent cause is not retried in silence.
   */
  const contextOrFail = async (run: RunRecord, where: Record<string, unknown>) => {
    try {
      return await adapters.contextFor(run);
    } catch (error) {
      logger.warn({ runId: run.runId, ...where }, asEtlError(error, 'INTERNAL').oneLine());
      adapters.reportError(error, { runId: run.runId, ...where });
      throw jobError(error);
    }
  };

  const processBatchJob = async (job: Job<BatchJobData>, token?: string): Promise<string> => {
    const { runId, batchNo } = job.data;
    const run = await ledger.findRun(runId);
    if (run?.status !== 'planned') {
      logger.info({ runId, batchNo }, `batch skipped: the run is ${run?.status ?? 'unknown'}`);
      return 'skipped';
    }
    const ctx = await contextOrFail(run, { batchNo, attempt: job.attemptsMade + 1 });
    const cancelled = new AbortController();
    const poll = setInterval(() => {
      ledger.findRun(runId).then(
        (current) => {
          if (current?.status === 'cancelled') cancelled.abort();
        },
        // A missed check is made up by the next one.
        () => undefined,
      );
    }, CANCEL_POLL_MS);
    const limit: Limiter = (task) =>
      sharedLimit(() => (cancelled.signal.aborted ? Promise.reject(new RunStopped()) : task()));
    // On the last attempt, transient failures are recorded; before it, they retry the job.
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    try {
      await processBatch(
        ctx,
        run,
        datasetKeys(run.spec.prefix),
        batchNo,
        limit,
        { ...options.itemRetry, deferTransient: !lastAttempt },
        (result) => logger.trace({ runId, batchNo, ...result }, 'instance settled'),
      );
      return 'done';
    } catch (error) {
      if (cancelled.signal.aborted) return 'cancelled';
      if (stopping.aborted && token !== undefined) {
        // Back to the queue as it is: the next worker takes its pending instances.
        await job.moveToWait(token);
        throw new WaitingError();
      }
      logger.warn(
        { runId, batchNo, attempt: job.attemptsMade + 1 },
        asEtlError(error, 'INTERNAL').oneLine(),
      );
      adapters.reportError(error, { runId, batchNo, attempt: job.attemptsMade + 1 });
      throw jobError(error);
    } finally {
      clearInterval(poll);
    }
  };

  const processFinalizeJob = async (job: Job<FinalizeJobData>): Promise<string> => {
    const { runId } = job.data;
    const run = await ledger.findRun(runId);
    if (run === null || run.status === 'cancelled') return 'skipped';
    if (run.status === 'finalized') return 'already finalized';
    const counts = await ledger.counts(runId);
    if (counts.pending > 0) {
      const failures = Object.values(await job.getIgnoredChildrenFailures());
      throw new UnrecoverableError(
        `${counts.pending} instance(s) of run ${runId} are still pending: ${failures[0] ?? 'a batch did not finish'}; fix the cause, then \`eden-etl retry ${runId}\``,
      );
    }
    const ctx = await contextOrFail(run, { job: 'finalize' });
    try {
      await finalizeRun(
        ledger,
        ctx.store,
        datasetKeys(run.spec.prefix),
        runId,
        adapters.toolVersion,
        adapters.splitKey,
      );
    } catch (error) {
      adapters.reportError(error, { runId, job: 'finalize' });
      throw jobError(error);
    }
    logger.info({ runId, ...counts }, 'run finalized');
    return 'finalized';
  };

  const processScheduleJob = async (job: Job<ScheduleJobData>): Promise<string> => {
    try {
      const runId = await adapters.startScheduledRun(job.data);
      logger.info({ schedule: job.data.schedule, runId }, 'scheduled run started');
      return runId;
    } catch (error) {
      const failure = asEtlError(error, 'INTERNAL');
      logger.error({ schedule: job.data.schedule }, failure.oneLine());
      throw new UnrecoverableError(failure.oneLine());
    }
  };

  return {
    batch: processBatchJob,
    finalize: processFinalizeJob,
    schedule: processScheduleJob,
    openBatches: OPEN_BATCHES,
  };
}

/**
 * Every `intervalMs`, enqueues again the runs in progress whose jobs Redis lost (see
 * recoverLostRuns). Returns the function that stops it.
 */
export function startLostRunRecovery(
  queues: RunQueues,
  ledger: Ledger,
  retry: JobRetry,
  intervalMs: number,
  logger: Logger,
): () => void {
  let recovering = false;
  const timer = setInterval(() => {
    if (recovering) return;
    recovering = true;
    recoverLostRuns(queues, ledger, retry, intervalMs / 1000, logger)
      .catch((error: unknown) =>
        logger.warn(`lost-job check failed: ${asEtlError(error, 'INTERNAL').oneLine()}`),
      )
      .finally(() => (recovering = false));
  }, intervalMs);
  return () => clearInterval(timer);
}
