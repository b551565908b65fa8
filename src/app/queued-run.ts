import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config/schema.js';
import { datasetKeys } from '../dataset/object-keys.js';
import { EtlError } from '../domain/errors.js';
import type { RunCounts, RunRecord } from '../ledger/ledger.js';
import {
  dispatchRun,
  finalizeJobState,
  redispatchIfLost,
  type JobRetry,
} from '../pipeline/bullmq-dispatch.js';
import { RunStopped } from '../pipeline/limiter.js';
import { ensurePlanned } from '../pipeline/run.js';
import type { Composition } from './compose.js';
import type { RunInvocation } from './local-run.js';
import {
  announceRun,
  EXIT_OK,
  progressCounts,
  writeAlreadyComplete,
  writeSummary,
} from './run-console.js';
import {
  resolveRunTarget,
  sourceOpener,
  warnIfNotDeidentified,
  type RunTarget,
} from './run-target.js';

// How often `run` looks at the ledger and the queue while it follows a run.
const FOLLOW_POLL_MS = 500;

export function jobRetryOf(config: Config): JobRetry {
  return { attempts: config.jobAttempts, backoffMs: config.jobBackoff * 1000 };
}

export interface EnqueuedRun {
  run: RunRecord;
  target: RunTarget;
  /** Finished before: nothing was enqueued. */
  alreadyComplete: boolean;
  /** When the jobs were enqueued, on the state database's clock (ms). */
  dispatchedAtMs: number;
  /** The run's counts just before its jobs were enqueued (what this invocation starts from). */
  before: RunCounts;
}

/**
 * Plans the run (unless the ledger has it already) and enqueues its unfinished batches and its
 * finalize; a finished run is left alone. Used by `run --executor bullmq` and by workers
 * starting a scheduled run (`config` is then the schedule's).
 */
export async function enqueueRun(
  root: Composition,
  config: Config,
  resume?: string | true,
): Promise<EnqueuedRun> {
  const { logger } = root;
  const ledger = await root.ledger();
  const target = await resolveRunTarget(root, config, resume);
  warnIfNotDeidentified(logger, target.spec);
  const existing = await ledger.findRun(target.runId);
  if (existing?.status === 'finalized') {
    const counts = await ledger.counts(existing.runId);
    return { run: existing, target, alreadyComplete: true, dispatchedAtMs: 0, before: counts };
  }
  const queues = await root.queues();
  const run = await ensurePlanned(
    ledger,
    logger,
    {
      runId: target.runId,
      spec: target.spec,
      openSource: sourceOpener(root, config, target.spec),
    },
    existing,
  );
  const before = await ledger.counts(run.runId);
  const dispatchedAtMs = await ledger.clockMs();
  const { batches } = await dispatchRun(queues, ledger, run, jobRetryOf(config));
  logger.info({ runId: run.runId, batches }, 'enqueued for the workers');
  return { run, target, alreadyComplete: false, dispatchedAtMs, before };
}

/**
 * `eden-etl run` with the BullMQ executor: plan, enqueue, then follow the run in the ledger
 * until it is finalized and print the same report as the local executor (`--detach`: print the
 * run id and return). While following it enqueues the run again if Redis lost its jobs.
 */
export async function executeQueuedRun(
  root: Composition,
  invocation: RunInvocation & { detach: boolean },
): Promise<number> {
  const { out } = invocation;
  // Refused before anything is opened when Redis or a shared state database is missing.
  root.queueSettings();
  const ledger = await root.ledger();
  const started = performance.now();
  const enqueued = await enqueueRun(root, root.config, invocation.resume);
  const { run, target } = enqueued;
  if (enqueued.alreadyComplete) {
    return writeAlreadyComplete(out, run, enqueued.before);
  }
  if (invocation.detach) {
    out.write(`${run.runId}\n`);
    return EXIT_OK;
  }
  const planned = performance.now();
  const { before } = enqueued;
  const progress = announceRun(root.config, root.logger, out, run, before);
  try {
    const followed = await followRun(root, invocation.signal, run, before, (counts) =>
      progress?.update(
        progressCounts(before, {
          delivered: counts.delivered - before.delivered,
          failed: counts.failed - before.failed,
          excluded: counts.excluded - before.excluded,
          bytes: counts.dicomBytes + counts.imageBytes - before.dicomBytes - before.imageBytes,
        }),
      ),
    );
    progress?.stop();
    const finished = performance.now();
    // Processing ends with the last instance the workers recorded, on the state database's
    // clock like the enqueue time: exact, whatever the polling interval.
    const { lastSettledAt } = await ledger.activity(run.runId, 0);
    const processMs =
      lastSettledAt === null || before.pending === 0
        ? (followed.settledAt ?? finished) - planned
        : Math.max(0, Date.parse(lastSettledAt) - enqueued.dispatchedAtMs);
    return writeSummary(
      out,
      {
        planMs: planned - started,
        processMs,
        finalizeMs: Math.max(0, finished - planned - processMs),
        totalMs: finished - started,
      },
      before,
      followed.counts,
      `${target.destination.store.displayUrl}/${datasetKeys(run.spec.prefix).failures.full}`,
    );
  } catch (error) {
    progress?.stop();
    throw error;
  }
}

/** Polls the ledger until the run is finalized; fails if it is cancelled or cannot finish. */
async function followRun(
  root: Composition,
  signal: AbortSignal,
  run: RunRecord,
  before: RunCounts,
  onCounts: (counts: RunCounts) => void,
): Promise<{ counts: RunCounts; settledAt: number | null }> {
  const { logger } = root;
  const [ledger, queues] = await Promise.all([root.ledger(), root.queues()]);
  const { runId } = run;
  let settledAt: number | null = before.pending === 0 ? performance.now() : null;
  for (;;) {
    if (signal.aborted) {
      logger.warn(
        { runId },
        `stopped following; the run goes on on the workers: \`eden-etl status ${runId}\` shows it, \`eden-etl cancel ${runId}\` stops it`,
      );
      throw new RunStopped();
    }
    const current = await ledger.findRun(runId);
    const counts = await ledger.counts(runId);
    onCounts(counts);
    if (counts.pending === 0) settledAt ??= performance.now();
    if (current === null) throw new EtlError('RUN_NOT_FOUND', 'run vanished', { subject: runId });
    if (current.status === 'finalized') return { counts, settledAt };
    if (current.status === 'cancelled') {
      throw new EtlError('RUN_CANCELLED', 'the run was cancelled (`eden-etl cancel`)', {
        subject: runId,
        hint: `\`eden-etl retry ${runId}\` takes it up again`,
      });
    }
    const job = await finalizeJobState(queues, current);
    if (job.state === 'failed') {
      throw new EtlError('RUN_INCOMPLETE', job.failedReason ?? 'the finalize job failed', {
        subject: runId,
      });
    }
    if (job.state === 'missing') {
      await redispatchIfLost(queues, ledger, current, jobRetryOf(root.config), logger);
    }
    await sleep(FOLLOW_POLL_MS);
  }
}
