import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Composition } from '../../../src/app/compose.js';
import { executeQueuedRun, jobRetryOf } from '../../../src/app/queued-run.js';
import { loadConfig } from '../../../src/config/load.js';
import { ensureSamplePacs } from '../../../src/demo/sample-pacs.js';
import { createLogger } from '../../../src/observability/logger.js';
import { RunQueues } from '../../../src/queue/queues.js';
import { batchJobId, finalizeJobId, type QueueSettings } from '../../../src/queue/settings.js';
import { openPglite } from '../../../src/sql/pglite-client.js';
import { tempDir } from '../../support/cli.js';
import { deleteRedisKeys, REDIS_URL, testQueuePrefix } from '../../support/queue.js';

const logger = createLogger({ level: 'fatal', format: 'plain' });

let work: { dir: string; cleanup: () => Promise<void> };
let settings: QueueSettings;
let queues: RunQueues;
let runs = 0;

// One sample PACS of one study for the file: generating it is the slow part.
beforeAll(async () => {
  work = await tempDir('queued-run');
  const pacs = await openPglite(join(work.dir, 'pacs/db'), 'the sample PACS');
  try {
    await ensureSamplePacs(pacs, { dir: join(work.dir, 'pacs'), studies: 1, seed: 1 });
  } finally {
    await pacs.close();
  }
});

afterAll(async () => {
  await work.cleanup();
});

beforeEach(async () => {
  settings = { redisUrl: REDIS_URL, prefix: testQueuePrefix('queued-run') };
  queues = await RunQueues.open(settings);
});

afterEach(async () => {
  await queues.close();
  await deleteRedisKeys(REDIS_URL, settings.prefix);
});

/**
 * A composition on an embedded state of its own and the test's queues: the real one wants a
 * PostgreSQL state for the BullMQ executor, which only matters across machines.
 */
function compose(): Composition {
  runs += 1;
  const { config } = loadConfig({
    flags: {
      source: `pglite:${join(work.dir, 'pacs/db')}`,
      dest: join(work.dir, `out-${runs}`),
      stateDir: join(work.dir, `state-${runs}`),
      studies: 1,
      batchSize: 4,
      progress: 'off',
      jobAttempts: '3',
    },
    env: {},
  });
  const root = new Composition(config, logger);
  root.queueSettings = () => settings;
  root.queues = () => Promise.resolve(queues);
  return root;
}

async function detached(root: Composition): Promise<{ code: number; text: string }> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const code = await executeQueuedRun(root, {
    out,
    signal: new AbortController().signal,
    detach: true,
  });
  return { code, text };
}

async function jobCount(): Promise<number> {
  const [batches, finalize] = await Promise.all([
    queues.batches.getJobCounts(),
    queues.finalize.getJobCounts(),
  ]);
  return [...Object.values(batches), ...Object.values(finalize)].reduce((a, b) => a + b, 0);
}

describe('jobRetryOf', () => {
  it('takes the job attempts and the backoff in seconds from the configuration', () => {
    const { config } = loadConfig({ flags: { jobAttempts: '4', jobBackoff: '2.5' }, env: {} });
    expect(jobRetryOf(config)).toEqual({ attempts: 4, backoffMs: 2500 });
  });
});

describe('executeQueuedRun', () => {
  it('plans the run, enqueues its batches under a finalize, and prints the run id', async () => {
    const root = compose();
    try {
      const { code, text } = await detached(root);
      expect(code).toBe(0);
      const runId = text.trim();
      const ledger = await root.ledger();
      const run = await ledger.findRun(runId);
      expect(run).toMatchObject({ status: 'planned', dispatchRound: 1 });
      const batches = await ledger.batchNumbers(runId, true);
      expect(batches.length).toBeGreaterThan(1);
      const finalize = await queues.finalize.getJob(finalizeJobId(runId, 1));
      expect(await finalize?.getState()).toBe('waiting-children');
      expect(finalize?.opts.attempts).toBe(3);
      for (const batchNo of batches) {
        expect((await queues.batches.getJob(batchJobId(runId, 1, batchNo)))?.data).toEqual({
          runId,
          batchNo,
        });
      }
      const jobs = await jobCount();
      expect(jobs).toBe(batches.length + 1);

      // The same command again finds its run and adds no job: the job ids are the run's.
      expect((await detached(root)).text).toBe(`${runId}\n`);
      expect(await jobCount()).toBe(jobs);

      // A finished run is left alone.
      await ledger.markFinalized(runId);
      const again = await detached(root);
      expect(again.code).toBe(0);
      expect(again.text).toMatch(new RegExp(`^Run ${runId} is already complete`));
      expect(await jobCount()).toBe(jobs);
    } finally {
      await root.close();
    }
  });
});
