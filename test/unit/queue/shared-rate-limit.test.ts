import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createSharedRateLimit,
  type SharedRateLimit,
} from '../../../src/queue/shared-rate-limit.js';
import { deleteRedisKeys, REDIS_URL, testQueuePrefix } from '../../support/queue.js';

// Spacing of several limiters on one key is the integration test's; here, one limiter's edges.
describe('createSharedRateLimit', () => {
  const prefix = testQueuePrefix('rate-unit');
  let redis: Redis;
  const limits: SharedRateLimit[] = [];
  beforeAll(() => {
    redis = new Redis(REDIS_URL);
  });
  afterEach(async () => {
    for (const limit of limits.splice(0)) await limit.close();
  });
  afterAll(async () => {
    await deleteRedisKeys(REDIS_URL, prefix);
    redis.disconnect();
  });

  function limit(key: string, rate: number): SharedRateLimit {
    const created = createSharedRateLimit({ redisUrl: REDIS_URL, key: `${prefix}:${key}`, rate });
    limits.push(created);
    return created;
  }

  async function timed(work: () => Promise<void>): Promise<number> {
    const started = performance.now();
    await work();
    return performance.now() - started;
  }

  async function redisNowMicros(): Promise<number> {
    const [seconds, micros] = await redis.time();
    return Number(seconds) * 1_000_000 + Number(micros);
  }

  it('lets the first request of a key go at once and reserves the next slot, expiring', async () => {
    const slow = limit('first', 2);
    expect(await timed(() => slow.takeSlot())).toBeLessThan(100);
    const next = Number(await redis.get(`${prefix}:first`));
    const now = await redisNowMicros();
    // The next free slot is 1/rate after this one: 500 ms on Redis's clock.
    expect(next - now).toBeGreaterThan(400_000);
    expect(next - now).toBeLessThanOrEqual(500_000);
    // Kept a second past the slot, so idle keys do not pile up in Redis.
    const ttl = await redis.pttl(`${prefix}:first`);
    expect(ttl).toBeGreaterThan(1000);
    expect(ttl).toBeLessThanOrEqual(1501);
    expect(await timed(() => slow.takeSlot())).toBeGreaterThan(350);
  });

  it('banks no credit while idle: after a pause, one request at once, then 1/rate again', async () => {
    const tenPerSecond = limit('idle', 10);
    await tenPerSecond.takeSlot();
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(await timed(() => tenPerSecond.takeSlot())).toBeLessThan(50);
    expect(await timed(() => tenPerSecond.takeSlot())).toBeGreaterThan(60);
  });

  it('waits for a slot another process reserved, on Redis’s clock', async () => {
    const key = `${prefix}:foreign`;
    await redis.set(key, String((await redisNowMicros()) + 300_000), 'PX', 5000);
    const waited = await timed(() => limit('foreign', 1000).takeSlot());
    expect(waited).toBeGreaterThan(250);
    expect(waited).toBeLessThan(1000);
  });

  it('keeps a slot of at least one microsecond for rates above a million per second', async () => {
    const fast = limit('fast', 1e9);
    const elapsed = await timed(async () => {
      for (let i = 0; i < 50; i += 1) await fast.takeSlot();
    });
    expect(elapsed).toBeLessThan(1000);
    expect(Number(await redis.get(`${prefix}:fast`))).toBeGreaterThan(0);
  });

  it('refuses slots once closed', async () => {
    const closed = createSharedRateLimit({ redisUrl: REDIS_URL, key: `${prefix}:closed`, rate: 5 });
    await closed.takeSlot();
    await closed.close();
    await expect(closed.takeSlot()).rejects.toThrow(/Connection is closed/);
  });
});
