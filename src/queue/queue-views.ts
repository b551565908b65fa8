import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { redactUrl } from '../domain/redact.js';
import type { Logger } from '../observability/logger.js';
import { QUEUE_NAMES } from './queue-names.js';
import type { QueueSettings } from './settings.js';

/** The queues as a monitoring view holds them: read by the dashboard's pages and Bull Board. */
export interface QueueViews {
  prefix: string;
  queues: Queue[];
  close(): Promise<void>;
}

/**
 * One connection for every queue of the view, which reports a Redis outage once instead of at
 * every reconnect. While Redis is down, BullMQ holds a view's commands until it is back (they
 * wait for the connection to be ready), so a reader that must still answer, as the pages and
 * /metrics do, bounds each read with a timeout of its own.
 */
export function openQueueViews(settings: QueueSettings, logger: Logger): QueueViews {
  const connection = new Redis(settings.redisUrl, {
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
  });
  // ioredis reconnects every few seconds: say what is wrong once, and again when it changes.
  let lastProblem = '';
  const onError = (error: Error) => {
    if (error.message === lastProblem) return;
    lastProblem = error.message;
    logger.warn(`Redis ${redactUrl(settings.redisUrl)}: ${error.message}`);
  };
  connection.on('error', onError);
  connection.on('ready', () => (lastProblem = ''));
  const queues = Object.values(QUEUE_NAMES).map((name) => {
    const queue = new Queue(name, { connection, prefix: settings.prefix });
    queue.on('error', onError);
    return queue;
  });
  return {
    prefix: settings.prefix,
    queues,
    async close() {
      for (const queue of queues) await queue.close();
      connection.disconnect();
    },
  };
}
