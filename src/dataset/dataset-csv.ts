import type { DatasetRow } from '../domain/dataset.js';
import { redactUrl } from '../domain/redact.js';
import { buildCsv, cell, type CsvColumn } from './csv-format.js';

/**
 * dicom-reports-extracted-sample.csv: one row per selected instance, delivered or failed. The
 * first ten columns are the original's, in its order, so existing readers keep working; the
 * rest tell what happened to the instance and how its image was made.
 */
export const DATASET_CSV_COLUMNS: readonly CsvColumn<DatasetRow>[] = [
  {
    name: 'study_id',
    meaning: 'Study identifier in the source PACS.',
    format: 'text',
    value: (row) => row.studyId,
  },
  {
    name: 'series_number',
    meaning: 'Series number within the study.',
    format: 'integer, empty when unknown',
    value: (row) => cell.number(row.seriesNumber),
  },
  {
    name: 'instance_id',
    meaning: 'Instance identifier in the source PACS; names the DICOM and JPEG files.',
    format: 'text',
    value: (row) => row.instanceId,
  },
  {
    name: 'instance_number',
    meaning: 'Instance number within the series.',
    format: 'integer, empty when unknown',
    value: (row) => cell.number(row.instanceNumber),
  },
  {
    name: 'file_path',
    meaning: 'Path of the DICOM file in the source system.',
    format: 'text, empty when unknown',
    value: (row) => cell.text(row.filePath),
  },
  {
    name: 'file_url',
    meaning: 'URL the DICOM file was fetched from (credentials removed).',
    format: 'URL, empty when unknown',
    // The URL came from the PACS query; a password in it must not travel with the dataset.
    value: (row) => (row.fileUrl === null ? '' : redactUrl(row.fileUrl)),
  },
  {
    name: 'report_value',
    meaning:
      "The study's report fields, in field_created_at order, separated by a blank line; the same for every instance of a study.",
    format: 'text, may span several lines',
    value: (row) => row.reportValue,
  },
  {
    name: 'field_created_at',
    meaning: "Creation time of the study's latest report field.",
    format: 'ISO 8601 timestamp, empty when the study has no report field',
    value: (row) => cell.text(row.fieldCreatedAt),
  },
  {
    name: 'downloaded',
    meaning: 'Whether the DICOM file was fetched and stored in the dataset.',
    format: 'True or False',
    value: (row) => cell.bool(row.downloaded),
  },
  {
    name: 'local_file_path',
    meaning: "Path of the DICOM file inside the dataset, relative to the dataset's folder.",
    format: 'dicom-files/{instance_id}.dcm, empty when not downloaded',
    value: (row) => (row.downloaded ? cell.text(row.dicomKey) : ''),
  },
  {
    name: 'series_id',
    meaning: 'Series identifier in the source PACS.',
    format: 'text',
    value: (row) => row.seriesId,
  },
  {
    name: 'status',
    meaning:
      'Outcome for the instance: excluded means a quality gate kept it out (see excluded.csv).',
    format: 'delivered, failed or excluded',
    value: (row) => row.status,
  },
  {
    name: 'error_code',
    meaning: 'Why the instance failed (see "Failures" in this card).',
    format: 'error code, empty when delivered',
    value: (row) => cell.text(row.errorCode),
  },
  {
    name: 'error_message',
    meaning: 'What went wrong, for humans.',
    format: 'text, empty when delivered',
    value: (row) => cell.text(row.errorMessage),
  },
  {
    name: 'dicom_key',
    meaning: "Path of the DICOM file inside the dataset, relative to the dataset's folder.",
    format: 'dicom-files/{instance_id}.dcm, empty when not stored',
    value: (row) => cell.text(row.dicomKey),
  },
  {
    name: 'image_key',
    meaning:
      "Path of the rendered image inside the dataset, relative to the dataset's folder (frame 1's when every frame is rendered).",
    format:
      'images-jpg/{instance_id}.jpg (images-png/…png; {instance_id}_{frame} per frame), empty when not rendered',
    value: (row) => cell.text(row.images[0]?.key ?? null),
  },
  {
    name: 'dicom_size',
    meaning: 'Size of the DICOM file.',
    format: 'integer, bytes',
    value: (row) => cell.number(row.dicomSize),
  },
  {
    name: 'dicom_sha256',
    meaning: 'SHA-256 of the DICOM file, to verify a copy.',
    format: '64 lowercase hex digits',
    value: (row) => cell.text(row.dicomSha256),
  },
  {
    name: 'image_size',
    meaning: 'Size of the image file at image_key.',
    format: 'integer, bytes',
    value: (row) => cell.number(row.images[0]?.size ?? null),
  },
  {
    name: 'image_sha256',
    meaning: 'SHA-256 of the image file at image_key, to verify a copy.',
    format: '64 lowercase hex digits',
    value: (row) => cell.text(row.images[0]?.sha256 ?? null),
  },
  {
    name: 'image_count',
    meaning:
      'Images rendered from the instance: 1, or its number of frames when every frame is rendered ({instance_id}_1 … _N).',
    format: 'integer, 0 when not rendered',
    value: (row) => cell.number(row.images.length),
  },
  {
    name: 'width',
    meaning: 'Width of the rendered image.',
    format: 'integer, pixels',
    value: (row) => cell.number(row.recipe?.width ?? null),
  },
  {
    name: 'height',
    meaning: 'Height of the rendered image.',
    format: 'integer, pixels',
    value: (row) => cell.number(row.recipe?.height ?? null),
  },
  {
    name: 'window_source',
    meaning:
      "Where the display window came from: the file's Window Center/Width or VOI LUT, a --window override, percentiles of the pixel values, their full range, or none (colour).",
    format: 'file, voi-lut, override, percentile, full-range or none',
    value: (row) => cell.text(row.recipe?.windowSource ?? null),
  },
  {
    name: 'window_center',
    meaning: 'Center of the VOI window applied, in modality units (after rescale).',
    format: 'decimal number, empty for a VOI LUT or a colour image',
    value: (row) => cell.number(row.recipe?.windowCenter ?? null),
  },
  {
    name: 'window_width',
    meaning: 'Width of the VOI window applied, in modality units (after rescale).',
    format: 'decimal number, empty for a VOI LUT or a colour image',
    value: (row) => cell.number(row.recipe?.windowWidth ?? null),
  },
  {
    name: 'inverted',
    meaning: 'Whether grey levels were inverted so that the image shows as MONOCHROME2.',
    format: 'True or False, empty when not rendered',
    value: (row) => cell.bool(row.recipe?.inverted ?? null),
  },
  {
    name: 'photometric_interpretation',
    meaning: "The DICOM file's Photometric Interpretation.",
    format: 'DICOM code string, e.g. MONOCHROME2',
    value: (row) => cell.text(row.recipe?.photometricInterpretation ?? null),
  },
  {
    name: 'voi_function',
    meaning: 'VOI function applied: the window functions of PS3.3 C.11.2.1.3, a VOI LUT, or none.',
    format: 'LINEAR, LINEAR_EXACT, SIGMOID, LUT or NONE',
    value: (row) => cell.text(row.recipe?.voiFunction ?? null),
  },
  {
    name: 'frame',
    meaning: 'Frame of the DICOM image that was rendered, from 1.',
    format: 'integer',
    value: (row) => cell.number(row.recipe?.frame ?? null),
  },
  {
    name: 'codec',
    meaning: 'Format of the rendered image.',
    format: 'jpeg or png',
    value: (row) => cell.text(row.recipe?.codec ?? null),
  },
  {
    name: 'quality',
    meaning: 'JPEG quality the image was encoded with.',
    format: 'integer 1..100, empty for PNG',
    value: (row) => cell.number(row.recipe?.quality ?? null),
  },
];

/** Rows in selection order; ties (which a well-formed ledger never has) broken by instance id. */
export function inSelectionOrder(rows: readonly DatasetRow[]): DatasetRow[] {
  return [...rows].sort(
    (a, b) =>
      a.ordinal - b.ordinal ||
      // Code-unit order, not localeCompare: the bytes must not depend on the machine's locale.
      (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0),
  );
}

export function buildDatasetCsv(rows: readonly DatasetRow[]): string {
  return buildCsv(DATASET_CSV_COLUMNS, inSelectionOrder(rows));
}
