import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { datasetKeys } from '../../../src/dataset/object-keys.js';
import { EtlError } from '../../../src/domain/errors.js';
import type { ObjectStore } from '../../../src/domain/object-store.js';
import type { RunSpec } from '../../../src/domain/run-spec.js';
import type { RunRecord } from '../../../src/ledger/ledger.js';
import type { PipelineContext } from '../../../src/pipeline/context.js';
import { createLimiter, RunStopped } from '../../../src/pipeline/limiter.js';
import { processBatch } from '../../../src/pipeline/process-batch.js';
import type { ItemResult, RetryPolicy } from '../../../src/pipeline/process-item.js';
import type { FetchTarget } from '../../../src/source/fetcher.js';
import { pipelineHarness } from '../../support/pipeline-harness.js';
import { page, selectedInstance, TEST_SPEC } from '../../support/ledger-fixtures.js';
import { recordingLogger } from '../../support/recording-logger.js';
import { grayDicom } from '../../support/render-dicom.js';

const ROWS = 16;
const COLUMNS = 16;

/** A gradient offset by `seed`, so no two instances share pixels. */
function image(seed: number): Uint8Array {
  return grayDicom({
    rows: ROWS,
    columns: COLUMNS,
    pixels: Uint16Array.from({ length: ROWS * COLUMNS }, (_, i) => (i * 13 + seed * 7) % 4096),
    bitsStored: 12,
    window: { center: 2048, width: 4096 },
  });
}

const SPEC: RunSpec = {
  ...TEST_SPEC,
  batchSize: 3,
  quality: { gates: ['blank'], minReportChars: 0 },
};
const KEYS = datasetKeys('ds');
const QUICK: RetryPolicy = { attempts: 2, baseDelayMs: 1 };
const REPORT: [string, string | null][] = [['Normal chest.', '2024-01-01T09:00:00.000Z']];

/** What the fetcher answers for an instance: its bytes, an error, or bytes once `gate` opens. */
type Answer = Uint8Array | EtlError | { gate: Promise<void>; bytes: Uint8Array };

function fetcherOf(answers: Record<string, Answer>) {
  const calls: string[] = [];
  return {
    calls,
    fetcher: {
      fetch: async (target: FetchTarget) => {
        calls.push(target.instanceId);
        const answer = answers[target.instanceId];
        if (answer === undefined) throw new Error(`no answer for ${target.instanceId}`);
        if (answer instanceof EtlError) throw answer;
        if (answer instanceof Uint8Array) return new Uint8Array(answer);
        await answer.gate;
        return new Uint8Array(answer.bytes);
      },
    },
  };
}

describe('processBatch', () => {
  const h = pipelineHarness('process-batch');

  /** A planned run of five instances (ids 1..5, one study each): batch 0 holds 1..3. */
  async function plannedRun(runId: string): Promise<RunRecord> {
    await h.ledger.createRun(runId, SPEC);
    await h.ledger.writeSelection(runId, SPEC.batchSize, async (addPage) => {
      await addPage(...page([1, 2, 3, 4, 5].map((id) => selectedInstance(id, id, REPORT))));
      return 1;
    });
    const run = await h.ledger.findRun(runId);
    if (run === null) throw new Error('the run was not planned');
    return run;
  }

  async function context(
    fetcher: PipelineContext['fetcher'],
    wrap: (store: ObjectStore) => ObjectStore = (inner) => inner,
  ): Promise<PipelineContext> {
    await h.freshStore();
    return {
      ledger: h.ledger,
      store: wrap(h.store),
      fetcher,
      renderer: h.pool,
      logger: recordingLogger().logger,
    };
  }

  async function pendingIds(runId: string, batchNo: number): Promise<string[]> {
    return (await h.ledger.pendingItems(runId, batchNo)).map((item) => item.instanceId);
  }

  async function storedDicoms(): Promise<string[]> {
    return (await readdir(join(h.root, 'ds/dicom-files')).catch(() => [])).sort();
  }

  it('settles every pending instance of its batch, and only those', async () => {
    const run = await plannedRun('all');
    const { fetcher, calls } = fetcherOf({
      1: image(1),
      2: new EtlError('FILE_MISSING', 'gone'),
      3: image(3),
    });
    const ctx = await context(fetcher);
    const results: ItemResult[] = [];
    const limit = createLimiter(2, new AbortController().signal);
    await processBatch(ctx, run, KEYS, 0, limit, QUICK, (result) => results.push(result));
    expect(calls.sort()).toEqual(['1', '2', '3']);
    expect(results.map((result) => result.status).sort()).toEqual([
      'delivered',
      'delivered',
      'failed',
    ]);
    expect(await storedDicoms()).toEqual(['1.dcm', '3.dcm']);
    expect(await pendingIds('all', 0)).toEqual([]);
    expect(await pendingIds('all', 1)).toEqual(['4', '5']);
    expect(await h.ledger.counts('all')).toMatchObject({
      total: 5,
      pending: 2,
      delivered: 2,
      failed: 1,
      failuresByCode: { FILE_MISSING: 1 },
    });
  });

  it('takes nothing when run again on a settled batch', async () => {
    const run = await plannedRun('again');
    const { fetcher, calls } = fetcherOf({ 1: image(11), 2: image(12), 3: image(13) });
    const ctx = await context(fetcher);
    const limit = createLimiter(3, new AbortController().signal);
    await processBatch(ctx, run, KEYS, 0, limit, QUICK, () => undefined);
    const before = await h.ledger.counts('again');
    const results: ItemResult[] = [];
    await processBatch(ctx, run, KEYS, 0, limit, QUICK, (result) => results.push(result));
    expect(results).toEqual([]);
    expect(calls).toHaveLength(3);
    expect(await h.ledger.counts('again')).toEqual(before);
  });

  it('on an error that stops the run, finishes the instances in flight, leaves the rest pending and throws it', async () => {
    const run = await plannedRun('stop');
    const refused = new EtlError('DESTINATION_UNAVAILABLE', 'bucket gone');
    let opened: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      opened = resolve;
    });
    // Instance 1 waits until instance 2 has been refused: it is in flight when the run stops.
    const { fetcher, calls } = fetcherOf({ 1: { gate, bytes: image(21) }, 2: image(22) });
    const ctx = await context(fetcher, (inner) => ({
      ...inner,
      create: (key, bytes, contentType) => {
        if (key.endsWith('/2.dcm')) {
          opened();
          return Promise.reject(refused);
        }
        return inner.create(key, bytes, contentType);
      },
    }));
    const results: ItemResult[] = [];
    const limit = createLimiter(2, new AbortController().signal);
    const error = await processBatch(ctx, run, KEYS, 0, limit, QUICK, (result) =>
      results.push(result),
    ).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(EtlError);
    expect((error as EtlError).code).toBe('DESTINATION_UNAVAILABLE');
    expect(calls.sort()).toEqual(['1', '2']);
    expect(results).toEqual([{ status: 'delivered', bytes: expect.any(Number) as number }]);
    expect(await storedDicoms()).toEqual(['1.dcm']);
    expect(await pendingIds('stop', 0)).toEqual(['2', '3']);
    expect(await h.ledger.counts('stop')).toMatchObject({ delivered: 1, failed: 0, pending: 4 });
  });

  it('throws a spent transient failure back when told to defer it, the batch left pending', async () => {
    const run = await plannedRun('deferred');
    const busy = new EtlError('FETCH_FAILED', 'PACS answered 503');
    const { fetcher, calls } = fetcherOf({ 1: busy, 2: image(32), 3: image(33) });
    const ctx = await context(fetcher);
    const limit = createLimiter(1, new AbortController().signal);
    const policy: RetryPolicy = { attempts: 2, baseDelayMs: 1, deferTransient: true };
    await expect(
      processBatch(ctx, run, KEYS, 0, limit, policy, () => undefined),
    ).rejects.toMatchObject({ code: 'FETCH_FAILED', subject: 'instance 1' });
    // One slot: instance 1 was alone in flight, so the others never started.
    expect(calls).toEqual(['1', '1']);
    expect(await pendingIds('deferred', 0)).toEqual(['1', '2', '3']);
    expect(await h.ledger.counts('deferred')).toMatchObject({ failed: 0, delivered: 0 });
  });

  it('throws RunStopped when stopped from outside, starting no instance', async () => {
    const run = await plannedRun('aborted');
    const { fetcher, calls } = fetcherOf({});
    const ctx = await context(fetcher);
    const controller = new AbortController();
    controller.abort();
    const limit = createLimiter(2, controller.signal);
    await expect(
      processBatch(ctx, run, KEYS, 0, limit, QUICK, () => undefined),
    ).rejects.toBeInstanceOf(RunStopped);
    expect(calls).toEqual([]);
    expect(await pendingIds('aborted', 0)).toEqual(['1', '2', '3']);
  });

  it('processes a batch with nothing planned in it without error', async () => {
    const run = await plannedRun('empty');
    const { fetcher, calls } = fetcherOf({});
    const ctx = await context(fetcher);
    const results: ItemResult[] = [];
    const limit = createLimiter(2, new AbortController().signal);
    await processBatch(ctx, run, KEYS, 9, limit, QUICK, (result) => results.push(result));
    expect(results).toEqual([]);
    expect(calls).toEqual([]);
  });
});
