import type { DatasetRow } from '../domain/dataset.js';
import { buildCsv, type CsvColumn } from './csv-format.js';
import { DATASET_CSV_COLUMNS, inSelectionOrder } from './dataset-csv.js';

const SHARED = ['instance_id', 'study_id', 'series_id', 'file_url'].map((name) => {
  // Same definitions as the dataset CSV, so the files agree on a value's form.
  const column = DATASET_CSV_COLUMNS.find((candidate) => candidate.name === name);
  if (column === undefined) throw new Error(`excluded.csv column ${name} is not a dataset column`);
  return column;
});

/** excluded.csv: every instance a quality gate kept out, with the gate's reason. */
export const EXCLUDED_CSV_COLUMNS: readonly CsvColumn<DatasetRow>[] = [
  ...SHARED.slice(0, 3),
  {
    name: 'exclusion_reason',
    meaning: 'The quality gate that excluded the instance (see "Quality gates" in this card).',
    format: 'reason code, e.g. BLANK_IMAGE',
    value: (row) => row.exclusion?.reason ?? '',
  },
  {
    name: 'exclusion_detail',
    meaning: 'What the gate saw, for humans (e.g. the instance it duplicates).',
    format: 'text',
    value: (row) => row.exclusion?.detail ?? '',
  },
  ...SHARED.slice(3),
];

/** Header only when nothing was excluded, so readers need not special-case a missing file. */
export function buildExcludedCsv(rows: readonly DatasetRow[]): string {
  return buildCsv(
    EXCLUDED_CSV_COLUMNS,
    inSelectionOrder(rows.filter((row) => row.status === 'excluded')),
  );
}
