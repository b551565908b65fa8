import { EtlError } from '../domain/errors.js';
import { dispatchRun } from '../pipeline/bullmq-dispatch.js';
import { batchJobId, finalizeJobId } from '../queue/settings.js';
import type { Composition } from './compose.js';
import { jobRetryOf } from './queued-run.js';
import { requireRun } from './run-target.js';

/**
 * Steering a run on the workers: `eden-etl retry` and `eden-etl cancel`. Each returns the line
 * to print.
 */

/**
 * The run's failed instances go back to pending and its unfinished batches and finalize are
 * enqueued again, as a new round of jobs. Also takes up a cancelled run, or one whose finalize
 * gave up because a batch could not finish.
 */
export async function retryRun(root: Composition, runId: string): Promise<string> {
  root.queueSettings();
  const [ledger, queues] = await Promise.all([root.ledger(), root.queues()]);
  const run = await requireRun(ledger, runId);
  if (run.status === 'planning') {
    throw new EtlError('USAGE', 'the run is still being planned: nothing to retry yet', {
      subject: runId,
      hint: 'run the same `eden-etl run` command again to finish planning it',
    });
  }
  const counts = await ledger.counts(runId);
  if (run.status === 'finalized' && counts.failed === 0) {
    return `Run ${runId} delivered every instance: nothing to retry.\n`;
  }
  const reset = await ledger.requeueFailed(runId);
  const { batches } = await dispatchRun(
    queues,
    ledger,
    await requireRun(ledger, runId),
    jobRetryOf(root.config),
  );
  return (
    `Run ${runId}: ${reset} failed instance(s) back to pending; ${batches} batch job(s) and a finalize enqueued. ` +
    `\`eden-etl status ${runId}\` follows it.\n`
  );
}

/**
 * Marks the run cancelled in the ledger first (workers then skip its batches and stop the ones
 * in progress after their instances in flight), then removes its waiting jobs. What was
 * delivered stays delivered; `eden-etl retry RUN` takes it up again.
 */
export async function cancelRun(root: Composition, runId: string): Promise<string> {
  root.queueSettings();
  const [ledger, queues] = await Promise.all([root.ledger(), root.queues()]);
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
  return (
    `Run ${runId} cancelled: ${removed} waiting job(s) removed; ${counts.delivered} delivered, ` +
    `${counts.failed} failed, ${counts.pending} left pending. \`eden-etl retry ${runId}\` takes it up again.\n`
  );
}
