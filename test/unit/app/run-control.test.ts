import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Composition } from '../../../src/app/compose.js';
import { cancelRun, retryRun } from '../../../src/app/run-control.js';
import { loadConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { EtlError } from '../../../src/domain/errors.js';
import type { SqlClient } from '../../../src/domain/sql.js';
import { Ledger } from '../../../src/ledger/ledger.js';
import type { InstanceOutcome } from '../../../src/ledger/outcomes.js';
import { createLogger } from '../../../src/observability/logger.js';
import { dispatchRun } from '../../../src/pipeline/bullmq-dispatch.js';
import { RunQueues } from '../../../src/queue/queues.js';
import { batchJobId, finalizeJobId, type QueueSettings } from '../../../src/queue/settings.js';
import { openPglite } from '../../../src/sql/pglite-client.js';
import { tempDir } from '../../support/cli.js';
import { page, selectedInstance, TEST_SPEC } from '../../support/ledger-fixtures.js';
import { deleteRedisKeys, REDIS_URL, testQueuePrefix } from '../../support/queue.js';

const logger = createLogger({ level: 'fatal', format: 'plain' });

let state: { dir: string; cleanup: () => Promise<void> };
let db: SqlClient;
let ledger: Ledger;
let settings: QueueSettings;
let queues: RunQueues;
let config: Config;
let root: Composition;
let runs = 0;

// One embedded ledger for the file (opening one costs seconds); each test has runs of its own.
beforeAll(async () => {
  state = await tempDir('run-control');
  db = await openPglite(join(state.dir, 'state'), 'test state');
  ledger = await Ledger.open(db);
});

afterAll(async () => {
  await db.close();
  await state.cleanup();
});

beforeEach(async () => {
  settings = { redisUrl: REDIS_URL, prefix: testQueuePrefix('control') };
  queues = await RunQueues.open(settings);
  config = loadConfig({
    flags: { stateDir: join(state.dir, 'unused'), jobAttempts: '2', jobBackoff: '1' },
    env: {},
  }).config;
  // The real composition needs a PostgreSQL state for the queues; this one hands out the
  // embedded ledger and the test's queues instead.
  root = {
    config,
    logger,
    queueSettings: () => settings,
    ledger: () => Promise.resolve(ledger),
    queues: () => Promise.resolve(queues),
  } as unknown as Composition;
});

afterEach(async () => {
  await queues.close();
  await deleteRedisKeys(REDIS_URL, settings.prefix);
});

function outcome(status: 'delivered' | 'failed'): InstanceOutcome {
  return {
    status,
    attempts: 1,
    dicom: null,
    images: [],
    recipe: null,
    attributes: null,
    error: status === 'failed' ? new EtlError('FILE_MISSING', 'gone') : null,
    timings: { fetch: 1 },
  };
}

/** A planned run of three instances in two batches: [0, 1] and [2]. */
async function plannedRun(): Promise<string> {
  runs += 1;
  const runId = `control-${runs}`;
  await ledger.createRun(runId, TEST_SPEC);
  await ledger.writeSelection(runId, 2, async (addPage) => {
    await addPage(...page([selectedInstance(1, 11, []), selectedInstance(1, 12, [])]));
    await addPage(...page([selectedInstance(2, 21, [])]));
    return 2;
  });
  return runId;
}

async function jobCount(): Promise<number> {
  const [batches, finalize] = await Promise.all([
    queues.batches.getJobCounts(),
    queues.finalize.getJobCounts(),
  ]);
  return [...Object.values(batches), ...Object.values(finalize)].reduce((a, b) => a + b, 0);
}

describe('retryRun', () => {
  it('refuses a configuration without Redis and a shared state before opening anything', async () => {
    const stateDir = join(state.dir, `never-opened-${runs}`);
    const real = new Composition(loadConfig({ flags: { stateDir }, env: {} }).config, logger);
    for (const command of [retryRun, cancelRun]) {
      await expect(command(real, 'r')).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringMatching(/REDIS_URL .* and STATE_DATABASE_URL/) as unknown,
        hint: expect.stringContaining('--executor local') as unknown,
      });
    }
    expect(existsSync(stateDir)).toBe(false);
    await real.close();
  });

  it('names a run the ledger does not have', async () => {
    await expect(retryRun(root, 'no-such-run')).rejects.toMatchObject({
      code: 'RUN_NOT_FOUND',
      subject: 'no-such-run',
    });
    await expect(cancelRun(root, 'no-such-run')).rejects.toMatchObject({
      code: 'RUN_NOT_FOUND',
      subject: 'no-such-run',
    });
  });

  it('refuses a run still being planned, saying how to finish planning it', async () => {
    runs += 1;
    const runId = `control-${runs}`;
    await ledger.createRun(runId, TEST_SPEC);
    await expect(retryRun(root, runId)).rejects.toMatchObject({
      code: 'USAGE',
      subject: runId,
      message: expect.stringContaining('still being planned') as unknown,
      hint: expect.stringContaining('`eden-etl run`') as unknown,
    });
    expect(await jobCount()).toBe(0);
  });

  it('leaves a run that delivered everything alone', async () => {
    const runId = await plannedRun();
    for (const ordinal of [0, 1, 2])
      await ledger.recordOutcome(runId, ordinal, outcome('delivered'));
    await ledger.markFinalized(runId);
    expect(await retryRun(root, runId)).toBe(
      `Run ${runId} delivered every instance: nothing to retry.\n`,
    );
    expect(await ledger.findRun(runId)).toMatchObject({ status: 'finalized', dispatchRound: 1 });
    expect(await jobCount()).toBe(0);
  });

  it('puts the failed instances back and enqueues their batches as a new round', async () => {
    const runId = await plannedRun();
    await ledger.recordOutcome(runId, 0, outcome('delivered'));
    await ledger.recordOutcome(runId, 1, outcome('failed'));
    await ledger.recordOutcome(runId, 2, outcome('failed'));
    await ledger.markFinalized(runId);

    const text = await retryRun(root, runId);
    expect(text).toBe(
      `Run ${runId}: 2 failed instance(s) back to pending; 2 batch job(s) and a finalize enqueued. ` +
        `\`eden-etl status ${runId}\` follows it.\n`,
    );
    expect(await ledger.findRun(runId)).toMatchObject({ status: 'planned', dispatchRound: 2 });
    expect(await ledger.counts(runId)).toMatchObject({ pending: 2, delivered: 1, failed: 0 });
    const finalize = await queues.finalize.getJob(finalizeJobId(runId, 2));
    expect(await finalize?.getState()).toBe('waiting-children');
    // Two attempts per job, as configured.
    expect(finalize?.opts.attempts).toBe(2);
    for (const batchNo of [0, 1]) {
      const batch = await queues.batches.getJob(batchJobId(runId, 2, batchNo));
      expect(batch?.data).toEqual({ runId, batchNo });
    }
  });
});

describe('cancelRun', () => {
  it('marks the run cancelled and removes its waiting jobs; retry takes it up again', async () => {
    const runId = await plannedRun();
    const run = await ledger.findRun(runId);
    if (run === null) throw new Error('no run');
    await dispatchRun(queues, ledger, run, { attempts: 1, backoffMs: 1000 });
    await ledger.recordOutcome(runId, 0, outcome('delivered'));
    expect(await jobCount()).toBe(3);

    expect(await cancelRun(root, runId)).toBe(
      `Run ${runId} cancelled: 3 waiting job(s) removed; 1 delivered, 0 failed, 2 left pending. ` +
        `\`eden-etl retry ${runId}\` takes it up again.\n`,
    );
    expect(await ledger.findRun(runId)).toMatchObject({ status: 'cancelled', dispatchRound: 1 });
    expect(await jobCount()).toBe(0);

    await expect(cancelRun(root, runId)).rejects.toMatchObject({
      code: 'USAGE',
      subject: runId,
      message: 'the run is cancelled: there is nothing to cancel',
    });

    expect(await retryRun(root, runId)).toContain(
      '0 failed instance(s) back to pending; 2 batch job(s) and a finalize enqueued',
    );
    expect(await ledger.findRun(runId)).toMatchObject({ status: 'planned', dispatchRound: 2 });
    expect(await queues.finalize.getJob(finalizeJobId(runId, 2))).toBeDefined();
  });

  it('refuses a finished run, naming its status', async () => {
    const runId = await plannedRun();
    await ledger.markFinalized(runId);
    await expect(cancelRun(root, runId)).rejects.toMatchObject({
      code: 'USAGE',
      subject: runId,
      message: 'the run is finalized: there is nothing to cancel',
    });
  });
});
