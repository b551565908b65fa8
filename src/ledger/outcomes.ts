import type { InstanceAttributes } from '../domain/dataset.js';
import { EtlError, type ErrorCode } from '../domain/errors.js';
import type { Exclusion, ExclusionReason } from '../domain/exclusions.js';
import type { RenderRecipe } from '../domain/render.js';
import type { SqlClient } from '../domain/sql.js';
import type { RunActivity, RunCounts, StageTimings, StoredImage, StoredRecord } from './records.js';
import { iso } from './runs.js';

/** Each instance's outcome: recorded once per attempt, counted for status and the card. */

/** What one attempt at an instance came to. */
export interface InstanceOutcome {
  status: 'delivered' | 'failed' | 'excluded';
  attempts: number;
  dicom: StoredRecord | null;
  /** In frame order; empty when nothing was rendered. */
  images: readonly StoredImage[];
  recipe: RenderRecipe | null;
  /** Header facts; null when the file could not be fetched or its header read. */
  attributes: InstanceAttributes | null;
  error: EtlError | null;
  timings: StageTimings;
  /** Set with status 'excluded': the gate that kept the instance out. */
  exclusion?: Exclusion | null;
}

/** Records an instance's outcome in one statement. Only a pending item changes. */
export async function recordOutcome(
  sql: SqlClient,

  runId: string,
  ordinal: number,
  outcome: InstanceOutcome,
): Promise<void> {
  const { dicom, images, error } = outcome;
  await sql.query(
    `UPDATE eden_items SET status = $3, attempts = $4,
       dicom_key = $5, dicom_size = $6, dicom_md5 = $7, dicom_sha256 = $8, dicom_outcome = $9,
       images = $10, recipe = $11, error_code = $12, error_message = $13, attributes = $14,
       timings = $15, exclusion_reason = $16, exclusion_detail = $17, updated_at = now()
     WHERE run_id = $1 AND ordinal = $2 AND status = 'pending'`,
    [
      runId,
      ordinal,
      outcome.status,
      outcome.attempts,
      dicom?.key ?? null,
      dicom?.size ?? null,
      dicom?.md5 ?? null,
      dicom?.sha256 ?? null,
      dicom?.outcome ?? null,
      images.length === 0 ? null : JSON.stringify(images),
      outcome.recipe === null ? null : JSON.stringify(outcome.recipe),
      error?.code ?? null,
      error === null ? null : error.oneLine(),
      outcome.attributes === null ? null : JSON.stringify(outcome.attributes),
      JSON.stringify(outcome.timings),
      outcome.exclusion?.reason ?? null,
      outcome.exclusion?.detail ?? null,
    ],
  );
}

export async function counts(sql: SqlClient, runId: string): Promise<RunCounts> {
  const { rows } = await sql.query<{
    total: number;
    pending: number;
    delivered: number;
    failed: number;
    excluded: number;
    already_present: number;
    dicom_bytes: string | number | null;
    image_bytes: string | number | null;
  }>(
    `SELECT count(*)::int AS total,
       count(*) FILTER (WHERE status = 'pending')::int AS pending,
       count(*) FILTER (WHERE status = 'delivered')::int AS delivered,
       count(*) FILTER (WHERE status = 'failed')::int AS failed,
       count(*) FILTER (WHERE status = 'excluded')::int AS excluded,
       (count(*) FILTER (WHERE dicom_outcome = 'already-present')
         + coalesce(sum(image.present), 0))::int AS already_present,
       coalesce(sum(dicom_size), 0)::text AS dicom_bytes,
       coalesce(sum(image.bytes), 0)::text AS image_bytes
     FROM eden_items
     LEFT JOIN LATERAL (
       SELECT sum((e ->> 'size')::bigint) AS bytes,
         count(*) FILTER (WHERE e ->> 'outcome' = 'already-present') AS present
       FROM jsonb_array_elements(coalesce(images, '[]'::jsonb)) AS e
     ) AS image ON TRUE
     WHERE run_id = $1`,
    [runId],
  );
  const codes = await sql.query<{ error_code: ErrorCode; n: number; example: string }>(
    `SELECT error_code, count(*)::int AS n,
       (array_agg(error_message ORDER BY ordinal))[1] AS example
     FROM eden_items
     WHERE run_id = $1 AND status = 'failed' GROUP BY error_code ORDER BY error_code`,
    [runId],
  );
  const reasons = await sql.query<{ exclusion_reason: ExclusionReason; n: number }>(
    `SELECT exclusion_reason, count(*)::int AS n FROM eden_items
     WHERE run_id = $1 AND status = 'excluded' GROUP BY exclusion_reason ORDER BY exclusion_reason`,
    [runId],
  );
  const row = rows[0];
  if (row === undefined) throw new EtlError('INTERNAL', 'count query returned no row');
  return {
    total: row.total,
    pending: row.pending,
    delivered: row.delivered,
    failed: row.failed,
    excluded: row.excluded,
    excludedByReason: Object.fromEntries(
      reasons.rows.map((reason) => [reason.exclusion_reason, reason.n]),
    ),
    alreadyPresent: row.already_present,
    dicomBytes: Number(row.dicom_bytes),
    imageBytes: Number(row.image_bytes),
    failuresByCode: Object.fromEntries(codes.rows.map((code) => [code.error_code, code.n])),
    failureExamples: Object.fromEntries(codes.rows.map((code) => [code.error_code, code.example])),
  };
}

/** The state database's clock (ms since the epoch): the one `updated_at` is stamped with. */
export async function clockMs(sql: SqlClient): Promise<number> {
  const { rows } = await sql.query<{ now: Date }>('SELECT now() AS now');
  return rows[0]?.now.getTime() ?? Date.now();
}

/** When the run's instances settled: the first, the last, and how many lately. */
export async function activity(
  sql: SqlClient,
  runId: string,
  windowSeconds: number,
): Promise<RunActivity> {
  const { rows } = await sql.query<{
    first: Date | null;
    last: Date | null;
    recent: number;
  }>(
    `SELECT min(updated_at) AS first, max(updated_at) AS last,
       count(*) FILTER (WHERE updated_at > now() - make_interval(secs => $2))::int AS recent
     FROM eden_items WHERE run_id = $1 AND status <> 'pending'`,
    [runId, windowSeconds],
  );
  const row = rows[0];
  return {
    firstSettledAt: iso(row?.first ?? null),
    lastSettledAt: iso(row?.last ?? null),
    recentlySettled: row?.recent ?? 0,
    windowSeconds,
  };
}
