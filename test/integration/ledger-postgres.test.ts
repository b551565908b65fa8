import { describe, expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';
import { openPg } from '../../src/sql/pg-client.js';
import { createTestDatabase } from '../support/postgres.js';

describe('the ledger in a shared PostgreSQL', () => {
  it('is prepared once when many workers open a new state database at the same moment', async () => {
    const database = await createTestDatabase('ledgerpg');
    const clients = Array.from({ length: 8 }, () =>
      openPg({
        connectionString: database.url,
        maxConnections: 1,
        applicationName: 'eden-etl-test',
        readOnly: false,
        statementTimeoutMs: 0,
      }),
    );
    try {
      const opened = await Promise.allSettled(clients.map((client) => Ledger.open(client)));
      expect(opened.filter((entry) => entry.status === 'rejected')).toEqual([]);
      const { rows } = await (clients[0] as (typeof clients)[number]).query<{ value: string }>(
        `SELECT value FROM eden_meta WHERE key = 'ledger_version'`,
      );
      expect(rows).toHaveLength(1);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
      await database.drop();
    }
  });
});
