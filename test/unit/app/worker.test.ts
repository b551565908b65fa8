import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runWorker } from '../../../src/app/worker.js';
import { loadConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/observability/logger.js';
import { tempDir } from '../../support/cli.js';
import { createTestDatabase } from '../../support/postgres.js';
import { deleteRedisKeys, REDIS_URL, testQueuePrefix, waitFor } from '../../support/queue.js';

let dir: string;
let cleanup: () => Promise<void>;
let before: NodeJS.SignalsListener[];

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('worker'));
  before = process.listeners('SIGINT');
});

afterEach(async () => {
  for (const listener of added()) process.off('SIGINT', listener);
  for (const listener of process.listeners('SIGTERM')) {
    if (!before.includes(listener)) process.off('SIGTERM', listener);
  }
  await cleanup();
});

/** The signal handlers the worker installed (called directly: the runner has its own). */
function added(): NodeJS.SignalsListener[] {
  return process.listeners('SIGINT').filter((listener) => !before.includes(listener));
}

/** A logger writing JSON lines the test reads back. */
function recordingLogger() {
  const stream = new PassThrough();
  const lines: { msg: string; [key: string]: unknown }[] = [];
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (line !== '') lines.push(JSON.parse(line) as { msg: string });
    }
  });
  return { logger: createLogger({ level: 'info', format: 'json', stream }), lines };
}

describe('runWorker', () => {
  it('refuses to start without Redis and a shared state database', async () => {
    const { logger, lines } = recordingLogger();
    const { config } = loadConfig({ flags: { stateDir: join(dir, 'state') }, env: {} });
    await expect(runWorker(config, logger)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/REDIS_URL .* and STATE_DATABASE_URL/) as unknown,
    });
    expect(lines.map((line) => line.msg)).not.toContain('worker ready');
    expect(added()).toEqual([]);
  });

  it('takes jobs until stopped, then closes everything and says so', async () => {
    const state = await createTestDatabase('app_worker');
    const prefix = testQueuePrefix('worker');
    try {
      const { logger, lines } = recordingLogger();
      const { config } = loadConfig({
        flags: {
          stateDatabaseUrl: state.url,
          redisUrl: REDIS_URL,
          queuePrefix: prefix,
          renderThreads: 1,
          concurrency: 2,
        },
        env: {},
      });
      const running = runWorker(config, logger);
      await waitFor(
        'worker ready',
        () => lines.some((line) => line.msg === 'worker ready'),
        30_000,
      );
      expect(lines.find((line) => line.msg === 'worker ready')).toMatchObject({
        queuePrefix: prefix,
        concurrency: 2,
        renderThreads: 1,
      });
      const [onSignal] = added();
      expect(onSignal).toBeDefined();
      onSignal?.('SIGINT');
      await running;
      expect(lines.at(-1)?.msg).toBe('worker stopped');
    } finally {
      await deleteRedisKeys(REDIS_URL, prefix);
      await state.drop();
    }
  });
});
