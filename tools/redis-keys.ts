import { Redis } from 'ioredis';

/**
 * Deletes every key under `prefix:` (a queue prefix), scanning in pages so that a large
 * database is never blocked by one KEYS call. For the benchmarks and the tests, which each run
 * under a prefix of their own; never pointed at a production prefix.
 */
export async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
