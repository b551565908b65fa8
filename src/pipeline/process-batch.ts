import type { RunRecord } from '../ledger/ledger.js';
import type { DatasetKeys } from '../dataset/object-keys.js';
import type { Limiter } from './limiter.js';
import type { PipelineContext } from './context.js';
import { processItem, type ItemResult, type RetryPolicy } from './process-item.js';

/**
 * Batches open at once in one process, whatever the executor: the next batch's first instances
 * fill the slots the current batch's tail leaves free, so the process stays busy to the end.
 */
export const OPEN_BATCHES = 2;

/**
 * Processes the pending instances of one batch (a contiguous slice of the frozen selection).
 * Safe to run again: only pending instances are taken. After an error that stops the run
 * (the destination refuses us), instances not yet started stay pending; those in flight are
 * awaited, then the first such error is thrown.
 */
export async function processBatch(
  ctx: PipelineContext,
  run: RunRecord,
  keys: DatasetKeys,
  batchNo: number,
  limit: Limiter,
  retry: RetryPolicy,
  onItem: (result: ItemResult) => void,
): Promise<void> {
  const items = await ctx.ledger.pendingItems(run.runId, batchNo);
  // Set by the first item that stops the run; an object so the type checker sees it change.
  const stop: { error: Error | undefined } = { error: undefined };
  const settled = await Promise.allSettled(
    items.map((item) =>
      limit(async () => {
        if (stop.error !== undefined) return;
        try {
          onItem(await processItem(ctx, run.runId, run.spec, keys, item, retry));
        } catch (error) {
          stop.error ??= error instanceof Error ? error : new Error(String(error));
        }
      }),
    ),
  );
  if (stop.error !== undefined) throw stop.error;
  // The limiter refuses instances once the run is stopped from outside (RunStopped).
  const refused = settled.find((entry) => entry.status === 'rejected');
  if (refused !== undefined) throw refused.reason;
}
