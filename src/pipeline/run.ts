import { performance } from 'node:perf_hooks';
import { EtlError } from '../domain/errors.js';
import type { SqlClient } from '../domain/sql.js';
import { compileNamedParameters, type SelectionQuery } from '../source/query-file.js';
import type { Ledger, RunCounts, RunRecord } from '../ledger/ledger.js';
import type { Logger } from '../observability/logger.js';
import { datasetKeys } from '../dataset/object-keys.js';
import { runBatchesLocally } from './local-executor.js';
import type { PipelineContext } from './context.js';
import { finalizeRun } from './finalize.js';
import { planRun } from './plan.js';
import { processBatch } from './process-batch.js';
import type { ItemResult, RetryPolicy } from './process-item.js';
import type { RunSpec } from '../domain/run-spec.js';

export interface RunRequest {
  runId: string;
  spec: RunSpec;
  /** Opens the PACS database; called only when the selection still has to be planned. */
  openSource: () => Promise<SqlClient>;
  concurrency: number;
  retry: RetryPolicy;
  toolVersion: string;
  /** Key of the patient-split hash (see load/patient-splits.ts); never stored. */
  splitKey: string;
  signal?: AbortSignal;
  /** Called when planning is done, with the counts the run starts from. */
  onStart?: (run: RunRecord, counts: RunCounts) => void;
  /** Called after each instance settles. */
  onItem?: (result: ItemResult) => void;
}

export interface RunResult {
  run: RunRecord;
  /** `already-complete`: the run had finished before; nothing was done. */
  state: 'completed' | 'already-complete';
  /** The run existed before this invocation (a resume). */
  resumed: boolean;
  counts: RunCounts;
  failuresKey: string;
  timings: { planMs: number; processMs: number; finalizeMs: number; totalMs: number };
}

/** The query as the run froze it: resumes use the stored text, not today's file. */
function storedQuery(spec: RunSpec): SelectionQuery {
  return { ...spec.query, ...compileNamedParameters(spec.query.text) };
}

/**
 * The run's frozen selection: planned now unless an earlier invocation did (a run killed while
 * planning, or whose selection was empty, is planned again). Refuses a cancelled run and an
 * empty selection.
 */
export async function ensurePlanned(
  ledger: Ledger,
  logger: Logger,
  request: Pick<RunRequest, 'runId' | 'spec' | 'openSource'>,
  existing: RunRecord | null,
): Promise<RunRecord> {
  let run = existing;
  if (run?.status === 'cancelled') {
    throw new EtlError('RUN_CANCELLED', 'this run was cancelled', {
      subject: run.runId,
      hint: `\`eden-etl retry ${run.runId}\` takes it up again`,
    });
  }
  // An empty selection froze nothing worth resuming: planned again, it sees what the PACS
  // holds now, as the refusal below tells the user to check.
  const empty = run?.status === 'planned' && run.totalInstances === 0;
  if (run === null || run.status === 'planning' || empty) {
    logger.info(
      { runId: request.runId },
      run === null
        ? 'planning'
        : empty
          ? 'planning again (the selection was empty)'
          : 'planning again (interrupted)',
    );
    const source = await request.openSource();
    try {
      run = await planRun(ledger, source, request.runId, request.spec, storedQuery(request.spec));
    } finally {
      await source.close();
    }
  }
  if (run.totalInstances === 0) {
    throw new EtlError('QUERY_INVALID', 'the selection is empty: the query returned no instance', {
      subject: run.spec.query.path,
      hint: 'check the query parameters (--studies, --seed) and the PACS contents',
    });
  }
  return run;
}

/**
 * A whole run: plan (unless the selection is already frozen), process every pending batch,
 * finalize. Every step works from the ledger, so calling this again after a crash continues
 * where the previous call stopped, and calling it on a finished run does nothing.
 */
export async function runPipeline(ctx: PipelineContext, request: RunRequest): Promise<RunResult> {
  const started = performance.now();
  const keys = datasetKeys(request.spec.prefix);
  let run = await ctx.ledger.findRun(request.runId);
  const resumed = run !== null;

  if (run?.status === 'finalized') {
    return {
      run,
      state: 'already-complete',
      resumed,
      counts: await ctx.ledger.counts(run.runId),
      failuresKey: keys.failures.full,
      timings: { planMs: 0, processMs: 0, finalizeMs: 0, totalMs: performance.now() - started },
    };
  }

  run = await ensurePlanned(ctx.ledger, ctx.logger, request, run);
  const planned = performance.now();

  const before = await ctx.ledger.counts(run.runId);
  request.onStart?.(run, before);
  const batches = await ctx.ledger.batchNumbers(run.runId, true);
  const current = run;
  await runBatchesLocally(
    batches,
    { concurrency: request.concurrency, signal: request.signal },
    (batchNo, limit) =>
      processBatch(ctx, current, keys, batchNo, limit, request.retry, (result) =>
        request.onItem?.(result),
      ),
  );
  const processed = performance.now();

  const final = await finalizeRun(
    ctx.ledger,
    ctx.store,
    keys,
    run.runId,
    request.toolVersion,
    request.splitKey,
  );
  const finished = performance.now();
  return {
    run: final.run,
    state: 'completed',
    resumed,
    counts: final.counts,
    failuresKey: final.failuresKey,
    timings: {
      planMs: planned - started,
      processMs: processed - planned,
      finalizeMs: finished - processed,
      totalMs: finished - started,
    },
  };
}
