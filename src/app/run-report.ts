import { ERROR_CODES, type ErrorCode } from '../domain/errors.js';
import type { ExclusionReason } from '../domain/exclusions.js';
import { formatBytes, formatDuration } from '../observability/human-units.js';

/**
 * The console report, in the original's shape (seed README, "Console Output"): an
 * EXTRACTION STATISTICS block when the run starts, TIMING SUMMARY and STATISTICS SUMMARY at the
 * end. People compare runs of the two systems by these blocks, so labels and formats follow it.
 */

/** Known once the selection is planned. */
export interface ExtractionStatistics {
  runId: string;
  /** True when this invocation continues an earlier, interrupted run. */
  resumed: boolean;
  totalRecords: number;
  pages: number;
  pageSize: number;
  batchSize: number;
  concurrency: number;
}

/**
 * Known when the run is over. Seconds are wall-clock. Instance counts are disjoint and about this
 * invocation, so a finished run has delivered + failed + excluded + skipped = totalRecords.
 */
export interface RunSummary {
  timings: {
    planSeconds: number;
    processSeconds: number;
    finalizeSeconds: number;
    totalSeconds: number;
  };
  totalRecords: number;
  /** Delivered by this invocation (including objects the destination already held). */
  delivered: number;
  failed: number;
  /** Kept out by a quality gate (not an error: the exit code does not change). */
  excluded?: number;
  /** Over the whole run, by reason code. */
  excludedByReason?: Partial<Record<ExclusionReason, number>>;
  /** Settled without work: delivered by an earlier attempt of the run. */
  skipped: number;
  /** Of `delivered`, instances whose objects the destination already held (nothing written). */
  alreadyPresent: number;
  /** Bytes this invocation wrote or confirmed at the destination. */
  dicomBytes: number;
  imageBytes: number;
  failuresByCode: Partial<Record<ErrorCode, number>>;
  /** One failure of each code, as its one-line message: the reason users act on. */
  failureExamples?: Partial<Record<ErrorCode, string>>;
  /** Where failures.csv was written (path or URL); shown when something failed. */
  failuresCsv: string | null;
}

const RULE = '='.repeat(70);

function extractionBlock(stats: ExtractionStatistics): string[] {
  return [
    RULE,
    'EXTRACTION STATISTICS',
    RULE,
    `Total records: ${stats.totalRecords}`,
    `Total pages: ${stats.pages}`,
    `Page size: ${stats.pageSize}`,
    `Batch size: ${stats.batchSize}`,
    `Concurrency: ${stats.concurrency}`,
    `Run id: ${stats.runId}`,
    `Run: ${stats.resumed ? 'resumed' : 'new'}`,
    RULE,
  ];
}

function throughput(summary: RunSummary): string {
  const seconds = summary.timings.processSeconds;
  if (seconds <= 0) return 'n/a (no processing time)';
  // Skipped instances took no work; counting them would flatter the rate.
  const instances = summary.delivered + summary.failed + (summary.excluded ?? 0);
  const megabytes = (summary.dicomBytes + summary.imageBytes) / 1e6;
  return `${(instances / seconds).toFixed(2)} inst/s, ${(megabytes / seconds).toFixed(2)} MB/s`;
}

function summaryBlocks(summary: RunSummary): string[] {
  const { timings } = summary;
  const failures = (Object.entries(summary.failuresByCode) as [ErrorCode, number][])
    .filter(([, count]) => count > 0)
    .sort(([a, countA], [b, countB]) => countB - countA || (a < b ? -1 : a > b ? 1 : 0));
  const lines = [
    RULE,
    'TIMING SUMMARY:',
    `  Plan: ${formatDuration(timings.planSeconds)}`,
    `  Process: ${formatDuration(timings.processSeconds)}`,
    `  Finalize: ${formatDuration(timings.finalizeSeconds)}`,
    `  TOTAL TIME: ${formatDuration(timings.totalSeconds)}`,
    '',
    'STATISTICS SUMMARY:',
    `  Total records: ${summary.totalRecords}`,
    `  Delivered: ${summary.delivered}`,
    `  Failed: ${summary.failed}`,
    `  Excluded by quality gates: ${summary.excluded ?? 0}`,
    `  Already present: ${summary.alreadyPresent}`,
    `  Skipped (settled earlier): ${summary.skipped}`,
    `  DICOM bytes: ${summary.dicomBytes} (${formatBytes(summary.dicomBytes)})`,
    `  Image bytes: ${summary.imageBytes} (${formatBytes(summary.imageBytes)})`,
    `  Throughput: ${throughput(summary)}`,
  ];
  if (failures.length > 0) {
    lines.push('  Failures by code:');
    for (const [code, count] of failures) {
      lines.push(`    ${code}: ${count} (${ERROR_CODES[code]?.summary ?? 'unknown code'})`);
      const example = summary.failureExamples?.[code];
      if (example !== undefined) lines.push(`      e.g. ${example}`);
    }
  }
  const excluded = Object.entries(summary.excludedByReason ?? {}).filter(([, n]) => n > 0);
  if (excluded.length > 0) {
    lines.push('  Excluded by reason (listed in excluded.csv):');
    for (const [reason, count] of excluded) lines.push(`    ${reason}: ${count}`);
  }
  if (summary.failed > 0 && summary.failuresCsv !== null) {
    lines.push(`  Failures list: ${summary.failuresCsv}`);
  }
  lines.push(RULE);
  return lines;
}

/** The block printed once the selection is planned, before any instance is processed. */
export function formatExtractionStatistics(stats: ExtractionStatistics): string {
  return `${extractionBlock(stats).join('\n')}\n`;
}

/** The blocks printed when the run is over, under the original's completion heading. */
export function formatRunSummary(summary: RunSummary): string {
  return `${[RULE, 'EXTRACTION AND UPLOAD COMPLETE', ...summaryBlocks(summary)].join('\n')}\n`;
}
