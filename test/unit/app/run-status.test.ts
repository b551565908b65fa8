import { describe, expect, it } from 'vitest';
import type { RunActivity, RunCounts, RunRecord } from '../../../src/ledger/ledger.js';
import { formatRunStatus, statusRate } from '../../../src/app/run-status.js';
import { TEST_SPEC } from '../../support/ledger-fixtures.js';

const NOW = Date.parse('2026-01-01T12:00:00Z');

const run: RunRecord = {
  runId: 'abc',
  status: 'planned',
  spec: {
    ...TEST_SPEC,
    source: 'postgres://db/pacs',
    batchSize: 25,
    destination: 'gs://bucket',
    prefix: 'data',
  },

  pages: 1,
  totalInstances: 200,
  totalStudies: 10,
  createdAt: '2026-01-01T11:00:00.000Z',
  plannedAt: '2026-01-01T11:00:01.000Z',
  finishedAt: null,
  dispatchRound: 1,
  cancelledAt: null,
};

function counts(pending: number, failed: number): RunCounts {
  return {
    total: 200,
    pending,
    delivered: 200 - pending - failed,
    failed,
    excluded: 0,
    excludedByReason: {},
    alreadyPresent: 0,
    dicomBytes: 5_000_000,
    imageBytes: 1_000_000,
    failuresByCode: failed > 0 ? { FILE_MISSING: failed } : {},
    failureExamples: failed > 0 ? { FILE_MISSING: 'FILE_MISSING instance 7: gone' } : {},
  };
}

const activity = (first: string, last: string, recent: number): RunActivity => ({
  firstSettledAt: first,
  lastSettledAt: last,
  recentlySettled: recent,
  windowSeconds: 60,
});

describe('statusRate', () => {
  it('uses the recent window while instances are pending', () => {
    expect(
      statusRate(counts(80, 0), activity('2026-01-01T11:50:00Z', '2026-01-01T11:59:59Z', 120), NOW),
    ).toBe(2);
  });

  it('uses the span since the first settled instance when the run is younger than the window', () => {
    expect(
      statusRate(counts(180, 0), activity('2026-01-01T11:59:40Z', '2026-01-01T11:59:59Z', 20), NOW),
    ).toBe(1);
  });

  it('uses the whole run once nothing is pending, and knows nothing before anything settled', () => {
    expect(
      statusRate(counts(0, 0), activity('2026-01-01T11:00:00Z', '2026-01-01T11:01:40Z', 0), NOW),
    ).toBe(2);
    expect(
      statusRate(
        counts(200, 0),
        { firstSettledAt: null, lastSettledAt: null, recentlySettled: 0, windowSeconds: 60 },
        NOW,
      ),
    ).toBeNull();
  });
});

describe('formatRunStatus', () => {
  it('shows progress, throughput, ETA and failures by code with an example', () => {
    const text = formatRunStatus(
      run,
      counts(80, 2),
      activity('2026-01-01T11:50:00Z', '2026-01-01T11:59:59Z', 120),
      NOW,
    );
    expect(text).toContain('Run abc: planned\n');
    expect(text).toContain(
      'Instances: 120/200 settled (60.0%): 118 delivered, 2 failed, 0 excluded, 80 pending',
    );
    expect(text).toContain('Throughput: 2.00 inst/s (last 60 s)');
    expect(text).toContain('ETA: 0:00:40');
    expect(text).toContain(
      'FILE_MISSING: 2 (DICOM file not found)\n      e.g. FILE_MISSING instance 7: gone',
    );
    expect(text).toContain('Destination: gs://bucket/data');
  });

  it('shows no ETA for a cancelled run, and the retry round', () => {
    const text = formatRunStatus(
      { ...run, status: 'cancelled', dispatchRound: 2, cancelledAt: '2026-01-01T11:59:00.000Z' },
      counts(80, 0),
      activity('2026-01-01T11:50:00Z', '2026-01-01T11:59:00Z', 60),
      NOW,
    );
    expect(text).toContain('Run abc: cancelled (retry round 2)');
    expect(text).toContain('Cancelled: 2026-01-01T11:59:00.000Z');
    expect(text).toContain('ETA: --:--:--');
  });
});
