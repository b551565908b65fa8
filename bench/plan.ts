/**
 * `npm run bench -- plan [--studies 10000 --instances 20 --page-sizes 25,1000,5000 --repeat 3
 *   --admin-url postgres://postgres@127.0.0.1:5432/postgres]`
 *
 * Planning time: a PACS in a PostgreSQL database of its own, filled in SQL (generate_series) with
 * 20% more studies than selected (some deleted, some not chest), `--instances` instances per
 * study in two series and three report fields per study; then the selection of `--studies`
 * studies is planned (query, pages, frozen into the ledger) with the shipped query, once per page
 * size, into a fresh embedded ledger (the default) and a PostgreSQL one (STATE_DATABASE_URL).
 * Prints the median seconds of `--repeat` plans. The database is dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { CONFIG_KEYS } from '../src/config/schema.js';
import type { SqlClient } from '../src/domain/sql.js';
import { readSelectionQuery } from '../src/source/query-file.js';
import { Ledger } from '../src/ledger/ledger.js';
import { PACS_SCHEMA_SQL } from '../src/demo/pacs-schema.js';
import { planRun } from '../src/pipeline/plan.js';
import type { RunSpec } from '../src/domain/run-spec.js';
import { openPg } from '../src/sql/pg-client.js';
import { openPglite } from '../src/sql/pglite-client.js';
import { DEFAULT_RENDER_OPTIONS } from '../src/domain/render.js';

const QUERY = new URL('../../queries/chest_dicom_files_and_reports.sql', import.meta.url);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function admin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Fills the reference schema: every fifth extra study deleted, the others not chest. */
async function fillPacs(db: SqlClient, studies: number, instancesPerStudy: number) {
  const total = Math.ceil(studies * 1.2);
  const perSeries = Math.ceil(instancesPerStudy / 2);
  await db.exec(PACS_SCHEMA_SQL);
  await db.exec(`
    INSERT INTO pacs_studies (id, study_instance_uid, patient_id, body_part, deleted, study_date)
      SELECT s, '2.25.' || s, 'P' || (s % ${Math.ceil(studies / 3)}),
        CASE WHEN s > ${studies} AND s % 2 = 0 THEN 'KNEE' ELSE 'CHEST' END,
        s > ${studies} AND s % 2 = 1, date '2020-01-01' + (s % 1500)
      FROM generate_series(1, ${total}) AS s;
    INSERT INTO pacs_series (id, study_id, series_instance_uid, series_number, modality)
      SELECT st * 2 + k, st, '2.25.1' || (st * 2 + k), k + 1, 'CR'
      FROM generate_series(1, ${total}) AS st, generate_series(0, 1) AS k;
    INSERT INTO pacs_instances (id, series_id, sop_instance_uid, instance_number, file_path, file_url)
      SELECT se * ${perSeries} + n, se, '2.25.2' || (se * ${perSeries} + n), n + 1,
        '/pacs/' || (se * ${perSeries} + n) || '.dcm', 'file:///pacs/' || (se * ${perSeries} + n) || '.dcm'
      FROM generate_series(2, ${total * 2 + 1}) AS se, generate_series(0, ${perSeries - 1}) AS n;
    INSERT INTO pacs_report_fields (id, study_id, name, value, created_at)
      SELECT st * 3 + f, st, (ARRAY['indication', 'findings', 'impression'])[f + 1],
        'Report field ' || f || ' of study ' || st || ': no acute cardiopulmonary process.',
        timestamptz '2024-01-01' + make_interval(mins => st * 3 + f)
      FROM generate_series(1, ${total}) AS st, generate_series(0, 2) AS f;
    ANALYZE;`);
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM pacs_instances i JOIN pacs_series se ON se.id = i.series_id
     JOIN pacs_studies st ON st.id = se.study_id WHERE st.id <= ${studies}`,
  );
  return Number(rows[0]?.n ?? 0);
}

export async function planBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      studies: { type: 'string', default: '10000' },
      instances: { type: 'string', default: '20' },
      'page-sizes': { type: 'string', default: `${CONFIG_KEYS.pageSize.default},1000,10000` },
      repeat: { type: 'string', default: '3' },
      'admin-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    },
  });
  const studies = Number(values.studies);
  const pageSizes = values['page-sizes'].split(',').map(Number);
  const repeat = Number(values.repeat);
  const adminUrl = values['admin-url'];
  const name = `eden_bench_plan_${randomBytes(4).toString('hex')}`;
  await admin(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const source = openPg({
    connectionString: url.href,
    maxConnections: 2,
    applicationName: 'eden-bench',
    readOnly: false,
    statementTimeoutMs: 0,
  });
  const work = await mkdtemp(join(tmpdir(), 'eden-bench-plan-'));
  try {
    const instances = await fillPacs(source, studies, Number(values.instances));
    const query = await readSelectionQuery(QUERY.pathname);
    process.stdout.write(
      `Planning ${studies} studies / ${instances} instances (shipped query, PostgreSQL source, ` +
        `median of ${repeat}; the default page size is ${CONFIG_KEYS.pageSize.default})\n\n` +
        '| page size | pages | embedded ledger s | PostgreSQL ledger s |\n|---|---|---|---|\n',
    );
    for (const pageSize of pageSizes) {
      const spec: RunSpec = {
        source: 'bench',
        query,
        queryParameters: { studies, seed: '0' },
        pageSize,
        batchSize: 25,
        destination: 'file:///bench',
        prefix: 'bench',
        render: DEFAULT_RENDER_OPTIONS,
        quality: { gates: [], minReportChars: 0 },
        splits: {
          shares: [{ name: 'train', fraction: 1 }],
          keyFingerprint: 'bench',
          keySource: 'default',
        },
      };
      const times: Record<'embedded' | 'postgres', number[]> = { embedded: [], postgres: [] };
      let pages = 0;
      for (let index = 0; index < repeat; index += 1) {
        for (const kind of ['embedded', 'postgres'] as const) {
          const state: SqlClient =
            kind === 'embedded'
              ? await openPglite(join(work, `state-${pageSize}-${index}`), 'bench state')
              : source;
          try {
            const ledger = await Ledger.open(state);
            const runId = `bench-${pageSize}-${index}`;
            const started = performance.now();
            const run = await planRun(ledger, source, runId, spec, query);
            times[kind].push((performance.now() - started) / 1000);
            pages = run.pages ?? 0;
            if (run.totalInstances !== instances) {
              throw new Error(
                `bench: planned ${run.totalInstances} instances, expected ${instances}`,
              );
            }
          } finally {
            if (kind === 'embedded') await state.close();
          }
        }
      }
      process.stdout.write(
        `| ${pageSize} | ${pages} | ${median(times.embedded).toFixed(2)} | ${median(times.postgres).toFixed(2)} |\n`,
      );
    }
  } finally {
    await source.close();
    await rm(work, { recursive: true, force: true });
    await admin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  }
}
