import { createLimiter, RunStopped, type Limiter } from './limiter.js';
import { OPEN_BATCHES } from './process-batch.js';

export interface LocalExecutorOptions {
  /** Instances in flight at once across batches. */
  concurrency: number;
  /** Aborting stops new instances from starting; those in flight finish. */
  signal?: AbortSignal;
}

/**
 * Runs batches in this process. One limiter bounds the instances in flight across batches,
 * so memory does not grow with the size of a batch or of the run. The first error that
 * escapes a batch (one that stops the run) stops new work; work in flight is awaited, then
 * the error is thrown. An external abort ends with RunStopped once in-flight work is done.
 */
export async function runBatchesLocally(
  batchNos: readonly number[],
  options: LocalExecutorOptions,
  work: (batchNo: number, limit: Limiter) => Promise<void>,
): Promise<void> {
  const controller = new AbortController();
  const onExternalAbort = () => controller.abort();
  options.signal?.addEventListener('abort', onExternalAbort, { once: true });
  if (options.signal?.aborted === true) controller.abort();
  const limit = createLimiter(options.concurrency, controller.signal);
  const queue = [...batchNos];
  // Set from inside the lanes; an object so the type checker sees it may change.
  const outcome: { failure: Error | null } = { failure: null };
  const lane = async () => {
    while (queue.length > 0 && !controller.signal.aborted) {
      const batchNo = queue.shift() as number;
      try {
        await work(batchNo, limit);
      } catch (error) {
        if (!(error instanceof RunStopped)) {
          outcome.failure ??= error instanceof Error ? error : new Error(JSON.stringify(error));
        }
        controller.abort();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: OPEN_BATCHES }, lane));
  } finally {
    options.signal?.removeEventListener('abort', onExternalAbort);
  }
  if (outcome.failure !== null) throw outcome.failure;
  if (controller.signal.aborted) throw new RunStopped();
}
