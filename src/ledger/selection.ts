import type { SelectedInstance, StudyReport } from '../domain/dataset.js';
import { EtlError } from '../domain/errors.js';
import type { SqlClient } from '../domain/sql.js';
import type { PendingItem } from './records.js';

/** The frozen selection: each instance's ordinal and batch, and each study's report. */

/** Adds one page of the selection and its studies' reports (a study seen before is kept). */
export type AddPage = (
  instances: SelectedInstance[],
  reports: readonly StudyReport[],
) => Promise<void>;

/**
 * Writes a whole selection in one transaction: either the run is planned with its complete
 * selection, or (killed half-way) it stays in `planning` with none, and planning restarts.
 */
export async function writeSelection(
  sql: SqlClient,
  runId: string,
  batchSize: number,
  read: (addPage: AddPage) => Promise<number>,
): Promise<void> {
  await sql.transaction(async (tx) => {
    await tx.query('DELETE FROM eden_items WHERE run_id = $1', [runId]);
    await tx.query('DELETE FROM eden_study_reports WHERE run_id = $1', [runId]);
    let ordinal = 0;
    const pages = await read(async (instances, reports) => {
      await addPage(tx, runId, ordinal, batchSize, instances, reports);
      ordinal += instances.length;
    });
    await tx.query(
      `UPDATE eden_runs SET status = 'planned', planned_at = now(), pages = $2,
         total_instances = (SELECT count(*) FROM eden_items WHERE run_id = $1),
         total_studies = (SELECT count(*) FROM eden_study_reports WHERE run_id = $1)
       WHERE run_id = $1`,
      [runId, pages],
    );
  });
}

/**
 * Adds one page of the selection in two statements (items, then study reports), whatever
 * the page size: planning a large selection costs pages, not instances.
 */
async function addPage(
  tx: SqlClient,
  runId: string,
  firstOrdinal: number,
  batchSize: number,
  instances: readonly SelectedInstance[],
  reports: readonly StudyReport[],
): Promise<void> {
  if (instances.length === 0) return;
  const column = <T>(pick: (instance: SelectedInstance, index: number) => T): T[] =>
    instances.map(pick);
  const inserted = await tx.query<{ instance_id: string }>(
    `INSERT INTO eden_items (run_id, ordinal, batch_no, study_id, series_id, series_number,
       instance_id, instance_number, file_path, file_url)
     SELECT $1, t.ordinal, t.ordinal / $2, t.study_id, t.series_id, t.series_number,
       t.instance_id, t.instance_number, t.file_path, t.file_url
     FROM unnest($3::int[], $4::text[], $5::text[], $6::int[], $7::text[], $8::int[], $9::text[], $10::text[])
       AS t (ordinal, study_id, series_id, series_number, instance_id, instance_number, file_path, file_url)
     ON CONFLICT (run_id, instance_id) DO NOTHING RETURNING instance_id`,
    [
      runId,
      batchSize,
      column((_, index) => firstOrdinal + index),
      column((instance) => instance.studyId),
      column((instance) => instance.seriesId),
      column((instance) => instance.seriesNumber),
      column((instance) => instance.instanceId),
      column((instance) => instance.instanceNumber),
      column((instance) => instance.filePath),
      column((instance) => instance.fileUrl),
    ],
  );
  if (inserted.rows.length !== instances.length) {
    // Not inserted (already in an earlier page) or twice in this page.
    const fresh = new Set(inserted.rows.map((row) => row.instance_id));
    const seen = new Set<string>();
    const repeated = instances.find(({ instanceId }) => {
      const twice = seen.has(instanceId) || !fresh.has(instanceId);
      seen.add(instanceId);
      return twice;
    })?.instanceId;
    throw new EtlError(
      'QUERY_INVALID',
      'the query returned this instance_id twice (in two studies or series); instance ids name the output files and must be unique',
      { subject: `instance ${repeated ?? '?'}` },
    );
  }
  await tx.query(
    `INSERT INTO eden_study_reports (run_id, study_id, report_value, field_created_at, field_count)
     SELECT $1, t.study_id, t.report_value, t.field_created_at, t.field_count
     FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::int[])
       AS t (study_id, report_value, field_created_at, field_count)
     ON CONFLICT (run_id, study_id) DO NOTHING`,
    [
      runId,
      reports.map((report) => report.studyId),
      reports.map((report) => report.reportValue),
      reports.map((report) => report.fieldCreatedAt),
      reports.map((report) => report.fieldCount),
    ],
  );
}

export async function batchNumbers(
  sql: SqlClient,
  runId: string,
  onlyPending: boolean,
): Promise<number[]> {
  const { rows } = await sql.query<{ batch_no: number }>(
    `SELECT DISTINCT batch_no FROM eden_items WHERE run_id = $1 ${onlyPending ? `AND status = 'pending'` : ''}
     ORDER BY batch_no`,
    [runId],
  );
  return rows.map((row) => row.batch_no);
}

export async function pendingItems(
  sql: SqlClient,
  runId: string,
  batchNo: number,
): Promise<PendingItem[]> {
  const { rows } = await sql.query<{
    ordinal: number;
    study_id: string;
    series_id: string;
    report_value: string | null;
    instance_id: string;
    file_path: string | null;
    file_url: string | null;
    attempts: number;
  }>(
    `SELECT i.ordinal, i.study_id, i.series_id, r.report_value, i.instance_id, i.file_path,
       i.file_url, i.attempts
     FROM eden_items i
     LEFT JOIN eden_study_reports r ON r.run_id = i.run_id AND r.study_id = i.study_id
     WHERE i.run_id = $1 AND i.batch_no = $2 AND i.status = 'pending' ORDER BY i.ordinal`,
    [runId, batchNo],
  );
  return rows.map((row) => ({
    ordinal: row.ordinal,
    studyId: row.study_id,
    seriesId: row.series_id,
    reportValue: row.report_value ?? '',
    instanceId: row.instance_id,
    filePath: row.file_path,
    fileUrl: row.file_url,
    attempts: row.attempts,
  }));
}
