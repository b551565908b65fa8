import type { SqlClient } from '../domain/sql.js';
import type { RunCounts } from '../ledger/ledger.js';
import type { Progress } from '../observability/progress.js';
import { RunStopped } from '../pipeline/limiter.js';
import { RETRY_BASE_DELAY_MS } from '../pipeline/process-item.js';
import { runPipeline } from '../pipeline/run.js';
import type { Composition } from './compose.js';
import { TOOL_VERSION } from './package-info.js';
import {
  announceRun,
  progressCounts,
  writeAlreadyComplete,
  writeSummary,
  type SettledSoFar,
} from './run-console.js';
import { resolveRunTarget, sourceOpener, splitKeyOf, warnIfNotDeidentified } from './run-target.js';

/** One `eden-etl run` or `demo` invocation, whichever executor runs it. */
export interface RunInvocation {
  /** `true`: the latest unfinished run; a string: that run id. */
  resume?: string | true | undefined;
  /** Where the report goes (stdout). */
  out: NodeJS.WritableStream;
  signal: AbortSignal;
  /** Prepares the PACS database before it is planned from (the demo's sample PACS). */
  prepareSource?: (source: SqlClient) => Promise<void>;
}

/** `eden-etl run` and `demo` with the local executor: execute the run here, print the report. */
export async function executeRun(root: Composition, invocation: RunInvocation): Promise<number> {
  const { config, logger } = root;
  const { out } = invocation;
  const { destination, spec, runId } = await resolveRunTarget(root, config, invocation.resume);
  warnIfNotDeidentified(logger, spec);
  // Another key would mix two sets of pseudonyms: refused even when there is nothing to do.
  await root.deid(spec);
  // A finished run needs no render threads nor PACS: a rerun with nothing to do stays quick.
  const ledger = await root.ledger();
  const existing = await ledger.findRun(runId);
  if (existing?.status === 'finalized') {
    return writeAlreadyComplete(out, existing, await ledger.counts(runId));
  }
  const context = await root.pipelineContext(spec);
  // Set by the callbacks once the run starts; an object, so the type checker sees it change.
  const live: { before: RunCounts | null; progress: Progress | null } = {
    before: null,
    progress: null,
  };
  try {
    const done: SettledSoFar = { delivered: 0, failed: 0, excluded: 0, bytes: 0 };
    const result = await runPipeline(context, {
      runId,
      spec,
      openSource: sourceOpener(root, config, spec, invocation.prepareSource),
      concurrency: config.concurrency,
      retry: { attempts: config.retries + 1, baseDelayMs: RETRY_BASE_DELAY_MS },
      toolVersion: TOOL_VERSION,
      splitKey: splitKeyOf(config).key,
      signal: invocation.signal,
      onStart: (run, counts) => {
        live.before = counts;
        live.progress = announceRun(config, logger, out, run, counts);
        live.progress?.update(progressCounts(counts, done));
      },
      onItem: (item) => {
        done[item.status] += 1;
        done.bytes += item.bytes;
        if (live.before !== null) live.progress?.update(progressCounts(live.before, done));
      },
    });
    live.progress?.stop();
    if (result.state === 'already-complete') {
      return writeAlreadyComplete(out, result.run, result.counts);
    }
    return writeSummary(
      out,
      result.timings,
      live.before ?? result.counts,
      result.counts,
      `${destination.store.displayUrl}/${result.failuresKey}`,
    );
  } catch (error) {
    live.progress?.stop();
    if (error instanceof RunStopped) {
      logger.warn(
        { runId },
        'stopped: run the same command again (or `eden-etl run --resume`) to continue',
      );
    }
    throw error;
  }
}
