import { ERROR_CODES, EtlError, type ErrorCode } from '../domain/errors.js';
import type { RunActivity, RunCounts, RunRecord } from '../ledger/ledger.js';
import { formatBytes, formatClock } from '../observability/human-units.js';
import type { Composition } from './compose.js';

// The window of "current" throughput: long enough to span a few batches settling.
const RATE_WINDOW_SECONDS = 60;

/**
 * Instances per second: over the recent window while the run has pending instances (what the
 * workers do now), over the whole span of settled instances once it has none. Null when
 * nothing, or one instant only, is known.
 */
export function statusRate(counts: RunCounts, activity: RunActivity, nowMs: number): number | null {
  const first = activity.firstSettledAt === null ? null : Date.parse(activity.firstSettledAt);
  const last = activity.lastSettledAt === null ? null : Date.parse(activity.lastSettledAt);
  if (first === null || last === null) return null;
  if (counts.pending > 0) {
    const spanSeconds = Math.min(activity.windowSeconds, (nowMs - first) / 1000);
    return spanSeconds >= 1 ? activity.recentlySettled / spanSeconds : null;
  }
  const spanSeconds = (last - first) / 1000;
  return spanSeconds > 0
    ? (counts.delivered + counts.failed + counts.excluded) / spanSeconds
    : null;
}

/** `eden-etl status`: one run's progress, throughput, ETA and failures by code, from the ledger. */
export function formatRunStatus(
  run: RunRecord,
  counts: RunCounts,
  activity: RunActivity,
  nowMs: number,
): string {
  const settled = counts.delivered + counts.failed + counts.excluded;
  const percent = counts.total === 0 ? 100 : (100 * settled) / counts.total;
  const rate = statusRate(counts, activity, nowMs);
  const eta =
    counts.pending === 0
      ? '0:00:00'
      : rate === null || rate === 0 || run.status !== 'planned'
        ? '--:--:--'
        : formatClock(counts.pending / rate);
  const rateText =
    rate === null
      ? '--'
      : `${rate.toFixed(2)} inst/s (${counts.pending > 0 ? `last ${activity.windowSeconds} s` : 'whole run'})`;
  const lines = [
    `Run ${run.runId}: ${run.status}${run.dispatchRound > 1 ? ` (retry round ${run.dispatchRound})` : ''}`,
    `  Created: ${run.createdAt}`,
    `  Planned: ${run.plannedAt ?? '-'}`,
    `  Finished: ${run.finishedAt ?? '-'}${run.cancelledAt === null ? '' : `  Cancelled: ${run.cancelledAt}`}`,
    `  Destination: ${run.spec.destination}/${run.spec.prefix}`,
    `  Instances: ${settled}/${counts.total} settled (${percent.toFixed(1)}%): ${counts.delivered} delivered, ${counts.failed} failed, ${counts.excluded} excluded, ${counts.pending} pending`,
    `  Bytes: ${formatBytes(counts.dicomBytes)} DICOM, ${formatBytes(counts.imageBytes)} images`,
    `  Throughput: ${rateText}`,
    `  ETA: ${eta}`,
  ];
  const failures = (Object.entries(counts.failuresByCode) as [ErrorCode, number][]).sort(
    ([a, countA], [b, countB]) => countB - countA || (a < b ? -1 : 1),
  );
  if (failures.length > 0) {
    lines.push('  Failures by code:');
    for (const [code, count] of failures) {
      lines.push(`    ${code}: ${count} (${ERROR_CODES[code].summary})`);
      const example = counts.failureExamples[code];
      if (example !== undefined) lines.push(`      e.g. ${example}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** `eden-etl status [RUN]`: a run's progress from the ledger (the latest run without RUN). */
export async function runStatus(root: Composition, runId: string | undefined): Promise<string> {
  const ledger = await root.ledger();
  const run = runId === undefined ? await ledger.latestRun() : await ledger.findRun(runId);
  if (run === null) {
    throw new EtlError(
      'RUN_NOT_FOUND',
      runId === undefined ? 'there is no run yet' : 'no run has this id',
      {
        subject: runId,
        hint: 'check the state database (STATE_DATABASE_URL or --state-dir) and the run id',
      },
    );
  }
  const counts = await ledger.counts(run.runId);
  const activity = await ledger.activity(run.runId, RATE_WINDOW_SECONDS);
  return formatRunStatus(run, counts, activity, Date.now());
}
