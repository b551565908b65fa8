import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../src/sql/pglite-client.js';
import { runCli, tempDir, type CliResult } from '../support/cli.js';
import { csvObjects } from '../support/rfc4180.js';

// The sample PACS has a dose screen (a secondary capture) and a reformat (DERIVED\SECONDARY):
// de-identifying, both may carry burned-in patient data and must stay in the hospital.

const DATASET = 'out/eden-dataset-vlms/sample-test';

describe('a de-identified demo run quarantines images at risk of burned-in text', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let run: CliResult;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('deid-quarantine'));
    run = await runCli(['demo', '--deidentify', 'basic', '--dest', './out'], dir, {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      EDEN_PROGRESS: 'lines',
      SECRET_KEY: 'quarantine-test-secret-0123456789',
    });
  }, 180_000);

  afterAll(async () => {
    await cleanup();
  });

  it('leaves them out with BURNED_IN_RISK, and names no real instance in excluded.csv', async () => {
    expect(run.code, run.stderr).toBe(0);
    const text = await readFile(join(dir, DATASET, 'excluded.csv'), 'utf8');
    const excluded = csvObjects(text);
    const quarantined = excluded.filter((row) => row.exclusion_reason === 'BURNED_IN_RISK');
    expect(quarantined.length).toBeGreaterThanOrEqual(2);
    for (const row of quarantined) {
      expect(existsSync(join(dir, DATASET, `dicom-files/${row.instance_id}.dcm`))).toBe(false);
      expect(existsSync(join(dir, DATASET, `images-jpg/${row.instance_id}.jpg`))).toBe(false);
    }
    // Gates' details name the instance they compared with: de-identified, only the summary stays.
    const pacs = await openPglite(join(dir, '.eden/sample-pacs/db'), 'the sample PACS');
    try {
      const { rows } = await pacs.query<{ id: string }>(
        'SELECT id::text AS id FROM pacs_instances',
      );
      expect(rows.length).toBeGreaterThan(0);
      for (const { id } of rows) expect(text).not.toContain(id);
    } finally {
      await pacs.close();
    }
  });
});
