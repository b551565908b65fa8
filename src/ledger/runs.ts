import { EtlError } from '../domain/errors.js';
import type { RunSpec } from '../domain/run-spec.js';
import type { SqlClient } from '../domain/sql.js';
import type { RunRecord, RunStatus } from './records.js';

/** The runs table: a run's spec, status and times, one row per run. */

interface RunRow {
  run_id: string;
  status: RunStatus;
  spec: RunSpec;
  pages: number | null;
  total_instances: number | null;
  total_studies: number | null;
  created_at: Date;
  planned_at: Date | null;
  finished_at: Date | null;
  dispatch_round: number;
  cancelled_at: Date | null;
}

export const iso = (value: Date | null): string | null =>
  value === null ? null : value.toISOString();

function toRun(row: RunRow): RunRecord {
  return {
    runId: row.run_id,
    status: row.status,
    spec: row.spec,
    pages: row.pages,
    totalInstances: row.total_instances,
    totalStudies: row.total_studies,
    createdAt: row.created_at.toISOString(),
    plannedAt: iso(row.planned_at),
    finishedAt: iso(row.finished_at),
    dispatchRound: row.dispatch_round,
    cancelledAt: iso(row.cancelled_at),
  };
}

async function oneRun(sql: SqlClient, text: string, values: unknown[]): Promise<RunRecord | null> {
  const { rows } = await sql.query<RunRow>(text, values);
  return rows[0] === undefined ? null : toRun(rows[0]);
}

export function findRun(sql: SqlClient, runId: string): Promise<RunRecord | null> {
  return oneRun(sql, 'SELECT * FROM eden_runs WHERE run_id = $1', [runId]);
}

async function requireRun(sql: SqlClient, runId: string): Promise<RunRecord> {
  const run = await findRun(sql, runId);
  if (run === null) throw new EtlError('RUN_NOT_FOUND', 'run vanished', { subject: runId });
  return run;
}

export function latestUnfinishedRun(sql: SqlClient): Promise<RunRecord | null> {
  return oneRun(
    sql,
    `SELECT * FROM eden_runs WHERE status IN ('planning', 'planned') ORDER BY created_at DESC LIMIT 1`,
    [],
  );
}

export function latestRun(sql: SqlClient): Promise<RunRecord | null> {
  return oneRun(sql, 'SELECT * FROM eden_runs ORDER BY created_at DESC LIMIT 1', []);
}

/** Planned runs not yet finalized nor cancelled, planned at least `minAgeSeconds` ago. */
export async function runsInProgress(sql: SqlClient, minAgeSeconds: number): Promise<RunRecord[]> {
  const { rows } = await sql.query<RunRow>(
    `SELECT * FROM eden_runs WHERE status = 'planned'
       AND planned_at <= now() - make_interval(secs => $1) ORDER BY created_at`,
    [minAgeSeconds],
  );
  return rows.map(toRun);
}

/**
 * Marks a planned (or planning) run cancelled: workers skip its batches and its finalize.
 * Returns null when the run is not in progress (finalized, cancelled, or unknown).
 */
export function cancelRun(sql: SqlClient, runId: string): Promise<RunRecord | null> {
  return oneRun(
    sql,
    `UPDATE eden_runs SET status = 'cancelled', cancelled_at = now()
     WHERE run_id = $1 AND status IN ('planning', 'planned') RETURNING *`,
    [runId],
  );
}

/**
 * Puts the run's failed instances back to pending and opens a new dispatch round, in one
 * transaction; a cancelled run is taken up again too. Returns how many instances went back.
 */
export function requeueFailed(sql: SqlClient, runId: string): Promise<number> {
  return sql.transaction(async (tx) => {
    const reset = await tx.query<{ ordinal: number }>(
      `UPDATE eden_items SET status = 'pending', dicom_key = NULL, dicom_size = NULL,
         dicom_md5 = NULL, dicom_sha256 = NULL, dicom_outcome = NULL, images = NULL,
         recipe = NULL, error_code = NULL, error_message = NULL, updated_at = now()
       WHERE run_id = $1 AND status = 'failed' RETURNING ordinal`,
      [runId],
    );
    await tx.query(
      `UPDATE eden_runs SET status = 'planned', finished_at = NULL, cancelled_at = NULL,
         dispatch_round = dispatch_round + 1
       WHERE run_id = $1 AND status IN ('planned', 'finalized', 'cancelled')`,
      [runId],
    );
    return reset.rows.length;
  });
}

/** Creates the run in `planning` state, or returns the existing one untouched. */
export async function createRun(sql: SqlClient, runId: string, spec: RunSpec): Promise<RunRecord> {
  await sql.query(
    `INSERT INTO eden_runs (run_id, status, spec) VALUES ($1, 'planning', $2)
     ON CONFLICT (run_id) DO NOTHING`,
    [runId, JSON.stringify(spec)],
  );
  const run = await findRun(sql, runId);
  if (run === null)
    throw new EtlError('INTERNAL', 'run vanished after creation', { subject: runId });
  return run;
}

/**
 * Stamps the finish time once, before the dataset files are written: a finalize that is
 * interrupted and run again writes the same card.
 */
export async function stampFinished(sql: SqlClient, runId: string): Promise<RunRecord> {
  await sql.query(
    'UPDATE eden_runs SET finished_at = coalesce(finished_at, now()) WHERE run_id = $1',
    [runId],
  );
  return requireRun(sql, runId);
}

/** Marks the run finalized, after its dataset files are written. */
export async function markFinalized(sql: SqlClient, runId: string): Promise<RunRecord> {
  await sql.query(`UPDATE eden_runs SET status = 'finalized' WHERE run_id = $1`, [runId]);
  return requireRun(sql, runId);
}
