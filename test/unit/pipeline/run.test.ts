import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitKeyFingerprint } from '../../../src/dataset/patient-splits.js';
import { EtlError } from '../../../src/domain/errors.js';
import type { ObjectStore } from '../../../src/domain/object-store.js';
import type { RunSpec } from '../../../src/domain/run-spec.js';
import type { SqlClient } from '../../../src/domain/sql.js';
import type { RunCounts, RunRecord } from '../../../src/ledger/ledger.js';
import type { PipelineContext } from '../../../src/pipeline/context.js';
import { RunStopped } from '../../../src/pipeline/limiter.js';
import type { ItemResult } from '../../../src/pipeline/process-item.js';
import { runPipeline, type RunRequest } from '../../../src/pipeline/run.js';
import type { FetchTarget } from '../../../src/source/fetcher.js';
import { openPglite } from '../../../src/sql/pglite-client.js';
import { pipelineHarness } from '../../support/pipeline-harness.js';
import { TEST_SPEC } from '../../support/ledger-fixtures.js';
import { recordingLogger, type LogRecord } from '../../support/recording-logger.js';
import { grayDicom } from '../../support/render-dicom.js';
import { parseCsv } from '../../support/rfc4180.js';

const SIDE = 16;
/** Instances 1..5 of the fake PACS below; each a distinct gradient. */
const FILES = new Map(
  [1, 2, 3, 4, 5].map((id) => [
    String(id),
    grayDicom({
      rows: SIDE,
      columns: SIDE,
      pixels: Uint16Array.from({ length: SIDE * SIDE }, (_, i) => (i * 11 + id * 131) % 4096),
      bitsStored: 12,
      window: { center: 2048, width: 4096 },
    }),
  ]),
);

const PACS = `
  CREATE TABLE inst (id text, study_id int, series_id text, path text);
  CREATE TABLE field (study_id int, value text, created_at timestamptz);
  INSERT INTO inst VALUES ('1', 1, 's1', 'p1'), ('2', 1, 's1', 'p2'), ('3', 2, 's2', 'p3'),
    ('4', 3, 's3', 'p4'), ('5', 4, 's4', 'p5');
  INSERT INTO field SELECT s, 'Report of study ' || s, '2024-01-01T09:00Z' FROM generate_series(1, 4) s;
`;
const QUERY_TEXT = `SELECT i.study_id, i.series_id, 1 AS series_number, i.id AS instance_id,
  1 AS instance_number, i.path AS file_path, 'file:///' || i.path AS file_url,
  f.value AS report_value, f.created_at AS field_created_at
FROM inst i LEFT JOIN field f ON f.study_id = i.study_id
WHERE i.study_id <= :studies`;

const SPLIT_KEY = 'run-test-split-key-0123456789';
const SPEC: RunSpec = {
  ...TEST_SPEC,
  query: { name: 'q.sql', path: 'q.sql', sha256: 'x', text: QUERY_TEXT },
  queryParameters: { studies: 4, seed: '0' },
  prefix: 'ds',
  batchSize: 2,
  quality: { gates: ['blank'], minReportChars: 0 },
  splits: { ...TEST_SPEC.splits, keyFingerprint: splitKeyFingerprint(SPLIT_KEY) },
};

describe('runPipeline', () => {
  let pacs: SqlClient;

  const h = pipelineHarness('run');
  // The PACS beside the harness's ledger, opened once for the file as well.
  beforeAll(async () => {
    pacs = await openPglite(join(h.dir, 'pacs'), 'test PACS');
    await pacs.exec(PACS);
  });
  afterAll(async () => {
    await pacs.close();
  });

  /** The shared PACS, counting how often it is opened and closed (its real close is afterAll). */
  function pacsSource() {
    const uses = { opened: 0, closed: 0 };
    const openSource = () => {
      uses.opened += 1;
      return Promise.resolve<SqlClient>({
        ...pacs,
        close: () => {
          uses.closed += 1;
          return Promise.resolve();
        },
      });
    };
    return { uses, openSource };
  }

  function fetcher() {
    const calls: string[] = [];
    return {
      calls,
      fetcher: {
        fetch: (target: FetchTarget) => {
          calls.push(target.instanceId);
          const bytes = FILES.get(target.instanceId);
          if (bytes === undefined) return Promise.reject(new Error('unknown instance'));
          return Promise.resolve(new Uint8Array(bytes));
        },
      },
    };
  }

  function context(
    fetch: PipelineContext['fetcher'],
    wrap: (inner: ObjectStore) => ObjectStore = (inner) => inner,
  ): { ctx: PipelineContext; records: LogRecord[] } {
    const { logger, records } = recordingLogger();
    return {
      ctx: { ledger: h.ledger, store: wrap(h.store), fetcher: fetch, renderer: h.pool, logger },
      records,
    };
  }

  function request(runId: string, overrides: Partial<RunRequest> = {}): RunRequest {
    return {
      runId,
      spec: SPEC,
      openSource: pacsSource().openSource,
      concurrency: 2,
      retry: { attempts: 1, baseDelayMs: 1 },
      toolVersion: '1.2.3-test',
      splitKey: SPLIT_KEY,
      ...overrides,
    };
  }

  async function csvStatuses(): Promise<string[][]> {
    const [header, ...records] = parseCsv(
      await readFile(join(h.root, 'ds/dicom-reports-extracted-sample.csv'), 'utf8'),
    );
    const id = header?.indexOf('instance_id') ?? -1;
    const status = header?.indexOf('status') ?? -1;
    return records.map((record) => [record[id] ?? '', record[status] ?? '']);
  }

  const hasCard = () =>
    readdir(join(h.root, 'ds')).then(
      (names) => names.includes('README-dataset.md'),
      () => false,
    );

  it('plans, processes every batch and finalizes a new run', async () => {
    await h.freshStore();
    const { uses, openSource } = pacsSource();
    const { fetcher: fetch, calls } = fetcher();
    const { ctx, records } = context(fetch);
    const started: [RunRecord, RunCounts][] = [];
    const items: ItemResult[] = [];
    const result = await runPipeline(
      ctx,
      request('fresh', {
        openSource,
        onStart: (run, counts) => started.push([run, counts]),
        onItem: (item) => items.push(item),
      }),
    );
    expect(result).toMatchObject({ state: 'completed', resumed: false });
    expect(result.run.status).toBe('finalized');
    expect(result.counts).toMatchObject({ total: 5, delivered: 5, pending: 0, failed: 0 });
    expect(result.failuresKey).toBe('ds/failures.csv');
    expect(calls.sort()).toEqual(['1', '2', '3', '4', '5']);
    expect(items.map((item) => item.status)).toEqual(Array(5).fill('delivered'));
    expect(started).toHaveLength(1);
    expect(started[0]?.[0]).toMatchObject({ status: 'planned', totalInstances: 5 });
    expect(started[0]?.[1]).toMatchObject({ total: 5, pending: 5, delivered: 0 });
    expect(uses).toEqual({ opened: 1, closed: 1 });
    expect(await csvStatuses()).toEqual([
      ['1', 'delivered'],
      ['2', 'delivered'],
      ['3', 'delivered'],
      ['4', 'delivered'],
      ['5', 'delivered'],
    ]);
    expect(await hasCard()).toBe(true);
    expect(records.some((record) => record.msg === 'planning')).toBe(true);
    const { planMs, processMs, finalizeMs, totalMs } = result.timings;
    expect(Math.min(planMs, processMs, finalizeMs)).toBeGreaterThanOrEqual(0);
    expect(totalMs).toBeGreaterThanOrEqual(planMs + processMs + finalizeMs - 1);
  });

  it('does nothing for a run already finalized', async () => {
    await h.freshStore();
    const first = context(fetcher().fetcher);
    await runPipeline(first.ctx, request('done'));
    const card = await readFile(join(h.root, 'ds/README-dataset.md'));
    const { uses, openSource } = pacsSource();
    const { fetcher: fetch, calls } = fetcher();
    const items: ItemResult[] = [];
    const again = await runPipeline(
      context(fetch).ctx,
      request('done', { openSource, onItem: (item) => items.push(item) }),
    );
    expect(again).toMatchObject({ state: 'already-complete', resumed: true });
    expect(again.counts).toMatchObject({ total: 5, delivered: 5 });
    expect(again.timings).toMatchObject({ planMs: 0, processMs: 0, finalizeMs: 0 });
    expect(uses.opened).toBe(0);
    expect(calls).toEqual([]);
    expect(items).toEqual([]);
    expect((await readFile(join(h.root, 'ds/README-dataset.md'))).equals(card)).toBe(true);
  });

  it('resumes a run the destination stopped, from the h.ledger, without planning again', async () => {
    await h.freshStore();
    const gone = new EtlError('DESTINATION_UNAVAILABLE', 'bucket gone');
    const first = fetcher();
    // The destination refuses instance 3's DICOM: the run stops with it still pending.
    const { ctx } = context(first.fetcher, (inner) => ({
      ...inner,
      create: (key, bytes, contentType) =>
        key.endsWith('/3.dcm') ? Promise.reject(gone) : inner.create(key, bytes, contentType),
    }));
    await expect(runPipeline(ctx, request('resume', { concurrency: 1 }))).rejects.toMatchObject({
      code: 'DESTINATION_UNAVAILABLE',
    });
    expect(await hasCard()).toBe(false);
    const stopped = await h.ledger.counts('resume');
    expect(stopped.pending).toBeGreaterThan(0);
    expect(stopped.failed).toBe(0);
    expect((await h.ledger.findRun('resume'))?.status).toBe('planned');

    const { uses, openSource } = pacsSource();
    const second = fetcher();
    const result = await runPipeline(
      context(second.fetcher).ctx,
      request('resume', { openSource }),
    );
    expect(result).toMatchObject({ state: 'completed', resumed: true });
    expect(result.counts).toMatchObject({ total: 5, delivered: 5, pending: 0 });
    expect(uses.opened).toBe(0);
    // Only what was still pending is fetched again.
    expect(second.calls).toHaveLength(stopped.pending);
    expect(second.calls).toContain('3');
    expect(first.calls.filter((id) => second.calls.includes(id))).toEqual(['3']);
    expect((await csvStatuses()).map(([, status]) => status)).toEqual(Array(5).fill('delivered'));
  });

  it('stops before starting any instance when the signal is already aborted', async () => {
    await h.freshStore();
    const { fetcher: fetch, calls } = fetcher();
    const controller = new AbortController();
    controller.abort();
    await expect(
      runPipeline(context(fetch).ctx, request('aborted', { signal: controller.signal })),
    ).rejects.toBeInstanceOf(RunStopped);
    expect(calls).toEqual([]);
    expect(await h.ledger.findRun('aborted')).toMatchObject({
      status: 'planned',
      finishedAt: null,
    });
    expect(await h.ledger.counts('aborted')).toMatchObject({ total: 5, pending: 5 });
    expect(await hasCard()).toBe(false);
  });

  it('refuses a cancelled run, doing nothing', async () => {
    await h.freshStore();
    const controller = new AbortController();
    controller.abort();
    await runPipeline(
      context(fetcher().fetcher).ctx,
      request('cancelled', { signal: controller.signal }),
    ).catch(() => undefined);
    await h.ledger.cancelRun('cancelled');
    const { uses, openSource } = pacsSource();
    const { fetcher: fetch, calls } = fetcher();
    await expect(
      runPipeline(context(fetch).ctx, request('cancelled', { openSource })),
    ).rejects.toMatchObject({ code: 'RUN_CANCELLED', subject: 'cancelled' });
    expect(uses.opened).toBe(0);
    expect(calls).toEqual([]);
    expect(await h.ledger.counts('cancelled')).toMatchObject({ pending: 5 });
  });

  it('refuses an empty selection, after closing the source', async () => {
    await h.freshStore();
    const { uses, openSource } = pacsSource();
    const none = { ...SPEC, queryParameters: { studies: 0, seed: '0' } };
    const error = await runPipeline(
      context(fetcher().fetcher).ctx,
      request('empty', { spec: none, openSource }),
    ).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(EtlError);
    expect((error as EtlError).code).toBe('QUERY_INVALID');
    expect((error as EtlError).message).toContain('the selection is empty');
    expect(uses).toEqual({ opened: 1, closed: 1 });
    expect(await hasCard()).toBe(false);
  });

  it('plans an empty selection again once the PACS has the instances', async () => {
    await h.freshStore();
    await pacs.exec('CREATE TABLE arrived (id text)');
    const late = {
      ...SPEC,
      query: {
        ...SPEC.query,
        text: `${QUERY_TEXT} AND i.id IN (SELECT id FROM arrived)`,
        sha256: 'late',
      },
    };
    const { uses, openSource } = pacsSource();
    await expect(
      runPipeline(context(fetcher().fetcher).ctx, request('late', { spec: late, openSource })),
    ).rejects.toMatchObject({ code: 'QUERY_INVALID' });
    // The hint says to check the PACS: once it holds the instances, the same command runs.
    await pacs.exec(`INSERT INTO arrived VALUES ('1'), ('3')`);
    const { ctx, records } = context(fetcher().fetcher);
    const result = await runPipeline(ctx, request('late', { spec: late, openSource }));
    expect(result).toMatchObject({ state: 'completed', resumed: true });
    expect(result.counts).toMatchObject({ total: 2, delivered: 2 });
    expect(uses).toEqual({ opened: 2, closed: 2 });
    expect(records.map((record) => record.msg)).toContain(
      'planning again (the selection was empty)',
    );
  });

  it('closes the source when planning fails', async () => {
    await h.freshStore();
    const { uses, openSource } = pacsSource();
    const broken = { ...SPEC, query: { ...SPEC.query, text: 'SELECT 1 AS study_id' } };
    await expect(
      runPipeline(context(fetcher().fetcher).ctx, request('broken', { spec: broken, openSource })),
    ).rejects.toMatchObject({ code: 'QUERY_INVALID' });
    expect(uses).toEqual({ opened: 1, closed: 1 });
    expect(await h.ledger.findRun('broken')).toBeNull();
  });

  it('plans again a run that was interrupted while planning', async () => {
    await h.freshStore();
    await h.ledger.createRun('interrupted', SPEC);
    const { uses, openSource } = pacsSource();
    const { ctx, records } = context(fetcher().fetcher);
    const result = await runPipeline(ctx, request('interrupted', { openSource }));
    expect(result).toMatchObject({ state: 'completed', resumed: true });
    expect(result.counts).toMatchObject({ total: 5, delivered: 5 });
    expect(uses.opened).toBe(1);
    expect(records.map((record) => record.msg)).toContain('planning again (interrupted)');
  });
});
