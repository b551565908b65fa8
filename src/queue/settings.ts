import type { ConnectionOptions } from 'bullmq';
import { EtlError } from '../domain/errors.js';

/** Where the queues live: a Redis URL and the prefix of their keys. */
export interface QueueSettings {
  redisUrl: string;
  prefix: string;
}

/** Data of a batch job: nothing but its coordinates; everything else is in the ledger. */
export interface BatchJobData {
  runId: string;
  batchNo: number;
}

export interface FinalizeJobData {
  runId: string;
}

/** Data of a schedule's job: the `eden-etl run` options it starts a run with. */
export interface ScheduleJobData {
  schedule: string;
  args: string[];
}

/**
 * BullMQ connections for commands and workers. `maxRetriesPerRequest: null` makes commands
 * wait for Redis to come back rather than fail while it restarts (BullMQ requires it for
 * workers' blocking calls).
 */
export function connectionOf(settings: QueueSettings): ConnectionOptions {
  return { url: settings.redisUrl, maxRetriesPerRequest: null };
}

/**
 * Job ids: derived from the run, its dispatch round and the batch number, so enqueueing a
 * run twice adds nothing, while `eden-etl retry` (a new round) adds new jobs even where the
 * round before left completed or failed ones.
 */
export function batchJobId(runId: string, round: number, batchNo: number): string {
  return `${runId}-r${round}-b${batchNo}`;
}

export function finalizeJobId(runId: string, round: number): string {
  return `${runId}-r${round}-finalize`;
}

/**
 * The BullMQ executor needs Redis and a state database that every machine can reach (never
 * the embedded one, which lives on one disk).
 */
export function queueSettingsOrFail(config: {
  redisUrl?: string | undefined;
  stateDatabaseUrl?: string | undefined;
  queuePrefix: string;
}): QueueSettings {
  const missing = [
    config.redisUrl === undefined ? 'REDIS_URL (the job queue)' : null,
    config.stateDatabaseUrl === undefined
      ? 'STATE_DATABASE_URL (the ledger in PostgreSQL, which every worker must see)'
      : null,
  ].filter((entry): entry is string => entry !== null);
  if (config.redisUrl === undefined || missing.length > 0) {
    throw new EtlError('CONFIG_INVALID', `the BullMQ executor needs ${missing.join(' and ')}`, {
      hint: 'set what is missing (the state database also as --state-database-url), or run in one process with --executor local',
    });
  }
  return { redisUrl: config.redisUrl, prefix: config.queuePrefix };
}
