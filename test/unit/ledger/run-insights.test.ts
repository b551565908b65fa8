import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtlError } from '../../../src/domain/errors.js';
import type { SqlClient } from '../../../src/domain/sql.js';
import { Ledger } from '../../../src/ledger/ledger.js';
import { RunInsights } from '../../../src/ledger/run-insights.js';
import { openPglite } from '../../../src/sql/pglite-client.js';
import { page, selectedInstance, TEST_SPEC } from '../../support/ledger-fixtures.js';

const spec = { ...TEST_SPEC, batchSize: 10 };

const instance = (study: number, id: number) =>
  selectedInstance(
    study,
    id,
    [[`report of study ${study}`, null]],
    `https://reader:s3cret@pacs.example/files/${id}.dcm`,
  );

const stored = (key: string, size: number) => ({
  key,
  size,
  md5: 'm',
  sha256: 's',
  outcome: 'created' as const,
});

describe('RunInsights', () => {
  let dir: string;
  let db: SqlClient;
  let insights: RunInsights;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'eden-insights-'));
    db = await openPglite(join(dir, 'state'), 'test state');
    const ledger = await Ledger.open(db);
    insights = new RunInsights(db);
    await ledger.createRun('r1', spec);
    await ledger.writeSelection('r1', spec.batchSize, async (addPage) => {
      await addPage(...page([1, 2, 3, 4, 5].map((id) => instance(id <= 3 ? 1 : 2, id))));
      return 1;
    });
    // 1, 2 delivered (2 after a retry); 3, 4 fail with two codes; 5 stays pending.
    for (const [ordinal, fetch, render, attempts] of [
      [0, 10, 100, 1],
      [1, 30, 300, 2],
    ] as const) {
      const id = ordinal + 1;
      await ledger.recordOutcome('r1', ordinal, {
        status: 'delivered',
        attempts,
        dicom: stored(`p/dicom-files/${id}.dcm`, 1000),
        images: [{ ...stored(`p/images-jpg/${id}.jpg`, 100), frame: 1 }],
        recipe: null,
        attributes: null,
        error: null,
        timings: { fetch, render, store: 5 },
      });
    }
    await ledger.recordOutcome('r1', 2, {
      status: 'failed',
      attempts: 1,
      dicom: null,
      images: [],
      recipe: null,
      attributes: null,
      error: new EtlError('NOT_DICOM', 'no DICM marker', { subject: 'instance 3' }),
      timings: { fetch: 20, render: 1 },
    });
    await ledger.recordOutcome('r1', 3, {
      status: 'failed',
      attempts: 3,
      dicom: null,
      images: [],
      recipe: null,
      attributes: null,
      error: new EtlError('FETCH_FAILED', 'HTTP 503', { subject: 'instance 4' }),
      timings: {},
    });
  });

  afterAll(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists each run with its counts, bytes, retries and recent activity', async () => {
    const [run] = await insights.runs(60);
    expect(run).toMatchObject({
      runId: 'r1',
      status: 'planned',
      total: 5,
      pending: 1,
      delivered: 2,
      failed: 2,
      retried: 2,
      bytes: 2 * 1100,
      recentlySettled: 4,
    });
    expect(run?.firstSettledAt).not.toBeNull();
    expect(await insights.runs(60, 'nope')).toEqual([]);
  });

  it('groups failures by code, most frequent first, with the instances and reasons', async () => {
    const groups = await insights.failures('r1', 10);
    expect(groups.map((group) => [group.code, group.count])).toEqual([
      ['FETCH_FAILED', 1],
      ['NOT_DICOM', 1],
    ]);
    expect(groups[1]?.instances).toEqual([
      {
        instanceId: '3',
        studyId: '1',
        attempts: 1,
        message: 'NOT_DICOM instance 3: no DICM marker',
        fileUrl: 'https://reader:s3cret@pacs.example/files/3.dcm',
        filePath: 'f3',
      },
    ]);
  });

  it('limits the instances listed per code but not the count', async () => {
    const groups = await insights.failures('r1', 0);
    expect(groups.map((group) => [group.count, group.instances])).toEqual([
      [1, []],
      [1, []],
    ]);
  });

  it('summarises the time per stage over the instances that reached it', async () => {
    const timings = await insights.stageTimings('r1');
    expect(timings.map((timing) => timing.stage)).toEqual(['fetch', 'render', 'store']);
    expect(timings[0]).toMatchObject({ count: 3, meanMs: 20, p50Ms: 20, maxMs: 30 });
    expect(timings[2]).toMatchObject({ count: 2, meanMs: 5 });
  });

  it('pages through the instances with images, with their study report', async () => {
    const first = await insights.preview('r1', 0, 1);
    expect(first.total).toBe(2);
    expect(first.items).toEqual([
      {
        instanceId: '1',
        studyId: '1',
        images: [{ ...stored('p/images-jpg/1.jpg', 100), frame: 1 }],
        reportValue: 'report of study 1',
      },
    ]);
    expect((await insights.preview('r1', 1, 1)).items[0]?.instanceId).toBe('2');
    expect(await insights.preview('r1', 5, 1)).toEqual({ total: 2, items: [] });
  });

  it('totals every run for the metrics', async () => {
    const totals = await insights.totals(300);
    expect(totals.outcomes).toEqual([
      { status: 'delivered', code: '', count: 2 },
      { status: 'failed', code: 'FETCH_FAILED', count: 1 },
      { status: 'failed', code: 'NOT_DICOM', count: 1 },
    ]);
    expect(totals).toMatchObject({ dicomBytes: 2000, imageBytes: 200, retries: 1 + 2 });
    const fetch = totals.stages.find((stage) => stage.stage === 'fetch');
    expect(fetch).toMatchObject({ count: 3, seconds: 0.06 });
    expect(fetch?.recent?.[0]).toBeCloseTo(0.02);
    expect(totals.activeRuns).toEqual([
      { runId: 'r1', pending: 1, delivered: 2, failed: 2, excluded: 0 },
    ]);
    expect(totals.runsByStatus).toEqual([{ status: 'planned', count: 1 }]);
  });
});
