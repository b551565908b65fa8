import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Composition } from '../../src/app/compose.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { runCli, tempDir } from '../support/cli.js';
import { createTestDatabase } from '../support/postgres.js';
import { csvObjects } from '../support/rfc4180.js';

/** The PACS database as the composition root opens it for planning, with these flags. */
async function openSource(url: string, flags: Record<string, unknown> = {}) {
  const { config } = loadConfig({ flags: { source: url, ...flags }, env: {} });
  const root = new Composition(config, createLogger({ level: 'error', format: 'plain' }));
  return root.source();
}

describe('a PACS in a real PostgreSQL', () => {
  let database: { url: string; drop: () => Promise<void> };
  let dir: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    database = await createTestDatabase('pgsource');
    ({ dir, cleanup } = await tempDir('pgsource'));
    const loaded = await runCli(
      ['sample-pacs', '--into', database.url, '--studies', '2', '--files', 'pacs'],
      dir,
    );
    expect(loaded.stderr).not.toMatch(/ERROR|FATAL/);
    expect(loaded.code).toBe(0);
    expect(loaded.stdout).toContain('2 studies (+1 deleted)');
  }, 120_000);

  afterAll(async () => {
    await database.drop();
    await cleanup();
  });

  it('runs the ETL from --source postgres://', async () => {
    const result = await runCli(
      ['run', '--source', database.url, '--studies', '2', '--dest', 'file://./out'],
      dir,
    );
    expect(result.stderr).not.toMatch(/ERROR|FATAL/);
    expect(result.code).toBe(0);
    const rows = csvObjects(
      await readFile(
        join(dir, 'out/eden-dataset-vlms/sample-test/dicom-reports-extracted-sample.csv'),
        'utf8',
      ),
    );
    expect(new Set(rows.map((row) => row.study_id)).size).toBe(2);
    // Every instance but the sample PACS's quality-gate cases, which are excluded.
    const kept = rows.filter((row) => row.status !== 'excluded');
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.every((row) => row.status === 'delivered' && row.downloaded === 'True')).toBe(true);
  }, 120_000);

  it('refuses, before planning, a query file that lacks contract columns, naming them', async () => {
    const shipped = await readFile('queries/chest_dicom_files_and_reports.sql', 'utf8');
    // The same query without file_url and report_value (a typical mistake: renamed columns).
    const broken = shipped
      .replace(/\n\s*i\.file_url,/, '\n  i.file_url AS url,')
      .replace('rf.value AS report_value', 'rf.value AS report_text');
    expect(broken).not.toBe(shipped);
    await writeFile(join(dir, 'broken.sql'), broken);
    const result = await runCli(
      ['run', '--source', database.url, '--query', 'broken.sql', '--dest', 'file://./never'],
      dir,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('QUERY_INVALID');
    expect(result.stderr).toContain('does not return the contract columns file_url, report_value');
    expect(result.stderr).toContain('broken.sql');
  }, 60_000);

  it('reads the PACS through read-only sessions', async () => {
    const source = await openSource(database.url);
    try {
      await expect(source.query('CREATE TABLE intruder (id int)')).rejects.toThrow(/read-only/);
      const { rows } = await source.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM pacs_studies',
      );
      expect(rows[0]?.n).toBe(3);
    } finally {
      await source.close();
    }
  });

  it('points file_url at --base-url when the files are served over HTTP', async () => {
    const other = await createTestDatabase('pgbaseurl');
    try {
      const loaded = await runCli(
        [
          'sample-pacs',
          '--into',
          other.url,
          '--studies',
          '1',
          '--files',
          'pacs',
          '--base-url',
          'http://pacs.invalid/files',
        ],
        dir,
      );
      expect(loaded.code).toBe(0);
      const source = await openSource(other.url);
      try {
        const { rows } = await source.query<{ file_url: string; file_path: string }>(
          'SELECT file_url, file_path FROM pacs_instances',
        );
        expect(rows.length).toBeGreaterThan(0);
        for (const row of rows) {
          expect(row.file_url).toBe(`http://pacs.invalid/files/${row.file_path}`);
        }
      } finally {
        await source.close();
      }
    } finally {
      await other.drop();
    }
  }, 120_000);

  it('bounds the pool and every statement, as configured', async () => {
    const source = await openSource(database.url, {
      sourceMaxConnections: 1,
      sourceStatementTimeout: 0.3,
    });
    try {
      await expect(source.query('SELECT pg_sleep(2)')).rejects.toThrow(/statement timeout/);
      await Promise.all(
        Array.from({ length: 5 }, () => source.query('SELECT count(*) FROM pacs_instances')),
      );
      const { rows } = await source.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = 'eden-etl'`,
      );
      expect(rows[0]?.n).toBe(1);
    } finally {
      await source.close();
    }
  });

  it('refuses an unreadable CA file by name', async () => {
    await expect(
      openSource(database.url, { sourceMaxConnections: 1, sourceCaFile: '/nonexistent/ca.pem' }),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID', subject: '/nonexistent/ca.pem' });
  });

  it('names a database that does not exist', async () => {
    await expect(openSource(`${database.url}_missing`)).rejects.toMatchObject({
      code: 'SOURCE_UNAVAILABLE',
      message: expect.stringContaining('the database does not exist') as unknown,
    });
  });
});
