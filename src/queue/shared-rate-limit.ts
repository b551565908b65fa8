import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

/**
 * GCRA with a burst of one, in Redis: the key holds the theoretical arrival time of the next
 * request (µs, Redis clock). Each call reserves the next free slot and returns how long its
 * caller waits for it. One script call per request, atomic, and on Redis's clock, so workers
 * on machines whose clocks disagree still share one rate.
 */
const RESERVE_SLOT = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nextTat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', nextTat), 'PX', math.ceil((nextTat - now) / 1000) + 1000)
return tostring(tat - now)
`;

export interface SharedRateLimit {
  /** Resolves when this caller may send its request. */
  takeSlot(): Promise<void>;
  close(): Promise<void>;
}

/**
 * At most `rate` requests per second across every process that uses the same Redis `key`:
 * the PACS download limit of all workers together. While Redis is unreachable, callers wait
 * for it (ioredis reconnects), so a restart pauses downloads instead of failing them.
 */
export function createSharedRateLimit(options: {
  redisUrl: string;
  key: string;
  rate: number;
}): SharedRateLimit {
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const intervalMicros = Math.max(1, Math.round(1_000_000 / options.rate));
  return {
    async takeSlot() {
      const waitMicros = Number(
        await redis.eval(RESERVE_SLOT, 1, options.key, String(intervalMicros)),
      );
      if (waitMicros > 0) await sleep(waitMicros / 1000);
    },
    async close() {
      await redis.quit();
    },
  };
}
