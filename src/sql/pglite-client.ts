import { mkdir } from 'node:fs/promises';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { SqlClient, SqlResult } from '../domain/sql.js';
import { acquireDirLock, type DirLock } from './dir-lock.js';

type Queryable = Pick<Transaction, 'query' | 'exec'>;

function wrap(target: Queryable): Omit<SqlClient, 'transaction' | 'close'> {
  return {
    async query<Row>(sql: string, params: unknown[] = []): Promise<SqlResult<Row>> {
      const result = await target.query<Row>(sql, params);
      return { rows: result.rows, fields: result.fields.map((field) => field.name) };
    },
    async exec(sql: string): Promise<void> {
      await target.exec(sql);
    },
  };
}

/**
 * Opens (creating if needed) an embedded PostgreSQL in `dir`. PGlite takes no lock of its own
 * and two processes writing one directory corrupt it, so we hold a lock file for the lifetime
 * of the client and fail fast, naming the holder, when another live process has it.
 */
export async function openPglite(dir: string, purpose: string): Promise<SqlClient> {
  await mkdir(dir, { recursive: true });
  const lock: DirLock = await acquireDirLock(dir, purpose);
  let db: PGlite;
  try {
    db = await PGlite.create(dir);
  } catch (error) {
    await lock.release();
    throw error;
  }
  const client: SqlClient = {
    ...wrap(db),
    async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
      return db.transaction(async (tx) => {
        const inner: SqlClient = {
          ...wrap(tx),
          transaction: (nested) => nested(inner),
          close: () => Promise.resolve(),
        };
        return fn(inner);
      });
    },
    async close(): Promise<void> {
      try {
        await db.close();
      } finally {
        await lock.release();
      }
    },
  };
  return client;
}
