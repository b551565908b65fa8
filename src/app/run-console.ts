import type { Config } from '../config/schema.js';
import type { RunCounts, RunRecord } from '../ledger/ledger.js';
import type { Logger } from '../observability/logger.js';
import { createProgress, type Progress } from '../observability/progress.js';
import { formatExtractionStatistics, formatRunSummary } from './run-report.js';

/**
 * What a run invocation prints, whichever executor ran it: the EXTRACTION STATISTICS block and
 * the progress display when it starts, the summary when it ends, and the exit code.
 */

/** Exit codes (README): 0 all delivered, 3 some instances failed. Others are thrown. */
export const EXIT_OK = 0;
const EXIT_FAILED_INSTANCES = 3;

/** Instances this invocation settled so far, and the bytes it stored. */
export interface SettledSoFar {
  delivered: number;
  failed: number;
  excluded: number;
  bytes: number;
}

/** The progress display's counts: what settled before this invocation plus what it settled. */
export function progressCounts(before: RunCounts, done: SettledSoFar) {
  const skipped = before.delivered + before.failed + before.excluded;
  return {
    done: skipped + done.delivered + done.failed + done.excluded,
    failed: before.failed + done.failed,
    skipped,
    bytes: done.bytes,
  };
}

/** The EXTRACTION STATISTICS block, and the progress display that follows it. */
export function announceRun(
  config: Config,
  logger: Logger,
  out: NodeJS.WritableStream,
  run: RunRecord,
  counts: RunCounts,
): Progress | null {
  out.write(
    formatExtractionStatistics({
      runId: run.runId,
      resumed: counts.delivered + counts.failed + counts.excluded > 0,
      totalRecords: counts.total,
      pages: run.pages ?? 0,
      pageSize: run.spec.pageSize,
      batchSize: run.spec.batchSize,
      concurrency: config.concurrency,
    }),
  );
  if (config.progress === 'off') return null;
  const tty =
    config.progress === 'bar' || (config.progress === 'auto' && process.stderr.isTTY === true);
  return createProgress({ total: counts.total, tty, stream: process.stderr, logger });
}

export function writeAlreadyComplete(
  out: NodeJS.WritableStream,
  run: RunRecord,
  counts: RunCounts,
): number {
  out.write(
    `Run ${run.runId} is already complete (finished ${run.finishedAt ?? '?'}): ` +
      `${counts.delivered} delivered, ${counts.failed} failed, ${counts.excluded} excluded. Nothing to upload.\n`,
  );
  return counts.failed > 0 ? EXIT_FAILED_INSTANCES : EXIT_OK;
}

/** The TIMING and STATISTICS SUMMARY blocks for what this invocation did; returns the exit code. */
export function writeSummary(
  out: NodeJS.WritableStream,
  timingsMs: { planMs: number; processMs: number; finalizeMs: number; totalMs: number },
  before: RunCounts,
  after: RunCounts,
  failuresCsv: string,
): number {
  const s = (ms: number) => ms / 1000;
  out.write(
    formatRunSummary({
      timings: {
        planSeconds: s(timingsMs.planMs),
        processSeconds: s(timingsMs.processMs),
        finalizeSeconds: s(timingsMs.finalizeMs),
        totalSeconds: s(timingsMs.totalMs),
      },
      totalRecords: after.total,
      delivered: after.delivered - before.delivered,
      failed: after.failed - before.failed,
      excluded: after.excluded - before.excluded,
      excludedByReason: after.excludedByReason,
      skipped: before.delivered + before.failed + before.excluded,
      alreadyPresent: after.alreadyPresent,
      dicomBytes: after.dicomBytes - before.dicomBytes,
      imageBytes: after.imageBytes - before.imageBytes,
      failuresByCode: after.failuresByCode,
      failureExamples: after.failureExamples,
      failuresCsv,
    }),
  );
  return after.failed > 0 ? EXIT_FAILED_INSTANCES : EXIT_OK;
}
