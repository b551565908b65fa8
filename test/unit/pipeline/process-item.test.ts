import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { datasetKeys } from '../../../src/dataset/object-keys.js';
import { EtlError } from '../../../src/domain/errors.js';
import type { Exclusion } from '../../../src/domain/exclusions.js';
import type { ObjectStore } from '../../../src/domain/object-store.js';
import type { RunSpec } from '../../../src/domain/run-spec.js';
import type { Ledger, PendingItem } from '../../../src/ledger/ledger.js';
import type { InstanceOutcome } from '../../../src/ledger/outcomes.js';
import type { PipelineContext } from '../../../src/pipeline/context.js';
import { processItem, type RetryPolicy } from '../../../src/pipeline/process-item.js';
import { RenderPool } from '../../../src/pipeline/render-pool.js';
import type { FetchTarget } from '../../../src/source/fetcher.js';
import { openLocalStore } from '../../../src/store/local-store.js';
import { TEST_SPEC } from '../../support/ledger-fixtures.js';
import { recordingLogger } from '../../support/recording-logger.js';
import {
  grayDicom,
  MPEG2_MAIN_PROFILE,
  withTransferSyntaxUid,
} from '../../support/render-dicom.js';

const ROWS = 32;
const COLUMNS = 40;
/** A gradient: not blank, so the quality gates let it through. */
const IMAGE = grayDicom({
  rows: ROWS,
  columns: COLUMNS,
  pixels: Uint16Array.from({ length: ROWS * COLUMNS }, (_, i) => (i * 13) % 4096),
  bitsStored: 12,
  window: { center: 2048, width: 4096 },
});
/** One grey level everywhere: the `blank` gate excludes it. */
const BLANK = grayDicom({
  rows: ROWS,
  columns: COLUMNS,
  pixels: new Uint16Array(ROWS * COLUMNS).fill(700),
  bitsStored: 12,
});
/** Video: a DICOM file the renderer does not decode (UNSUPPORTED_IMAGE). */
const VIDEO = withTransferSyntaxUid(
  grayDicom({ rows: ROWS, columns: COLUMNS, pixels: new Uint8Array(ROWS * COLUMNS) }),
  MPEG2_MAIN_PROFILE,
);

const SPEC: RunSpec = {
  ...TEST_SPEC,
  quality: { gates: ['blank', 'duplicate'], minReportChars: 0 },
};
const KEYS = datasetKeys('ds');
const QUICK: RetryPolicy = { attempts: 3, baseDelayMs: 1 };

function item(overrides: Partial<PendingItem> = {}): PendingItem {
  return {
    ordinal: 7,
    studyId: 's1',
    seriesId: 'se1',
    reportValue: 'No acute cardiopulmonary abnormality.',
    instanceId: 'i1',
    filePath: null,
    fileUrl: 'file:///pacs/i1.dcm',
    attempts: 0,
    ...overrides,
  };
}

/** The ledger calls processItem makes, recorded; `admitImage` answers what `duplicate` says. */
function recordingLedger(duplicate: Exclusion | null = null) {
  const outcomes: { ordinal: number; outcome: InstanceOutcome }[] = [];
  const admitted: string[] = [];
  const ledger = {
    recordOutcome: (_runId: string, ordinal: number, outcome: InstanceOutcome) => {
      outcomes.push({ ordinal, outcome });
      return Promise.resolve();
    },
    admitImage: (_runId: string, image: { fileSha256: string }) => {
      admitted.push(image.fileSha256);
      return Promise.resolve(duplicate);
    },
    recordPseudonyms: () => Promise.resolve(),
    recordPhi: () => Promise.resolve(),
  } as unknown as Ledger;
  return { ledger, outcomes, admitted };
}

/** A fetcher that answers each call with the next of `answers` (the last one repeats). */
function scriptedFetcher(...answers: (Uint8Array | EtlError)[]) {
  const calls: string[] = [];
  return {
    calls,
    fetcher: {
      fetch: (target: FetchTarget) => {
        const answer = answers[Math.min(calls.length, answers.length - 1)];
        calls.push(target.instanceId);
        if (answer instanceof EtlError) return Promise.reject(answer);
        // A copy each time: the render pool moves the bytes it is given.
        return Promise.resolve(new Uint8Array(answer ?? new Uint8Array()));
      },
    },
  };
}

/** Every file under `dir`, relative to it, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .filter((path) => !path.startsWith('.eden-tmp'))
    .sort();
}

describe('processItem', () => {
  let pool: RenderPool;
  let root: string;
  let store: ObjectStore;
  beforeAll(() => {
    pool = RenderPool.create({ threads: 1 });
  });
  afterAll(async () => {
    await pool.close();
  });
  afterEach(async () => {
    await store.close();
    await rm(root, { recursive: true, force: true });
  });

  async function context(
    fetcher: PipelineContext['fetcher'],
    ledger: Ledger,
    storeOverride?: ObjectStore,
  ) {
    root = await mkdtemp(join(tmpdir(), 'eden-process-item-'));
    store = await openLocalStore(root);
    const { logger, records } = recordingLogger();
    const ctx: PipelineContext = {
      ledger,
      store: storeOverride ?? store,
      fetcher,
      renderer: pool,
      logger,
    };
    return { ctx, records };
  }

  it('delivers an instance: its DICOM and image stored, the outcome recorded once', async () => {
    const { ledger, outcomes, admitted } = recordingLedger();
    const { fetcher, calls } = scriptedFetcher(IMAGE);
    const { ctx } = await context(fetcher, ledger);
    const result = await processItem(ctx, 'r', SPEC, KEYS, item(), QUICK);
    expect(calls).toEqual(['i1']);
    expect(await filesUnder(root)).toEqual(['ds/dicom-files/i1.dcm', 'ds/images-jpg/i1.jpg']);
    const stored = await readFile(join(root, 'ds/dicom-files/i1.dcm'));
    expect(stored.equals(IMAGE)).toBe(true);
    const jpeg = await readFile(join(root, 'ds/images-jpg/i1.jpg'));
    expect([...jpeg.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    expect(outcomes).toHaveLength(1);
    const { ordinal, outcome } = outcomes[0] ?? { ordinal: 0, outcome: null };
    expect(ordinal).toBe(7);
    expect(outcome).toMatchObject({
      status: 'delivered',
      attempts: 1,
      error: null,
      dicom: { key: 'ds/dicom-files/i1.dcm', size: IMAGE.byteLength, outcome: 'created' },
      images: [{ key: 'ds/images-jpg/i1.jpg', size: jpeg.byteLength, frame: 1 }],
      recipe: { width: COLUMNS, height: ROWS, windowSource: 'file' },
    });
    expect(Object.keys(outcome?.timings ?? {}).sort()).toEqual(['fetch', 'render', 'store']);
    expect(admitted).toHaveLength(1);
    expect(result).toEqual({ status: 'delivered', bytes: IMAGE.byteLength + jpeg.byteLength });
  });

  it('counts objects already there with the same bytes as delivered, writing nothing', async () => {
    const first = recordingLedger();
    const { ctx } = await context(scriptedFetcher(IMAGE).fetcher, first.ledger);
    await processItem(ctx, 'r', SPEC, KEYS, item(), QUICK);
    const before = await filesUnder(root);
    const jpeg = await readFile(join(root, 'ds/images-jpg/i1.jpg'));
    // A rerun after a crash between storing and recording: the ledger still says pending.
    const again = recordingLedger();
    const result = await processItem(
      { ...ctx, ledger: again.ledger },
      'r',
      SPEC,
      KEYS,
      item(),
      QUICK,
    );
    expect(result.status).toBe('delivered');
    expect(await filesUnder(root)).toEqual(before);
    expect(again.outcomes[0]?.outcome).toMatchObject({
      status: 'delivered',
      dicom: { outcome: 'already-present' },
      images: [{ outcome: 'already-present', size: jpeg.byteLength }],
    });
  });

  it('fails an instance whose key holds other bytes, and leaves those bytes alone', async () => {
    const { ledger, outcomes } = recordingLedger();
    const { ctx } = await context(scriptedFetcher(IMAGE).fetcher, ledger);
    const dicomPath = join(root, 'ds/dicom-files/i1.dcm');
    await mkdir(dirname(dicomPath), { recursive: true });
    await writeFile(dicomPath, 'another tool wrote this');
    const result = await processItem(ctx, 'r', SPEC, KEYS, item(), QUICK);
    expect(result).toEqual({ status: 'failed', bytes: 0 });
    expect(await readFile(dicomPath, 'utf8')).toBe('another tool wrote this');
    expect(await filesUnder(root)).toEqual(['ds/dicom-files/i1.dcm']);
    const outcome = outcomes[0]?.outcome;
    expect(outcome?.status).toBe('failed');
    expect(outcome?.attempts).toBe(1);
    expect(outcome?.error?.code).toBe('OBJECT_CONFLICT');
    expect(outcome?.error?.subject).toBe('ds/dicom-files/i1.dcm');
  });

  it('excludes a blank image with its reason and stores nothing of it', async () => {
    const { ledger, outcomes, admitted } = recordingLedger();
    const { ctx } = await context(scriptedFetcher(BLANK).fetcher, ledger);
    const result = await processItem(ctx, 'r', SPEC, KEYS, item(), QUICK);
    expect(result).toEqual({ status: 'excluded', bytes: 0 });
    expect(await filesUnder(root)).toEqual([]);
    expect(admitted).toEqual([]);
    expect(outcomes[0]?.outcome).toMatchObject({
      status: 'excluded',
      dicom: null,
      images: [],
      exclusion: { reason: 'BLANK_IMAGE' },
      attributes: { modality: 'OT' },
    });
  });

  it('excludes the image the ledger finds a duplicate of', async () => {
    const duplicate: Exclusion = {
      reason: 'DUPLICATE_IMAGE',
      detail: 'same pixels as instance 3',
    };
    const { ledger, outcomes } = recordingLedger(duplicate);
    const { ctx } = await context(scriptedFetcher(IMAGE).fetcher, ledger);
    const result = await processItem(ctx, 'r', SPEC, KEYS, item(), QUICK);
    expect(result.status).toBe('excluded');
    expect(await filesUnder(root)).toEqual([]);
    expect(outcomes[0]?.outcome.exclusion).toEqual(duplicate);
  });

  it('fails a missing file at once, naming the instance, without retrying', async () => {
    const { ledger, outcomes } = recordingLedger();
    const { fetcher, calls } = scriptedFetcher(new EtlError('FILE_MISSING', 'no such file'));
    const { ctx } = await context(fetcher, ledger);
    const result = await processItem(ctx, 'r', SPEC, KEYS, item({ attempts: 2 }), QUICK);
    expect(result).toEqual({ status: 'failed', bytes: 0 });
    expect(calls).toEqual(['i1']);
    const outcome = outcomes[0]?.outcome;
    expect(outcome).toMatchObject({ status: 'failed', attempts: 3, dicom: null, images: [] });
    expect(outcome?.error?.code).toBe('FILE_MISSING');
    expect(outcome?.error?.subject).toBe('instance i1');
  });

  it('delivers the DICOM of an image it cannot render, and records the failure', async () => {
    const { ledger, outcomes } = recordingLedger();
    const { ctx } = await context(scriptedFetcher(VIDEO).fetcher, ledger);
    const result = await processItem(ctx, 'r', SPEC, KEYS, item(), QUICK);
    expect(result).toEqual({ status: 'failed', bytes: VIDEO.byteLength });
    expect(await filesUnder(root)).toEqual(['ds/dicom-files/i1.dcm']);
    const outcome = outcomes[0]?.outcome;
    expect(outcome?.error?.code).toBe('UNSUPPORTED_IMAGE');
    expect(outcome?.dicom).toMatchObject({ key: 'ds/dicom-files/i1.dcm', outcome: 'created' });
  });

  it('retries a transient failure with backoff, then delivers', async () => {
    const { ledger, outcomes } = recordingLedger();
    const busy = new EtlError('FETCH_FAILED', 'PACS answered 503');
    const { fetcher, calls } = scriptedFetcher(busy, busy, IMAGE);
    const { ctx, records } = await context(fetcher, ledger);
    const result = await processItem(ctx, 'r', SPEC, KEYS, item(), QUICK);
    expect(result.status).toBe('delivered');
    expect(calls).toHaveLength(3);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]?.outcome).toMatchObject({ status: 'delivered', attempts: 3 });
    const warnings = records.filter((record) => record.level === 'warn');
    expect(warnings.map((record) => record.attempt)).toEqual([1, 2]);
    expect(warnings[0]?.msg).toMatch(
      /^retrying in \d+ ms: FETCH_FAILED instance i1: PACS answered 503$/,
    );
  });

  it('records a transient failure once its tries are spent', async () => {
    const { ledger, outcomes } = recordingLedger();
    const { fetcher, calls } = scriptedFetcher(new EtlError('FETCH_FAILED', 'timed out'));
    const { ctx } = await context(fetcher, ledger);
    const result = await processItem(ctx, 'r', SPEC, KEYS, item(), { attempts: 2, baseDelayMs: 1 });
    expect(result.status).toBe('failed');
    expect(calls).toHaveLength(2);
    expect(outcomes[0]?.outcome).toMatchObject({ status: 'failed', attempts: 2 });
    expect(outcomes[0]?.outcome.error?.code).toBe('FETCH_FAILED');
  });

  it('throws a spent transient failure back to the queue when told to, leaving it pending', async () => {
    const { ledger, outcomes } = recordingLedger();
    const { fetcher } = scriptedFetcher(new EtlError('FETCH_FAILED', 'timed out'));
    const { ctx } = await context(fetcher, ledger);
    const policy: RetryPolicy = { attempts: 2, baseDelayMs: 1, deferTransient: true };
    const error = await processItem(ctx, 'r', SPEC, KEYS, item(), policy).catch(
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(EtlError);
    expect((error as EtlError).oneLine()).toBe('FETCH_FAILED instance i1: timed out');
    expect(outcomes).toEqual([]);
  });

  it.each([
    ['DESTINATION_UNAVAILABLE', new EtlError('DESTINATION_UNAVAILABLE', 'bucket gone')],
    ['STORE_FAILED', new EtlError('STORE_FAILED', 'disk full', { retryable: false })],
  ])('stops the run on %s, recording nothing: the instance stays pending', async (_code, cause) => {
    const { ledger, outcomes } = recordingLedger();
    const failing: ObjectStore = {
      displayUrl: 'file:///full',
      create: () => Promise.reject(cause),
      replace: () => Promise.reject(cause),
      stat: () => Promise.resolve(null),
      read: () => Promise.resolve(null),
      close: () => Promise.resolve(),
    };
    const { ctx } = await context(scriptedFetcher(IMAGE).fetcher, ledger, failing);
    await expect(processItem(ctx, 'r', SPEC, KEYS, item(), QUICK)).rejects.toMatchObject({
      code: cause.code,
      subject: 'instance i1',
    });
    expect(outcomes).toEqual([]);
  });

  it('refuses to deliver a de-identifying run’s instance without the key', async () => {
    const { ledger, outcomes } = recordingLedger();
    const { fetcher, calls } = scriptedFetcher(IMAGE);
    const { ctx } = await context(fetcher, ledger);
    const deidSpec = {
      ...SPEC,
      deid: { profile: 'basic', quarantine: true },
    } as unknown as RunSpec;
    await expect(processItem(ctx, 'r', deidSpec, KEYS, item(), QUICK)).rejects.toThrow(
      'this run de-identifies but no de-identification key was given',
    );
    expect(calls).toEqual([]);
    expect(outcomes).toEqual([]);
    expect(await filesUnder(root)).toEqual([]);
  });
});
