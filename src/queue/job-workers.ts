import { Worker, type Job } from 'bullmq';
import type { Logger } from '../observability/logger.js';
import { QUEUE_NAMES } from './queue-names.js';
import {
  connectionOf,
  type BatchJobData,
  type FinalizeJobData,
  type QueueSettings,
  type ScheduleJobData,
} from './settings.js';

/** What a worker process does with each kind of job; the result is the job's return value. */
export interface JobProcessors {
  batch(job: Job<BatchJobData>, token?: string): Promise<string>;
  finalize(job: Job<FinalizeJobData>): Promise<string>;
  schedule(job: Job<ScheduleJobData>): Promise<string>;
  /** Batch jobs taken at once by this process. */
  openBatches: number;
}

export interface JobWorkers {
  /** Stops taking jobs and waits for the jobs in progress; again: the same wait. */
  close(): Promise<void>;
}

export interface JobWorkerOptions {
  /** How long a job stays locked to this worker without renewal, in ms. */
  lockDurationMs: number;
  /** How often stalled jobs (of a dead worker) are looked for, in ms. */
  stalledIntervalMs: number;
}

/** One BullMQ worker per queue, on the settings every eden-etl process agrees on. */
export function startJobWorkers(
  settings: QueueSettings,
  processors: JobProcessors,
  options: JobWorkerOptions,
  logger: Logger,
): JobWorkers {
  const common = {
    connection: connectionOf(settings),
    prefix: settings.prefix,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.stalledIntervalMs,
  };
  const workers = [
    new Worker<BatchJobData, string>(
      QUEUE_NAMES.batches,
      (job, token) => processors.batch(job, token),
      {
        ...common,
        concurrency: processors.openBatches,
      },
    ),
    new Worker<FinalizeJobData, string>(
      QUEUE_NAMES.finalize,
      (job) => processors.finalize(job),
      common,
    ),
    new Worker<ScheduleJobData, string>(
      QUEUE_NAMES.schedules,
      (job) => processors.schedule(job),
      common,
    ),
  ];
  for (const worker of workers) {
    // Redis going away is reported once per reconnect cycle by ioredis; jobs resume after.
    worker.on('error', (error) => logger.warn({ queue: worker.name }, error.message));
  }
  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= Promise.all(workers.map((worker) => worker.close())).then(() => undefined);
      return closing;
    },
  };
}
