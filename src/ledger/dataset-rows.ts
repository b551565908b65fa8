import type { DatasetRow, InstanceAttributes } from '../domain/dataset.js';
import { EtlError, type ErrorCode } from '../domain/errors.js';
import type { ExclusionReason } from '../domain/exclusions.js';
import type { RenderRecipe } from '../domain/render.js';
import type { SqlClient } from '../domain/sql.js';
import type { StoredImage } from './records.js';
import { iso } from './runs.js';

/**
 * Every instance of a finished run with its study's report, in selection order, as the ledger
 * holds them (real ids and report text: a de-identified run's release is made in `deid/`).
 */
export async function datasetRows(
  sql: SqlClient,
  runId: string,
  relativeKey: (key: string) => string,
): Promise<DatasetRow[]> {
  const { rows } = await sql.query<{
    ordinal: number;
    study_id: string;
    series_id: string;
    series_number: number | null;
    instance_id: string;
    instance_number: number | null;
    file_path: string | null;
    file_url: string | null;
    report_value: string | null;
    field_created_at: Date | null;
    status: 'pending' | 'delivered' | 'failed' | 'excluded';
    exclusion_reason: ExclusionReason | null;
    exclusion_detail: string | null;
    dicom_key: string | null;
    dicom_size: string | number | null;
    dicom_sha256: string | null;
    images: StoredImage[] | null;
    error_code: ErrorCode | null;
    error_message: string | null;
    recipe: RenderRecipe | null;
    attributes: InstanceAttributes | null;
  }>(
    `SELECT i.*, r.report_value, r.field_created_at FROM eden_items i
     LEFT JOIN eden_study_reports r ON r.run_id = i.run_id AND r.study_id = i.study_id
     WHERE i.run_id = $1 ORDER BY i.ordinal`,
    [runId],
  );
  return rows.map((row) => {
    if (row.status === 'pending') {
      throw new EtlError('INTERNAL', 'dataset requested while instances are pending', {
        subject: `instance ${row.instance_id}`,
      });
    }
    const size = (value: string | number | null) => (value === null ? null : Number(value));
    return {
      ordinal: row.ordinal,
      studyId: row.study_id,
      seriesId: row.series_id,
      seriesNumber: row.series_number,
      instanceId: row.instance_id,
      instanceNumber: row.instance_number,
      filePath: row.file_path,
      fileUrl: row.file_url,
      reportValue: row.report_value ?? '',
      fieldCreatedAt: iso(row.field_created_at),
      status: row.status,
      downloaded: row.dicom_key !== null,
      dicomKey: row.dicom_key === null ? null : relativeKey(row.dicom_key),
      dicomSize: size(row.dicom_size),
      dicomSha256: row.dicom_sha256,
      images: (row.images ?? []).map((image) => ({
        frame: image.frame,
        key: relativeKey(image.key),
        size: image.size,
        sha256: image.sha256,
      })),
      errorCode: row.error_code,
      errorMessage: row.error_message,
      recipe: row.recipe,
      attributes: row.attributes,
      exclusion:
        row.exclusion_reason === null
          ? null
          : { reason: row.exclusion_reason, detail: row.exclusion_detail ?? '' },
    };
  });
}

/** Each study's aggregated report as planning froze it. */
export async function studyReports(
  sql: SqlClient,
  runId: string,
): Promise<{ studyId: string; reportValue: string }[]> {
  const { rows } = await sql.query<{ study_id: string; report_value: string }>(
    'SELECT study_id, report_value FROM eden_study_reports WHERE run_id = $1 ORDER BY study_id',
    [runId],
  );
  return rows.map((row) => ({ studyId: row.study_id, reportValue: row.report_value }));
}
