import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  EXIT_OK,
  progressCounts,
  writeAlreadyComplete,
  writeSummary,
} from '../../../src/app/run-console.js';
import type { RunCounts, RunRecord } from '../../../src/ledger/ledger.js';
import { TEST_SPEC } from '../../support/ledger-fixtures.js';

function counts(overrides: Partial<RunCounts> = {}): RunCounts {
  return {
    total: 10,
    pending: 0,
    delivered: 0,
    failed: 0,
    excluded: 0,
    excludedByReason: {},
    alreadyPresent: 0,
    dicomBytes: 0,
    imageBytes: 0,
    failuresByCode: {},
    failureExamples: {},
    ...overrides,
  };
}

const RUN: RunRecord = {
  runId: 'r1',
  status: 'finalized',
  spec: TEST_SPEC,
  pages: 1,
  totalInstances: 10,
  totalStudies: 2,
  createdAt: '2026-01-01T00:00:00.000Z',
  plannedAt: '2026-01-01T00:00:01.000Z',
  finishedAt: '2026-01-01T00:01:00.000Z',
  dispatchRound: 1,
  cancelledAt: null,
};

function capture(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { out, text: () => Buffer.concat(chunks).toString() };
}

describe('progressCounts', () => {
  it('adds what this invocation settled to what was settled before it', () => {
    const before = counts({ delivered: 3, failed: 1, excluded: 1, pending: 5 });
    expect(progressCounts(before, { delivered: 2, failed: 1, excluded: 0, bytes: 2048 })).toEqual({
      done: 8,
      failed: 2,
      skipped: 5,
      bytes: 2048,
    });
  });
});

describe('the run report', () => {
  it('says a finished run has nothing to do, exit 0, or 3 when it had failures', () => {
    const clean = capture();
    expect(writeAlreadyComplete(clean.out, RUN, counts({ delivered: 8, excluded: 2 }))).toBe(
      EXIT_OK,
    );
    expect(clean.text()).toBe(
      'Run r1 is already complete (finished 2026-01-01T00:01:00.000Z): 8 delivered, 0 failed, 2 excluded. Nothing to upload.\n',
    );
    expect(writeAlreadyComplete(capture().out, RUN, counts({ delivered: 9, failed: 1 }))).toBe(3);
  });

  it('sums up this invocation only: a resumed run counts what it skipped apart', () => {
    const { out, text } = capture();
    const before = counts({ delivered: 4, pending: 6, dicomBytes: 400 });
    const after = counts({
      delivered: 9,
      failed: 1,
      dicomBytes: 1400,
      failuresByCode: { NOT_DICOM: 1 },
      failureExamples: { NOT_DICOM: 'NOT_DICOM instance 7: not a DICOM file' },
    });
    const code = writeSummary(
      out,
      { planMs: 0, processMs: 2000, finalizeMs: 500, totalMs: 2500 },
      before,
      after,
      'file:///out/failures.csv',
    );
    expect(code).toBe(3);
    expect(text()).toMatch(/Delivered: 5\n/);
    expect(text()).toMatch(/Failed: 1\n/);
    expect(text()).toMatch(/Skipped \(settled earlier\): 4\n/);
    expect(text()).toMatch(/DICOM bytes: 1000 /);
    expect(text()).toContain('file:///out/failures.csv');
  });
});
