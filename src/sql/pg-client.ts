import pg from 'pg';
import type { SqlClient, SqlResult } from '../domain/sql.js';

export interface PgClientOptions {
  connectionString: string;
  /** Pool size: the PACS is someone else's production database, keep it small. */
  maxConnections: number;
  applicationName: string;
  /** Every session read-only: the ETL must never write to the PACS. */
  readOnly: boolean;
  /** Server-side cap on one statement, in ms (0 = none). */
  statementTimeoutMs: number;
  /** CA certificate (PEM) the server's certificate must chain to; enables verified TLS. */
  ca?: string;
}

/** What the usual connection failures mean, by node-postgres / Node / PostgreSQL error code. */
const PG_CONNECT_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'nothing listens at that host and port',
  ENOTFOUND: 'the host name does not resolve',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  '28P01': 'password authentication failed',
  '28000': 'the server refused this user',
  '3D000': 'the database does not exist',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server certificate is self-signed and not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'the server certificate chain is not trusted (give --source-ca-file)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    'the server certificate cannot be verified (give --source-ca-file)',
};

/**
 * Opens the pool and checks that the server answers. A pool connects lazily, so without this a
 * wrong password would surface at the first real query, far from its cause. On failure the pool
 * is closed and `failure` turns the reason, in words, into the caller's error.
 */
export async function connectPg(
  options: PgClientOptions,
  failure: (why: string, cause: unknown) => Error,
): Promise<SqlClient> {
  const client = openPg(options);
  try {
    await client.query('SELECT 1');
  } catch (error) {
    await client.close();
    const code = (error as { code?: string }).code ?? '';
    throw failure(PG_CONNECT_ERRORS[code] ?? (error as Error).message, error);
  }
  return client;
}

// int8 and numeric come back as strings by default; the stages normalise ids to strings
// anyway, and counts are cast in SQL, so the defaults are kept.

/** A node-postgres pool behind the SqlClient interface. */
export function openPg(options: PgClientOptions): SqlClient {
  const sessionOptions = [
    options.readOnly ? '-c default_transaction_read_only=on' : '',
    `-c statement_timeout=${options.statementTimeoutMs}`,
  ]
    .filter((part) => part !== '')
    .join(' ');
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections,
    application_name: options.applicationName,
    options: sessionOptions,
    ...(options.ca === undefined ? {} : { ssl: { ca: options.ca, rejectUnauthorized: true } }),
  });
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on('error', () => undefined);

  const query = async <Row>(
    target: pg.Pool | pg.PoolClient,
    sql: string,
    params: unknown[] = [],
  ): Promise<SqlResult<Row>> => {
    const result = await target.query(sql, params);
    return { rows: result.rows as Row[], fields: result.fields.map((field) => field.name) };
  };

  return {
    query: (sql, params) => query(pool, sql, params),
    async exec(sql) {
      await pool.query(sql);
    },
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const inner: SqlClient = {
          query: (sql, params) => query(client, sql, params),
          exec: async (sql) => {
            await client.query(sql);
          },
          transaction: (nested) => nested(inner),
          close: () => Promise.resolve(),
        };
        const result = await fn(inner);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
