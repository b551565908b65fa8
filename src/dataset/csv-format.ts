import { stringify } from 'csv-stringify/sync';

/**
 * The one CSV writer of the dataset files. A column says what it means as well as how to get
 * its value, so the dataset card's data dictionary is generated from the same definitions and
 * cannot drift from the file.
 */
export interface CsvColumn<Row> {
  name: string;
  /** One sentence for the data dictionary. */
  meaning: string;
  /** Type and format for the data dictionary, e.g. "integer", "ISO 8601 timestamp". */
  format: string;
  value(row: Row): string;
}

/**
 * RFC 4180: header row, CRLF after every record, fields quoted when they hold `,` `"` CR or LF,
 * quotes doubled. No BOM: Python's csv module and pandas (what dataset consumers use, and what
 * read the original's CSV) would keep it as part of the first column name unless told to use
 * utf-8-sig; UTF-8 without BOM is what RFC 4180 tooling expects.
 */
export function buildCsv<Row>(columns: readonly CsvColumn<Row>[], rows: readonly Row[]): string {
  const records = [columns.map((column) => column.name)];
  for (const row of rows) records.push(columns.map((column) => column.value(row)));
  return stringify(records, {
    record_delimiter: '\r\n',
    // csv-stringify stops quoting lone CR and LF once record_delimiter is set; a report text
    // with an unquoted newline would split its record in two.
    quote_record_delimiter: true,
  });
}

export const cell = {
  text: (value: string | null): string => value ?? '',
  /** Plain digits, no locale grouping, so every reader parses them the same way. */
  number: (value: number | null): string => (value === null ? '' : String(value)),
  /** Python's spelling: the original was written by pandas, and its readers compare to it. */
  bool: (value: boolean | null): string => (value === null ? '' : value ? 'True' : 'False'),
};
