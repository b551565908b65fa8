import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../../src/queue/queue-names.js';
import { deleteRedisKeys, REDIS_URL, testQueuePrefix } from '../../support/queue.js';

describe('QUEUE_NAMES', () => {
  const prefix = testQueuePrefix('names');
  afterAll(() => deleteRedisKeys(REDIS_URL, prefix));

  it('are the names deployed workers listen on, one per kind of job', () => {
    // Renaming one strands the jobs of a Redis that a previous version filled.
    expect(QUEUE_NAMES).toEqual({
      batches: 'eden-batches',
      finalize: 'eden-finalize',
      schedules: 'eden-schedules',
    });
    expect(new Set(Object.values(QUEUE_NAMES)).size).toBe(3);
  });

  it('put each queue’s keys under the prefix, apart from the other queues', async () => {
    const redis = new Redis(REDIS_URL);
    const queues = Object.values(QUEUE_NAMES).map(
      (name) => new Queue(name, { connection: { url: REDIS_URL }, prefix }),
    );
    try {
      await Promise.all(queues.map((queue) => queue.add('probe', {})));
      const keys = await redis.keys(`${prefix}:*`);
      for (const name of Object.values(QUEUE_NAMES)) {
        expect(keys.some((key) => key.startsWith(`${prefix}:${name}:`))).toBe(true);
      }
      const counts = await Promise.all(queues.map((queue) => queue.getWaitingCount()));
      expect(counts).toEqual([1, 1, 1]);
    } finally {
      await Promise.all(queues.map((queue) => queue.close()));
      redis.disconnect();
    }
  });
});
