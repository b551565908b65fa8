import { FlowProducer, Queue, type ConnectionOptions } from 'bullmq';
import { EtlError } from '../domain/errors.js';
import { redactUrl } from '../domain/redact.js';
import { QUEUE_NAMES } from './queue-names.js';

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

/** The producer side: the three queues and the flow producer, on one settings. */
export class RunQueues {
  readonly batches: Queue<BatchJobData>;
  readonly finalize: Queue<FinalizeJobData>;
  readonly schedules: Queue<ScheduleJobData>;
  readonly flows: FlowProducer;

  private constructor(readonly settings: QueueSettings) {
    const options = { connection: connectionOf(settings), prefix: settings.prefix };
    this.batches = new Queue(QUEUE_NAMES.batches, options);
    this.finalize = new Queue(QUEUE_NAMES.finalize, options);
    this.schedules = new Queue(QUEUE_NAMES.schedules, options);
    this.flows = new FlowProducer(options);
    // Connection errors while Redis restarts: ioredis reconnects and commands wait for it
    // (maxRetriesPerRequest: null); open() names an unreachable Redis, and the run's follower
    // and the workers say when they enqueue lost jobs again.
    const ignore = () => undefined;
    this.batches.on('error', ignore);
    this.finalize.on('error', ignore);
    this.schedules.on('error', ignore);
    this.flows.on('error', ignore);
  }

  /** Opens the queues and checks that Redis answers, naming it (without credentials) if not. */
  static async open(settings: QueueSettings, timeoutMs = 10_000): Promise<RunQueues> {
    const queues = new RunQueues(settings);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        queues.batches.waitUntilReady().then(() => queues.batches.count()),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (error) {
      await queues.close();
      throw new EtlError('QUEUE_UNAVAILABLE', `cannot reach Redis: ${(error as Error).message}`, {
        subject: redactUrl(settings.redisUrl),
        hint: 'check REDIS_URL and that Redis accepts connections from here',
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
    return queues;
  }

  async close(): Promise<void> {
    await Promise.allSettled([
      this.batches.close(),
      this.finalize.close(),
      this.schedules.close(),
      this.flows.close(),
    ]);
  }
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
