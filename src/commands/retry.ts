import type { Command } from 'commander';
import { EtlError } from '../domain/errors.js';
import { dispatchRun } from '../pipeline/bullmq-dispatch.js';
import { addSelectedConfigFlags } from '../config/flags.js';
import { resolveConfig } from '../app/invocation.js';
import { requireRun, withQueues } from '../app/queue-session.js';
import { jobRetryOf } from '../app/queued-run.js';

/**
 * `eden-etl retry RUN`: the run's failed instances go back to pending and its unfinished
 * batches and finalize are enqueued again, as a new round of jobs. Also takes up a cancelled
 * run, or one whose finalize gave up because a batch could not finish.
 */
export function addRetryCommand(program: Command): void {
  const command = program
    .command('retry')
    .description('Re-queue the failed instances of a run (BullMQ executor) and finalize it again.')
    .argument('<run>', 'run id');
  addSelectedConfigFlags(command, [
    'stateDatabaseUrl',
    'queuePrefix',
    'jobAttempts',
    'jobBackoff',
  ]).action(async (runId: string, options: Record<string, unknown>) => {
    const { config } = resolveConfig(options);
    await withQueues(config, async (ledger, queues) => {
      const run = await requireRun(ledger, runId);
      if (run.status === 'planning') {
        throw new EtlError('USAGE', 'the run is still being planned: nothing to retry yet', {
          subject: runId,
          hint: 'run the same `eden-etl run` command again to finish planning it',
        });
      }
      const counts = await ledger.counts(runId);
      if (run.status === 'finalized' && counts.failed === 0) {
        process.stdout.write(`Run ${runId} delivered every instance: nothing to retry.\n`);
        return;
      }
      const reset = await ledger.requeueFailed(runId);
      const { batches } = await dispatchRun(
        queues,
        ledger,
        await requireRun(ledger, runId),
        jobRetryOf(config),
      );
      process.stdout.write(
        `Run ${runId}: ${reset} failed instance(s) back to pending; ${batches} batch job(s) and a finalize enqueued. ` +
          `\`eden-etl status ${runId}\` follows it.\n`,
      );
    });
  });
}
