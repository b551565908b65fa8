import { describe, expect, it } from 'vitest';
import {
  batchJobId,
  connectionOf,
  finalizeJobId,
  queueSettingsOrFail,
} from '../../../src/queue/settings.js';

describe('queueSettingsOrFail', () => {
  it('gives the Redis URL and the key prefix when both services are configured', () => {
    expect(
      queueSettingsOrFail({
        redisUrl: 'redis://127.0.0.1:6379',
        stateDatabaseUrl: 'postgres://x@h/db',
        queuePrefix: 'eden',
      }),
    ).toEqual({ redisUrl: 'redis://127.0.0.1:6379', prefix: 'eden' });
  });

  it('names everything missing, and the way out, in one CONFIG_INVALID', () => {
    expect(() => queueSettingsOrFail({ queuePrefix: 'eden' })).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message:
          'the BullMQ executor needs REDIS_URL (the job queue) and STATE_DATABASE_URL (the ledger in PostgreSQL, which every worker must see)',
        hint: expect.stringContaining('--executor local') as unknown,
      }),
    );
    expect(() => queueSettingsOrFail({ redisUrl: 'redis://h', queuePrefix: 'eden' })).toThrow(
      /needs STATE_DATABASE_URL/,
    );
  });
});

describe('job ids', () => {
  it('derive from run, round and batch, so a second enqueue of a round adds nothing', () => {
    expect(batchJobId('abc', 1, 7)).toBe('abc-r1-b7');
    expect(batchJobId('abc', 2, 7)).not.toBe(batchJobId('abc', 1, 7));
    expect(finalizeJobId('abc', 3)).toBe('abc-r3-finalize');
  });
});

describe('connectionOf', () => {
  it('waits for Redis to come back instead of failing commands (BullMQ workers need it)', () => {
    expect(connectionOf({ redisUrl: 'redis://h:1', prefix: 'p' })).toEqual({
      url: 'redis://h:1',
      maxRetriesPerRequest: null,
    });
  });
});
