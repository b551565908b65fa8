import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InstanceAttributes } from '../../../src/domain/dataset.js';
import { EtlError } from '../../../src/domain/errors.js';
import type { SqlClient } from '../../../src/domain/sql.js';
import { Ledger } from '../../../src/ledger/ledger.js';
import { LEDGER_VERSION } from '../../../src/ledger/schema.js';
import { openPglite } from '../../../src/sql/pglite-client.js';
import { nearDuplicateOf } from '../../../src/quality/near-duplicates.js';
import { page, selectedInstance, TEST_SPEC } from '../../support/ledger-fixtures.js';

const NO_ATTRIBUTES: InstanceAttributes = {
  sopClassUid: null,
  modality: null,
  imageType: [],
  patientId: null,
  patientSex: null,
  patientAge: null,
  studyDate: null,
  viewPosition: null,
  laterality: null,
  bodyPart: null,
  burnedInAnnotation: null,
  seriesDescription: null,
};

const spec = TEST_SPEC;
const instance = selectedInstance;

describe('Ledger', () => {
  let dir: string;
  let db: SqlClient;
  let ledger: Ledger;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'eden-ledger-'));
    db = await openPglite(join(dir, 'state'), 'test state');
    ledger = await Ledger.open(db);
  });

  afterAll(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('freezes a selection with ordinals, batches and one report per study', async () => {
    await ledger.createRun('r1', spec);
    await ledger.writeSelection('r1', spec.batchSize, async (addPage) => {
      const fields: [string, string | null][] = [
        ['second', '2024-01-01T10:00:00.000Z'],
        ['first', '2024-01-01T09:00:00.000Z'],
      ];
      await addPage(...page([instance(1, 11, fields), instance(1, 12, fields)]));
      await addPage(...page([instance(2, 21, [])]));
      return 2;
    });
    const run = await ledger.findRun('r1');
    expect(run).toMatchObject({ status: 'planned', pages: 2, totalInstances: 3, totalStudies: 2 });
    expect(await ledger.batchNumbers('r1', true)).toEqual([0, 1]);
    expect((await ledger.pendingItems('r1', 0)).map((item) => item.instanceId)).toEqual([
      '11',
      '12',
    ]);
    expect(await ledger.latestUnfinishedRun()).toMatchObject({ runId: 'r1' });
  });

  it('records outcomes once, counts them and builds dataset rows', async () => {
    const stored = (key: string) => ({
      key,
      size: 10,
      md5: 'm',
      sha256: 's',
      outcome: 'created' as const,
    });
    await ledger.recordOutcome('r1', 0, {
      status: 'delivered',
      attempts: 1,
      dicom: stored('p/dicom-files/11.dcm'),
      images: [{ ...stored('p/images-jpg/11.jpg'), outcome: 'already-present', frame: 1 }],
      recipe: null,
      attributes: { ...NO_ATTRIBUTES, modality: 'CR', imageType: ['ORIGINAL', 'PRIMARY'] },
      error: null,
      timings: { fetch: 3, render: 20, store: 5 },
    });
    await ledger.recordOutcome('r1', 1, {
      status: 'failed',
      attempts: 3,
      dicom: null,
      images: [],
      recipe: null,
      attributes: null,
      error: new EtlError('NOT_DICOM', 'no DICM marker', { subject: 'instance 12' }),
      timings: { fetch: 1 },
    });
    // A second record for a settled item changes nothing (exactly once).
    await ledger.recordOutcome('r1', 0, {
      status: 'failed',
      attempts: 9,
      dicom: null,
      images: [],
      recipe: null,
      attributes: null,
      error: new EtlError('INTERNAL', 'late duplicate'),
      timings: { fetch: 1 },
    });
    expect(await ledger.batchNumbers('r1', true)).toEqual([1]);
    const counts = await ledger.counts('r1');
    expect(counts).toMatchObject({
      total: 3,
      pending: 1,
      delivered: 1,
      failed: 1,
      alreadyPresent: 1,
      dicomBytes: 10,
      imageBytes: 10,
      failuresByCode: { NOT_DICOM: 1 },
      failureExamples: { NOT_DICOM: 'NOT_DICOM instance 12: no DICM marker' },
    });
    await expect(ledger.datasetRows('r1', (key) => key)).rejects.toMatchObject({
      code: 'INTERNAL',
    });
    await ledger.recordOutcome('r1', 2, {
      status: 'failed',
      attempts: 1,
      dicom: null,
      images: [],
      recipe: null,
      attributes: null,
      error: new EtlError('FILE_MISSING', 'gone'),
      timings: { fetch: 1 },
    });
    const rows = await ledger.datasetRows('r1', (key) => key.slice(2));
    expect(rows.map((row) => [row.instanceId, row.status, row.dicomKey])).toEqual([
      ['11', 'delivered', 'dicom-files/11.dcm'],
      ['12', 'failed', null],
      ['21', 'failed', null],
    ]);
    expect(rows[0]).toMatchObject({
      reportValue: 'first\n\nsecond',
      fieldCreatedAt: '2024-01-01T10:00:00.000Z',
      downloaded: true,
    });
    expect(rows[0]?.attributes).toMatchObject({
      modality: 'CR',
      imageType: ['ORIGINAL', 'PRIMARY'],
    });
    expect(rows[1]?.attributes).toBeNull();
    expect(rows[1]?.errorMessage).toBe('NOT_DICOM instance 12: no DICM marker');
    expect(rows[2]).toMatchObject({ reportValue: '', fieldCreatedAt: null, downloaded: false });
  });

  it('stamps the finish time once', async () => {
    const first = await ledger.stampFinished('r1');
    const again = await ledger.stampFinished('r1');
    expect(again.finishedAt).toBe(first.finishedAt);
    expect((await ledger.markFinalized('r1')).status).toBe('finalized');
    expect(await ledger.latestUnfinishedRun()).toBeNull();
  });

  it('re-queues failed instances in a new dispatch round, and cancels only runs in progress', async () => {
    await ledger.markFinalized('r1');
    expect(await ledger.cancelRun('r1')).toBeNull();
    expect(await ledger.runsInProgress(0)).toEqual([]);
    const activity = await ledger.activity('r1', 60);
    expect(activity.recentlySettled).toBe(3);
    expect(activity.firstSettledAt).not.toBeNull();

    // Instances 12 and 21 failed: back to pending, their error gone, a new round opened.
    expect(await ledger.requeueFailed('r1')).toBe(2);
    const run = await ledger.findRun('r1');
    expect(run).toMatchObject({ status: 'planned', dispatchRound: 2, finishedAt: null });
    expect(await ledger.counts('r1')).toMatchObject({ pending: 2, delivered: 1, failed: 0 });
    expect(await ledger.batchNumbers('r1', true)).toEqual([0, 1]);
    expect((await ledger.runsInProgress(0)).map((entry) => entry.runId)).toEqual(['r1']);
    // Planned just now: too young for the lost-job check, which leaves it to its own command.
    expect(await ledger.runsInProgress(3600)).toEqual([]);

    const cancelled = await ledger.cancelRun('r1');
    expect(cancelled).toMatchObject({ status: 'cancelled', dispatchRound: 2 });
    expect(cancelled?.cancelledAt).not.toBeNull();
    expect(await ledger.latestUnfinishedRun()).toBeNull();
    expect(await ledger.latestRun()).toMatchObject({ runId: 'r1', status: 'cancelled' });
    // Retry takes a cancelled run up again; nothing failed, so nothing is reset.
    expect(await ledger.requeueFailed('r1')).toBe(0);
    expect(await ledger.findRun('r1')).toMatchObject({
      status: 'planned',
      dispatchRound: 3,
      cancelledAt: null,
    });
  });

  it('refuses a selection that names one instance twice', async () => {
    await ledger.createRun('r2', spec);
    await expect(
      ledger.writeSelection('r2', 2, async (addPage) => {
        await addPage(...page([instance(1, 11, []), instance(2, 11, [])]));
        return 1;
      }),
    ).rejects.toMatchObject({ code: 'QUERY_INVALID', subject: 'instance 11' });
    // The failed plan left nothing behind: the run is still planning, with no items.
    expect(await ledger.findRun('r2')).toMatchObject({ status: 'planning', totalInstances: null });
    expect(await ledger.batchNumbers('r2', false)).toEqual([]);
  });

  it('refuses a state database written by another ledger version, naming both', async () => {
    const other = await openPglite(join(dir, 'old-state'), 'old state');
    try {
      await other.exec(`CREATE TABLE eden_meta (key text PRIMARY KEY, value text NOT NULL);
        INSERT INTO eden_meta VALUES ('ledger_version', '1')`);
      await expect(Ledger.open(other)).rejects.toMatchObject({
        code: 'STATE_UNAVAILABLE',
        message: expect.stringContaining(`ledger 1, this one reads ${LEDGER_VERSION}`) as unknown,
      });
    } finally {
      await other.close();
    }
  });

  it('admits images once, finding exact and near duplicates across series of the run', async () => {
    await ledger.createRun('dups', spec);
    await ledger.writeSelection('dups', spec.batchSize, async (addPage) => {
      await addPage(...page([instance(5, 51, [['r', null]]), instance(5, 52, [['r', null]])]));
      await addPage(...page([instance(6, 61, [['r', null]]), instance(6, 62, [['r', null]])]));
      return 2;
    });
    const hash = (bits: string) => bits.padStart(64, '0');
    const grey = (level: number) => Buffer.alloc(272, level).toString('base64');
    const image = (
      ordinal: number,
      seriesId: string,
      file: string,
      dHash: string,
      thumbnail = grey(100),
    ) => ({
      ordinal,
      seriesId,
      patientId: ordinal < 2 ? 'P5' : 'P6',
      fileSha256: file,
      dHash,
      thumbnail,
    });
    // The pipeline's decision: 7 dHash bits and 2 grey levels, as the near-duplicate gate.
    const limits = { bits: 7, grey: 2 };
    const admit = (candidate: ReturnType<typeof image>) =>
      ledger.admitImage('dups', candidate, {
        exact: true,
        near: nearDuplicateOf(candidate, limits),
      });
    expect(await admit(image(0, '50', 'x', hash('ff')))).toBeNull();
    // Admitting the same instance again (a retry) is not a duplicate of itself.
    expect(await admit(image(0, '50', 'x', hash('ff')))).toBeNull();
    expect(await admit(image(1, '50', 'x', hash('ff')))).toEqual({
      reason: 'DUPLICATE_IMAGE',
      detail: 'same pixels as instance 51 (the same patient)',
    });
    // Close dHash but a thumbnail 3 grey levels off: another image that merely looks alike.
    expect(await admit(image(2, '60', 'y', hash('f8'), grey(103)))).toBeNull();
    // 3 bits from instance 51's dHash and a thumbnail 1 level off, other file, series, patient.
    expect(await admit(image(2, '60', 'y', hash('f8'), grey(101)))).toEqual({
      reason: 'NEAR_DUPLICATE',
      detail: 'dHash 3 bits and thumbnail 1.00 grey levels from instance 51 (another patient)',
    });
    // Near duplicates within one series are slices of one acquisition: admitted.
    expect(await admit(image(3, '50', 'z', hash('fe')))).toBeNull();
    // Far apart, or with the near check off: admitted.
    expect(await admit(image(2, '60', 'y', hash('f'.repeat(20))))).toBeNull();
    expect(
      await ledger.admitImage('dups', image(1, '51', 'w', hash('ff')), { exact: true, near: null }),
    ).toBeNull();
  });

  it('records exclusions with their reason and counts them apart', async () => {
    await ledger.recordOutcome('dups', 1, {
      status: 'excluded',
      attempts: 1,
      dicom: null,
      images: [],
      recipe: null,
      attributes: NO_ATTRIBUTES,
      error: null,
      timings: {},
      exclusion: { reason: 'DUPLICATE_IMAGE', detail: 'same pixels as instance 51' },
    });
    const counts = await ledger.counts('dups');
    expect(counts).toMatchObject({
      excluded: 1,
      failed: 0,
      excludedByReason: { DUPLICATE_IMAGE: 1 },
    });
    const pending = await ledger.pendingItems('dups', 0);
    expect(pending.map((item) => [item.instanceId, item.seriesId, item.reportValue])).toEqual([
      ['51', '50', 'r'],
    ]);
  });
});
