import type { ErrorCode } from '../domain/errors.js';
import type { SqlClient } from '../domain/sql.js';
import type { RunSpec } from '../domain/run-spec.js';
import type { RunRecord, StoredImage } from './ledger.js';

/**
 * Read-only views of the ledger for people and monitoring (the dashboard, /metrics): progress,
 * throughput, failures, stage timings and the delivered images of each run. Aggregation runs in
 * the state database, so a page costs one query whatever the size of the run.
 */

/** A run as the runs page lists it. */
export interface RunOverview {
  runId: string;
  status: RunRecord['status'];
  spec: RunSpec;
  createdAt: string;
  finishedAt: string | null;
  total: number;
  pending: number;
  delivered: number;
  failed: number;
  /** Kept out by a quality gate or the de-identification quarantine. */
  excluded: number;
  /** Instances that took more than one attempt. */
  retried: number;
  bytes: number;
  /** First and last time an instance settled, ISO; null before the first. */
  firstSettledAt: string | null;
  lastSettledAt: string | null;
  /** Instances settled within the last `windowSeconds` (the live rate). */
  recentlySettled: number;
}

/** One failed instance, with the reason the ledger recorded. */
interface FailedInstance {
  instanceId: string;
  studyId: string;
  attempts: number;
  message: string;
  fileUrl: string | null;
  filePath: string | null;
}

export interface FailureGroup {
  code: ErrorCode;
  count: number;
  /** The first `limit` failures of the code, in selection order. */
  instances: FailedInstance[];
}

/** Milliseconds one stage took per instance. */
export interface StageTiming {
  stage: string;
  count: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

export interface PreviewItem {
  instanceId: string;
  studyId: string;
  images: StoredImage[];
  reportValue: string;
}

/** Totals over every run in the state database, for Prometheus. */
export interface LedgerTotals {
  /** Settled instances by status and error or exclusion code ('' when delivered). */
  outcomes: { status: 'delivered' | 'failed' | 'excluded'; code: string; count: number }[];
  dicomBytes: number;
  imageBytes: number;
  /** Attempts beyond the first, summed. */
  retries: number;
  /** Per stage: instances timed, seconds spent, and recent quantiles [p50, p90, p99] in seconds. */
  stages: { stage: string; count: number; seconds: number; recent: number[] | null }[];
  /** Unfinished runs with their instance counts by status. */
  activeRuns: {
    runId: string;
    pending: number;
    delivered: number;
    failed: number;
    excluded: number;
  }[];
  runsByStatus: { status: string; count: number }[];
}

const iso = (value: Date | null): string | null => (value === null ? null : value.toISOString());
const num = (value: string | number | null): number => (value === null ? 0 : Number(value));

// Bytes of the rendered images of an item, from the images JSON the ledger keeps.
const IMAGE_BYTES = `coalesce((SELECT sum((e ->> 'size')::bigint)
  FROM jsonb_array_elements(coalesce(i.images, '[]'::jsonb)) AS e), 0)`;

export class RunInsights {
  constructor(private readonly sql: SqlClient) {}

  /** Every run, newest first, with its progress. */
  async runs(windowSeconds: number, runId?: string): Promise<RunOverview[]> {
    const { rows } = await this.sql.query<{
      run_id: string;
      status: RunOverview['status'];
      spec: RunSpec;
      created_at: Date;
      finished_at: Date | null;
      total: number | null;
      pending: number | null;
      delivered: number | null;
      failed: number | null;
      excluded: number | null;
      retried: number | null;
      bytes: string | null;
      first_settled: Date | null;
      last_settled: Date | null;
      recent: number | null;
    }>(
      `SELECT r.run_id, r.status, r.spec, r.created_at, r.finished_at, c.*
       FROM eden_runs r
       LEFT JOIN LATERAL (
         SELECT count(*)::int AS total,
           count(*) FILTER (WHERE i.status = 'pending')::int AS pending,
           count(*) FILTER (WHERE i.status = 'delivered')::int AS delivered,
           count(*) FILTER (WHERE i.status = 'failed')::int AS failed,
           count(*) FILTER (WHERE i.status = 'excluded')::int AS excluded,
           count(*) FILTER (WHERE i.attempts > 1)::int AS retried,
           (coalesce(sum(i.dicom_size), 0) + coalesce(sum(${IMAGE_BYTES}), 0))::text AS bytes,
           min(i.updated_at) AS first_settled, max(i.updated_at) AS last_settled,
           count(*) FILTER (WHERE i.updated_at > now() - make_interval(secs => $1))::int AS recent
         FROM eden_items i WHERE i.run_id = r.run_id
       ) AS c ON TRUE
       WHERE $2::text IS NULL OR r.run_id = $2
       ORDER BY r.created_at DESC, r.run_id`,
      [windowSeconds, runId ?? null],
    );
    return rows.map((row) => ({
      runId: row.run_id,
      status: row.status,
      spec: row.spec,
      createdAt: row.created_at.toISOString(),
      finishedAt: iso(row.finished_at),
      total: row.total ?? 0,
      pending: row.pending ?? 0,
      delivered: row.delivered ?? 0,
      failed: row.failed ?? 0,
      excluded: row.excluded ?? 0,
      retried: row.retried ?? 0,
      bytes: num(row.bytes),
      firstSettledAt: iso(row.first_settled),
      lastSettledAt: iso(row.last_settled),
      recentlySettled: row.recent ?? 0,
    }));
  }

  /** The run's failures grouped by code (most frequent first), `limit` instances per code. */
  async failures(runId: string, limit: number): Promise<FailureGroup[]> {
    const { rows } = await this.sql.query<{
      error_code: ErrorCode;
      n: number;
      instances: FailedInstance[];
    }>(
      `SELECT error_code, count(*)::int AS n,
         coalesce(jsonb_agg(jsonb_build_object('instanceId', instance_id, 'studyId', study_id,
            'attempts', attempts, 'message', coalesce(error_message, ''),
            'fileUrl', file_url, 'filePath', file_path) ORDER BY ordinal)
          FILTER (WHERE rank <= $2), '[]'::jsonb) AS instances
       FROM (SELECT *, row_number() OVER (PARTITION BY error_code ORDER BY ordinal) AS rank
             FROM eden_items WHERE run_id = $1 AND status = 'failed') AS f
       GROUP BY error_code ORDER BY n DESC, error_code`,
      [runId, limit],
    );
    return rows.map((row) => ({ code: row.error_code, count: row.n, instances: row.instances }));
  }

  /** Per stage, over the run's instances that reached it. */
  async stageTimings(runId: string): Promise<StageTiming[]> {
    const { rows } = await this.sql.query<{
      stage: string;
      n: number;
      mean: number;
      p50: number;
      p95: number;
      max: number;
    }>(
      `SELECT t.key AS stage, count(*)::int AS n, avg(t.value::float8)::float8 AS mean,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY t.value::float8) AS p50,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY t.value::float8) AS p95,
         max(t.value::float8) AS max
       FROM eden_items i CROSS JOIN LATERAL jsonb_each_text(i.timings) AS t
       WHERE i.run_id = $1 AND i.timings IS NOT NULL
       GROUP BY t.key`,
      [runId],
    );
    const order = ['fetch', 'render', 'store'];
    return rows
      .map((row) => ({
        stage: row.stage,
        count: row.n,
        meanMs: Number(row.mean),
        p50Ms: Number(row.p50),
        p95Ms: Number(row.p95),
        maxMs: Number(row.max),
      }))
      .sort((a, b) => order.indexOf(a.stage) - order.indexOf(b.stage));
  }

  /** One page of the run's instances that have images, in selection order, with their report. */
  async preview(
    runId: string,
    offset: number,
    limit: number,
  ): Promise<{ total: number; items: PreviewItem[] }> {
    const { rows } = await this.sql.query<{
      instance_id: string;
      study_id: string;
      images: StoredImage[];
      report_value: string | null;
      total: number;
    }>(
      `SELECT i.instance_id, i.study_id, i.images, r.report_value, count(*) OVER ()::int AS total
       FROM eden_items i
       LEFT JOIN eden_study_reports r ON r.run_id = i.run_id AND r.study_id = i.study_id
       WHERE i.run_id = $1 AND i.images IS NOT NULL
       ORDER BY i.ordinal OFFSET $2 LIMIT $3`,
      [runId, offset, limit],
    );
    let total = rows[0]?.total;
    if (total === undefined) {
      // A page past the end has no row to carry the total.
      const counted = await this.sql.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM eden_items WHERE run_id = $1 AND images IS NOT NULL',
        [runId],
      );
      total = counted.rows[0]?.n ?? 0;
    }
    return {
      total,
      items: rows.map((row) => ({
        instanceId: row.instance_id,
        studyId: row.study_id,
        images: row.images,
        reportValue: row.report_value ?? '',
      })),
    };
  }

  /** Totals for /metrics; stage quantiles over instances settled in the last `recentSeconds`. */
  async totals(recentSeconds: number): Promise<LedgerTotals> {
    const outcomes = await this.sql.query<{
      status: 'delivered' | 'failed' | 'excluded';
      code: string;
      n: number;
      retries: string | null;
      dicom_bytes: string | null;
      image_bytes: string | null;
    }>(
      `SELECT i.status, coalesce(i.error_code, i.exclusion_reason, '') AS code, count(*)::int AS n,
         sum(greatest(i.attempts - 1, 0))::text AS retries,
         coalesce(sum(i.dicom_size), 0)::text AS dicom_bytes,
         sum(${IMAGE_BYTES})::text AS image_bytes
       FROM eden_items i WHERE i.status <> 'pending'
       GROUP BY i.status, coalesce(i.error_code, i.exclusion_reason, '') ORDER BY 1, 2`,
    );
    const stages = await this.sql.query<{
      stage: string;
      n: number;
      total_ms: number;
      recent: number[] | null;
    }>(
      `SELECT t.key AS stage, count(*)::int AS n, sum(t.value::float8)::float8 AS total_ms,
         percentile_cont(ARRAY[0.5, 0.9, 0.99]::float8[]) WITHIN GROUP (ORDER BY t.value::float8)
           FILTER (WHERE i.updated_at > now() - make_interval(secs => $1)) AS recent
       FROM eden_items i CROSS JOIN LATERAL jsonb_each_text(i.timings) AS t
       WHERE i.timings IS NOT NULL GROUP BY t.key ORDER BY t.key`,
      [recentSeconds],
    );
    const active = await this.sql.query<{
      run_id: string;
      pending: number;
      delivered: number;
      failed: number;
      excluded: number;
    }>(
      `SELECT r.run_id,
         count(i.*) FILTER (WHERE i.status = 'pending')::int AS pending,
         count(i.*) FILTER (WHERE i.status = 'delivered')::int AS delivered,
         count(i.*) FILTER (WHERE i.status = 'failed')::int AS failed,
         count(i.*) FILTER (WHERE i.status = 'excluded')::int AS excluded
       FROM eden_runs r LEFT JOIN eden_items i ON i.run_id = r.run_id
       WHERE r.status <> 'finalized' GROUP BY r.run_id ORDER BY r.run_id`,
    );
    const runs = await this.sql.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM eden_runs GROUP BY status ORDER BY status',
    );
    return {
      outcomes: outcomes.rows.map((row) => ({
        status: row.status,
        code: row.code,
        count: row.n,
      })),
      dicomBytes: outcomes.rows.reduce((sum, row) => sum + num(row.dicom_bytes), 0),
      imageBytes: outcomes.rows.reduce((sum, row) => sum + num(row.image_bytes), 0),
      retries: outcomes.rows.reduce((sum, row) => sum + num(row.retries), 0),
      stages: stages.rows.map((row) => ({
        stage: row.stage,
        count: row.n,
        seconds: Number(row.total_ms) / 1000,
        recent: row.recent === null ? null : row.recent.map((ms) => Number(ms) / 1000),
      })),
      activeRuns: active.rows.map((row) => ({
        runId: row.run_id,
        pending: row.pending,
        delivered: row.delivered,
        failed: row.failed,
        excluded: row.excluded,
      })),
      runsByStatus: runs.rows.map((row) => ({ status: row.status, count: row.n })),
    };
  }
}
