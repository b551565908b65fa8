import type { SelectedInstance } from '../domain/dataset.js';
import { EtlError } from '../domain/errors.js';
import type { SqlClient } from '../domain/sql.js';
import { missingContractColumns, type SelectionQuery } from './query-file.js';

type Row = Record<string, unknown>;

const KEY = ['study_id', 'series_id', 'instance_id'] as const;
const ORDER =
  'q.study_id, q.series_id, q.instance_id, q.field_created_at NULLS FIRST, q.report_value';

function text(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return String(value);
  }
  return JSON.stringify(value);
}

function optionalInt(value: unknown, column: string, row: Row): number | null {
  if (value === null || value === undefined) return null;
  const number = Number(value);
  if (!Number.isSafeInteger(number)) {
    throw new EtlError('QUERY_INVALID', `${column} must be an integer, got ${text(value)}`, {
      subject: `instance ${text(row.instance_id)}`,
    });
  }
  return number;
}

function optionalText(value: unknown): string | null {
  return value === null || value === undefined || value === '' ? null : text(value);
}

function timestamp(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const date = value instanceof Date ? value : new Date(text(value));
  return Number.isNaN(date.getTime()) ? text(value) : date.toISOString();
}

function keyOf(row: Row): string {
  return KEY.map((column) => text(row[column])).join('\u0000');
}

/** Groups page rows (instance × report field, in key order) into instances. */
function groupInstances(rows: readonly Row[]): SelectedInstance[] {
  const instances: SelectedInstance[] = [];
  let currentKey = '';
  for (const row of rows) {
    for (const column of KEY) {
      if (row[column] === null || row[column] === undefined) {
        throw new EtlError('QUERY_INVALID', `the query returned a row with no ${column}`, {
          hint: `every row needs ${KEY.join(', ')}`,
        });
      }
    }
    const key = keyOf(row);
    if (key !== currentKey) {
      currentKey = key;
      instances.push({
        studyId: text(row.study_id),
        seriesId: text(row.series_id),
        seriesNumber: optionalInt(row.series_number, 'series_number', row),
        instanceId: text(row.instance_id),
        instanceNumber: optionalInt(row.instance_number, 'instance_number', row),
        filePath: optionalText(row.file_path),
        fileUrl: optionalText(row.file_url),
        reportFields: [],
      });
    }
    if (row.report_value !== null && row.report_value !== undefined) {
      instances[instances.length - 1]?.reportFields.push({
        value: text(row.report_value),
        createdAt: timestamp(row.field_created_at),
      });
    }
  }
  return instances;
}

export interface ReadSelectionOptions {
  query: SelectionQuery;
  /** Values for the query's `$1..$n`, in order. */
  parameters: readonly unknown[];
  /** Rows per page. */
  pageSize: number;
  onPage: (instances: SelectedInstance[], pageNo: number) => Promise<void>;
}

/**
 * Reads the selection page by page, each page a set of studies: first the selected study ids,
 * in key order, in one query; then, page after page, the rows of the next studies
 * (`study_id = ANY(...)`), which PostgreSQL can push down to indexed joins, so a page costs
 * its own rows rather than a re-sort of the whole selection. No page depends on an OFFSET into
 * a random order, a study's rows never straddle two pages, and the rows come in the same key
 * order (study, series, instance) as one query would give. Pages aim at `pageSize` rows:
 * the studies per page follow the rows per study seen so far. Returns the number of pages.
 */
export async function readSelection(
  source: SqlClient,
  options: ReadSelectionOptions,
): Promise<number> {
  const { query, parameters } = options;
  const n = parameters.length;
  const idsSql = `SELECT q.study_id FROM (${query.sql}) AS q GROUP BY q.study_id ORDER BY q.study_id`;
  const pageSql = `SELECT q.* FROM (${query.sql}) AS q WHERE q.study_id = ANY($${n + 1}) ORDER BY ${ORDER}`;
  const ids = (await runPage(source, idsSql, [...parameters], query)).rows.map((row) => {
    if (row.study_id === null || row.study_id === undefined) {
      throw new EtlError('QUERY_INVALID', 'the query returned a row with no study_id', {
        hint: `every row needs ${KEY.join(', ')}`,
      });
    }
    return text(row.study_id);
  });

  let pageNo = 0;
  let studiesSeen = 0;
  let rowsSeen = 0;
  for (let start = 0; start < ids.length;) {
    // Rows per study so far (or a guess of a few instances with a few fields each).
    const rowsPerStudy = studiesSeen === 0 ? 16 : Math.max(1, rowsSeen / studiesSeen);
    const count = Math.max(1, Math.floor(options.pageSize / rowsPerStudy));
    const studies = ids.slice(start, start + count);
    const { rows } = await runPage(source, pageSql, [...parameters, studies], query);
    if (rows.length > 0) {
      await options.onPage(groupInstances(rows), pageNo);
      pageNo += 1;
    }
    start += studies.length;
    studiesSeen += studies.length;
    rowsSeen += rows.length;
  }
  return pageNo;
}

async function runPage(
  source: SqlClient,
  sql: string,
  params: unknown[],
  query: SelectionQuery,
): Promise<{ rows: Row[]; fields: string[] }> {
  try {
    return await source.query<Row>(sql, params);
  } catch (error) {
    throw new EtlError(
      'SOURCE_QUERY_FAILED',
      `the selection query failed: ${(error as Error).message}`,
      {
        subject: query.path,
        hint: 'run the query by hand against the PACS to see why',
        cause: error,
      },
    );
  }
}

/**
 * Runs the query for its columns only (LIMIT 0) and refuses it, naming them, when contract
 * columns are missing: a run must not start on a query it cannot use.
 */
export async function checkSelectionQuery(
  source: SqlClient,
  query: SelectionQuery,
  parameters: readonly unknown[],
): Promise<void> {
  const sql = `SELECT q.* FROM (${query.sql}) AS q LIMIT 0`;
  const { fields } = await runPage(source, sql, [...parameters], query);
  const missing = missingContractColumns(fields);
  if (missing.length > 0) {
    throw new EtlError(
      'QUERY_INVALID',
      `the query does not return the contract column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
      { subject: query.path, hint: 'alias your columns to the names in "The query contract"' },
    );
  }
}
