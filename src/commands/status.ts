import type { Command } from 'commander';
import { EtlError } from '../domain/errors.js';
import { Ledger } from '../ledger/ledger.js';
import { formatRunStatus } from '../app/run-status.js';
import { openState } from '../app/compose.js';
import { addSelectedConfigFlags } from '../config/flags.js';
import { resolveConfig } from '../app/invocation.js';

// The window of "current" throughput: long enough to span a few batches settling.
const RATE_WINDOW_SECONDS = 60;

/** `eden-etl status [RUN]`: a run's progress from the ledger (the latest run without RUN). */
export function addStatusCommand(program: Command): void {
  const command = program
    .command('status')
    .description(
      'Show a run’s progress, throughput, ETA and failures by code, from the ledger (the latest run without RUN).',
    )
    .argument('[run]', 'run id');
  addSelectedConfigFlags(command, ['stateDir', 'stateDatabaseUrl']).action(
    async (runId: string | undefined, options: Record<string, unknown>) => {
      const { config } = resolveConfig(options);
      const stateDb = await openState(config);
      try {
        const ledger = await Ledger.open(stateDb);
        const run = runId === undefined ? await ledger.latestRun() : await ledger.findRun(runId);
        if (run === null) {
          throw new EtlError(
            'RUN_NOT_FOUND',
            runId === undefined ? 'there is no run yet' : 'no run has this id',
            {
              subject: runId,
              hint: 'check the state database (STATE_DATABASE_URL or --state-dir) and the run id',
            },
          );
        }
        const counts = await ledger.counts(run.runId);
        const activity = await ledger.activity(run.runId, RATE_WINDOW_SECONDS);
        process.stdout.write(formatRunStatus(run, counts, activity, Date.now()));
      } finally {
        await stateDb.close();
      }
    },
  );
}
