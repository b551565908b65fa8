import type { Command } from 'commander';
import { EtlError } from '../domain/errors.js';
import { batchJobId, finalizeJobId } from '../queue/queues.js';
import { addSelectedConfigFlags } from '../config/flags.js';
import { resolveConfig } from '../app/invocation.js';
import { requireRun, withQueues } from '../app/queue-session.js';

/**
 * `eden-etl cancel RUN`: marks the run cancelled in the ledger first (workers then skip its
 * batches and stop the ones in progress after their instances in flight), then removes its
 * waiting jobs. What was delivered stays delivered; `eden-etl retry RUN` takes it up again.
 */
export function addCancelCommand(program: Command): void {
  const command = program
    .command('cancel')
    .description('Stop a run on the workers: its waiting jobs are removed, its batches skipped.')
    .argument('<run>', 'run id');
  addSelectedConfigFlags(command, ['stateDatabaseUrl', 'queuePrefix']).action(
    async (runId: string, options: Record<string, unknown>) => {
      const { config } = resolveConfig(options);
      await withQueues(config, async (ledger, queues) => {
        const run = await requireRun(ledger, runId);
        const cancelled = await ledger.cancelRun(runId);
        if (cancelled === null) {
          throw new EtlError('USAGE', `the run is ${run.status}: there is nothing to cancel`, {
            subject: runId,
          });
        }
        const round = cancelled.dispatchRound;
        let removed = 0;
        for (const batchNo of await ledger.batchNumbers(runId, false)) {
          // 0 when the job is gone already or locked by a worker (which then skips the rest).
          removed += await queues.batches.remove(batchJobId(runId, round, batchNo));
        }
        removed += await queues.finalize.remove(finalizeJobId(runId, round), {
          removeChildren: true,
        });
        const counts = await ledger.counts(runId);
        process.stdout.write(
          `Run ${runId} cancelled: ${removed} waiting job(s) removed; ${counts.delivered} delivered, ` +
            `${counts.failed} failed, ${counts.pending} left pending. \`eden-etl retry ${runId}\` takes it up again.\n`,
        );
      });
    },
  );
}
