/**
 * The one SQL interface the stages see. PGlite and node-postgres both satisfy it through the
 * adapters in src/extract and src/ledger, so the same SQL runs embedded and in production.
 */
export interface SqlResult<Row> {
  rows: Row[];
  /** Column names in result order (known even when no row came back). */
  fields: string[];
}

export interface SqlClient {
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<SqlResult<Row>>;
  /** Runs several statements (no parameters), e.g. a schema. */
  exec(sql: string): Promise<void>;
  /** Runs `fn` in one transaction on one connection; rolls back if it throws. */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
