import { afterEach, describe, expect, it } from 'vitest';
import { createSharedRateLimit } from '../../src/queue/shared-rate-limit.js';
import { deleteRedisKeys, REDIS_URL, testQueuePrefix } from '../support/queue.js';

describe('the PACS rate limit shared through Redis', () => {
  const prefixes: string[] = [];
  afterEach(async () => {
    for (const prefix of prefixes.splice(0)) await deleteRedisKeys(REDIS_URL, prefix);
  });

  it('spaces the requests of several limiters on one key by 1/rate', async () => {
    const prefix = testQueuePrefix('rate');
    prefixes.push(prefix);
    const limits = [1, 2, 3].map(() =>
      createSharedRateLimit({ redisUrl: REDIS_URL, key: `${prefix}:pacs-rate-limit`, rate: 20 }),
    );
    try {
      const started = performance.now();
      const times: number[] = [];
      await Promise.all(
        limits.flatMap((limit) =>
          Array.from({ length: 7 }, async () => {
            await limit.takeSlot();
            times.push(performance.now() - started);
          }),
        ),
      );
      times.sort((a, b) => a - b);
      // 21 requests at 20/s: the last one 1 s after the first, none two in one slot.
      expect(times[times.length - 1] ?? 0).toBeGreaterThan(950);
      expect(times[times.length - 1] ?? 0).toBeLessThan(2000);
      const gaps = times.slice(1).map((time, index) => time - (times[index] ?? 0));
      expect(gaps.filter((gap) => gap < 25).length).toBeLessThan(3);
    } finally {
      await Promise.all(limits.map((limit) => limit.close()));
    }
  });

  it('keeps separate keys apart', async () => {
    const prefix = testQueuePrefix('rate2');
    prefixes.push(prefix);
    const a = createSharedRateLimit({ redisUrl: REDIS_URL, key: `${prefix}:a`, rate: 2 });
    const b = createSharedRateLimit({ redisUrl: REDIS_URL, key: `${prefix}:b`, rate: 2 });
    try {
      const started = performance.now();
      await Promise.all([a.takeSlot(), b.takeSlot()]);
      expect(performance.now() - started).toBeLessThan(250);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
