import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../../src/queue/queue-names.js';
import { openQueueViews, type QueueViews } from '../../../src/queue/queue-views.js';
import { recordingLogger } from '../../support/recording-logger.js';
import {
  deleteRedisKeys,
  freePort,
  REDIS_URL,
  testQueuePrefix,
  waitFor,
} from '../../support/queue.js';

describe('openQueueViews', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function views(redisUrl: string, prefix: string) {
    const { logger, records } = recordingLogger();
    const opened = openQueueViews({ redisUrl, prefix }, logger);
    cleanups.push(() => opened.close());
    return { views: opened, records };
  }

  function producer(name: string, prefix: string): Queue {
    const queue = new Queue(name, { connection: { url: REDIS_URL }, prefix });
    cleanups.push(() => queue.close());
    return queue;
  }

  it('shows every queue of its prefix with the jobs other processes added', async () => {
    const prefix = testQueuePrefix('views');
    cleanups.push(() => deleteRedisKeys(REDIS_URL, prefix));
    const batches = producer(QUEUE_NAMES.batches, prefix);
    await batches.addBulk([
      { name: 'batch', data: { runId: 'r', batchNo: 1 } },
      { name: 'batch', data: { runId: 'r', batchNo: 2 } },
    ]);
    await producer(QUEUE_NAMES.schedules, prefix).add(
      'schedule',
      { schedule: 'nightly', args: [] },
      { delay: 60_000 },
    );
    // Another deployment on the same Redis: none of its jobs may show.
    const other = testQueuePrefix('views-other');
    cleanups.push(() => deleteRedisKeys(REDIS_URL, other));
    await producer(QUEUE_NAMES.finalize, other).add('finalize', { runId: 'x' });

    const { views: opened, records } = views(REDIS_URL, prefix);
    expect(opened.prefix).toBe(prefix);
    expect(opened.queues.map((queue) => queue.name)).toEqual(Object.values(QUEUE_NAMES));
    const counts = await Promise.all(
      opened.queues.map((queue) => queue.getJobCounts('waiting', 'delayed')),
    );
    expect(counts).toEqual([
      { waiting: 2, delayed: 0 },
      { waiting: 0, delayed: 0 },
      { waiting: 0, delayed: 1 },
    ]);
    expect(records.filter((record) => record.level === 'warn')).toEqual([]);
  });

  it('warns once while Redis stays down, without the password', async () => {
    const port = await freePort();
    const { records } = views(`redis://eden:s3cret-pw@127.0.0.1:${port}`, 'p');
    await waitFor('a warning', () => records.some((record) => record.level === 'warn'), 5000);
    // ioredis reconnects every few hundred ms, and each queue reports the same refusal too.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const warnings = records.filter((record) => record.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toMatch(
      new RegExp(`^Redis redis://.*127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
    );
    expect(warnings[0]?.msg).not.toContain('s3cret-pw');
  });

  it('closes its queues and its connection', async () => {
    const prefix = testQueuePrefix('views-close');
    cleanups.push(() => deleteRedisKeys(REDIS_URL, prefix));
    const { logger } = recordingLogger();
    const opened: QueueViews = openQueueViews({ redisUrl: REDIS_URL, prefix }, logger);
    await opened.queues[0]?.getJobCounts();
    await opened.close();
    for (const queue of opened.queues) {
      await expect(queue.getJobCounts()).rejects.toThrow(/Connection is closed/);
    }
  });
});
