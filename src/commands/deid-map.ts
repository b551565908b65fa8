import { chmod, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { EtlError } from '../domain/errors.js';
import type { PseudonymPair } from '../domain/deid.js';
import { buildCsv, cell, type CsvColumn } from '../dataset/csv-format.js';
import { withComposition } from '../app/compose.js';
import { addConfigFlags } from '../config/flags.js';
import { loggerFor, resolveConfig } from '../app/invocation.js';
import { COMMANDS } from './catalog.js';

const COLUMNS: readonly CsvColumn<PseudonymPair>[] = [
  {
    name: 'kind',
    meaning: 'patient, accession, uid, study, series or instance',
    format: 'text',
    value: (row) => row.kind,
  },
  {
    name: 'real_value',
    meaning: 'the value in the PACS',
    format: 'text',
    value: (row) => cell.text(row.real),
  },
  {
    name: 'pseudonym',
    meaning: 'the value in the dataset',
    format: 'text',
    value: (row) => cell.text(row.pseudonym),
  },
];

/**
 * `eden-etl deid-map RUN --out FILE`: the real → pseudonym map of a de-identified run, for the
 * data steward who must re-identify a finding. It is the one way the map leaves the ledger, so
 * it goes to a local file readable by its owner only, never to the dataset's destination.
 */
export function define(program: Command): void {
  addConfigFlags(
    program
      .command('deid-map')
      .argument('<run>', 'the run id (printed by the run, and in README-dataset.md)')
      .requiredOption('--out <file>', 'local CSV file to write the map to (mode 0600)')
      .description(COMMANDS['deid-map'].description),
  ).action(async (runId: string, options: Record<string, unknown>) => {
    const out = String(options.out);
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(out)) {
      throw new EtlError('USAGE', 'the map is written to a local file only', {
        subject: out,
        hint: 'give --out a local path; the map must not leave the hospital',
      });
    }
    const { config } = resolveConfig(options);
    await withComposition(config, loggerFor(config), async (root) => {
      const ledger = await root.ledger();
      const run = await ledger.findRun(runId);
      if (run === null) {
        throw new EtlError('RUN_NOT_FOUND', 'no run has this id', {
          subject: runId,
          hint: 'check --state-dir or STATE_DATABASE_URL',
        });
      }
      if (run.spec.deid === undefined) {
        throw new EtlError('USAGE', 'this run did not de-identify: it has no pseudonyms', {
          subject: runId,
        });
      }
      const pairs = await ledger.deidMap(runId);
      await writeFile(out, buildCsv(COLUMNS, pairs), { mode: 0o600 });
      // writeFile's mode applies to a new file only; an existing one may be readable by others.
      await chmod(out, 0o600);
      process.stdout.write(`${pairs.length} pseudonyms of run ${runId} written to ${out}\n`);
    });
  });
}
