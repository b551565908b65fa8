import type { DatasetRow } from '../domain/dataset.js';
import { buildCsv, type CsvColumn } from './csv-format.js';
import { DATASET_CSV_COLUMNS, inSelectionOrder } from './dataset-csv.js';

const FAILURE_COLUMN_NAMES = ['instance_id', 'study_id', 'error_code', 'error_message', 'file_url'];

/** failures.csv: the failed instances only, to retry or investigate without filtering. */
export const FAILURES_CSV_COLUMNS: readonly CsvColumn<DatasetRow>[] = FAILURE_COLUMN_NAMES.map(
  (name) => {
    // Same definitions as the dataset CSV, so the two files always agree on a value's form.
    const column = DATASET_CSV_COLUMNS.find((candidate) => candidate.name === name);
    if (column === undefined)
      throw new Error(`failures.csv column ${name} is not a dataset column`);
    return column;
  },
);

/** Header only when nothing failed, so readers need not special-case a missing file. */
export function buildFailuresCsv(rows: readonly DatasetRow[]): string {
  return buildCsv(
    FAILURES_CSV_COLUMNS,
    inSelectionOrder(rows.filter((row) => row.status === 'failed')),
  );
}
