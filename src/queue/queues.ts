import { FlowProducer, Queue } from 'bullmq';
import { EtlError } from '../domain/errors.js';
import { redactUrl } from '../domain/redact.js';
import { QUEUE_NAMES } from './queue-names.js';
import {
  connectionOf,
  type BatchJobData,
  type FinalizeJobData,
  type QueueSettings,
  type ScheduleJobData,
} from './settings.js';

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
