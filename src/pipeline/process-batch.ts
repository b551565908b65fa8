import type { RunRecord } from '../ledger/ledger.js';
import type { DatasetKeys } from '../load/object-keys.js';
import type { Limiter } from '../queue/limiter.js';
import type { PipelineContext } from './context.js';
import { processItem, type ItemResult, type RetryPolicy } from './process-item.js';

/**
 * Processes the pending instances of one batch (a contiguous slice of the frozen selection).
 * Safe to run again: only pending instances are taken. Waits for every instance it started
 * before reporting the first error that stops the run.
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
  const settled = await Promise.allSettled(
    items.map((item) =>
      limit(async () => {
        const result = await processItem(ctx, run.runId, run.spec, keys, item, retry);
        onItem(result);
      }),
    ),
  );
  const failure = settled.find((entry) => entry.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
}
