import { describe, expect, it } from 'vitest';
import {
  formatBytes,
  formatClock,
  formatDuration,
} from '../../../src/observability/human-units.js';
import {
  formatExtractionStatistics,
  formatRunSummary,
  type ExtractionStatistics,
  type RunSummary,
} from '../../../src/app/run-report.js';

describe('durations and sizes', () => {
  it.each([
    [45.23, '0:00:45 (45.23s)'],
    [0.19, '0:00:00 (0.19s)'],
    [57.478, '0:00:57 (57.48s)'],
    [3725.5, '1:02:05 (3725.50s)'],
    [90_000, '25:00:00 (90000.00s)'],
  ])('%d s → %s', (seconds, expected) => {
    expect(formatDuration(seconds)).toBe(expected);
  });

  it('refuses negative or non-finite durations, naming the value', () => {
    expect(() => formatClock(-1)).toThrow(/got -1/);
    expect(() => formatDuration(Number.NaN)).toThrow(/got NaN/);
  });

  it.each([
    [0, '0 B'],
    [999, '999 B'],
    [1000, '1.0 kB'],
    [123_456_789, '123.5 MB'],
    [999_999_999, '1.0 GB'],
  ])('%d bytes → %s', (bytes, expected) => {
    expect(formatBytes(bytes)).toBe(expected);
  });
});

const extraction: ExtractionStatistics = {
  runId: 'run-1',
  resumed: false,
  totalRecords: 200,
  pages: 8,
  pageSize: 25,
  batchSize: 25,
  concurrency: 4,
};

const RULE = '='.repeat(70);

describe('run report', () => {
  it('prints the extraction block alone while the run starts', () => {
    const report = formatExtractionStatistics(extraction);
    expect(report).toBe(
      [
        RULE,
        'EXTRACTION STATISTICS',
        RULE,
        'Total records: 200',
        'Total pages: 8',
        'Page size: 25',
        'Batch size: 25',
        'Concurrency: 4',
        'Run id: run-1',
        'Run: new',
        RULE,
        '',
      ].join('\n'),
    );
  });

  it('adds timing and statistics summaries at the end', () => {
    const report = formatRunSummary({
      timings: {
        planSeconds: 0.19,
        processSeconds: 45.23,
        finalizeSeconds: 12.06,
        totalSeconds: 57.48,
      },
      totalRecords: 200,
      delivered: 150,
      failed: 3,
      skipped: 47,
      alreadyPresent: 5,
      dicomBytes: 50_000_000,
      imageBytes: 5_000_000,
      failuresByCode: { DICOM_INVALID: 1, FILE_MISSING: 2 },
      failuresCsv: 'file:///out/failures.csv',
    });
    const lines = report.split('\n');
    expect(lines).toContain('EXTRACTION AND UPLOAD COMPLETE');
    for (const line of [
      'TIMING SUMMARY:',
      '  Plan: 0:00:00 (0.19s)',
      '  Process: 0:00:45 (45.23s)',
      '  Finalize: 0:00:12 (12.06s)',
      '  TOTAL TIME: 0:00:57 (57.48s)',
      'STATISTICS SUMMARY:',
      '  Total records: 200',
      '  Delivered: 150',
      '  Failed: 3',
      '  Already present: 5',
      '  Skipped (settled earlier): 47',
      '  DICOM bytes: 50000000 (50.0 MB)',
      '  Image bytes: 5000000 (5.0 MB)',
      '  Throughput: 3.38 inst/s, 1.22 MB/s',
      '  Failures by code:',
      '    FILE_MISSING: 2 (DICOM file not found)',
      '    DICOM_INVALID: 1 (DICOM file malformed)',
      '  Failures list: file:///out/failures.csv',
    ]) {
      expect(lines).toContain(line);
    }
    expect(lines.indexOf('    FILE_MISSING: 2 (DICOM file not found)')).toBeLessThan(
      lines.indexOf('    DICOM_INVALID: 1 (DICOM file malformed)'),
    );
    expect(lines.filter((line) => line === RULE)).toHaveLength(3);
    expect(lines.every((line) => line.length <= 70)).toBe(true);
  });

  it('leaves out failures when there are none', () => {
    const summary: RunSummary = {
      timings: { planSeconds: 1, processSeconds: 0, finalizeSeconds: 1, totalSeconds: 2 },
      totalRecords: 0,
      delivered: 0,
      failed: 0,
      skipped: 0,
      alreadyPresent: 0,
      dicomBytes: 0,
      imageBytes: 0,
      failuresByCode: {},
      failuresCsv: 'file:///out/failures.csv',
    };
    const report = formatRunSummary(summary);
    expect(report).not.toContain('Failures');
    expect(report).toContain('Throughput: n/a (no processing time)');
  });

  it('shows one failure of each code, so the reason is on screen', () => {
    const report = formatRunSummary({
      timings: { planSeconds: 1, processSeconds: 2, finalizeSeconds: 1, totalSeconds: 4 },
      totalRecords: 3,
      delivered: 0,
      failed: 3,
      skipped: 0,
      alreadyPresent: 0,
      dicomBytes: 0,
      imageBytes: 0,
      failuresByCode: { FETCH_FAILED: 3 },
      failureExamples: {
        FETCH_FAILED: 'FETCH_FAILED instance 7: HTTP 401 — check PACS_HTTP_USER/PACS_HTTP_PASSWORD',
      },
      failuresCsv: null,
    });
    const lines = report.split('\n');
    const at = lines.indexOf('    FETCH_FAILED: 3 (DICOM file could not be read)');
    expect(at).toBeGreaterThan(0);
    expect(lines[at + 1]).toBe(
      '      e.g. FETCH_FAILED instance 7: HTTP 401 — check PACS_HTTP_USER/PACS_HTTP_PASSWORD',
    );
  });
});
