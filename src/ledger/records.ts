import type { ErrorCode } from '../domain/errors.js';
import type { ExclusionReason } from '../domain/exclusions.js';
import type { RunSpec } from '../domain/run-spec.js';

/** The records the ledger returns: what callers read of the run state. */

export type RunStatus = 'planning' | 'planned' | 'finalized' | 'cancelled';

export interface RunRecord {
  runId: string;
  status: RunStatus;
  spec: RunSpec;
  pages: number | null;
  totalInstances: number | null;
  totalStudies: number | null;
  createdAt: string;
  plannedAt: string | null;
  finishedAt: string | null;
  /** Which dispatch of the run's jobs is current (1, then +1 per `eden-etl retry`). */
  dispatchRound: number;
  cancelledAt: string | null;
}

/** When instances settled, for throughput and ETA (`eden-etl status`). */
export interface RunActivity {
  firstSettledAt: string | null;
  lastSettledAt: string | null;
  /** Instances settled in the last `windowSeconds`. */
  recentlySettled: number;
  windowSeconds: number;
}

/** An instance still to process, as a batch sees it. */
export interface PendingItem {
  ordinal: number;
  studyId: string;
  seriesId: string;
  /** The study's aggregated report, for the report gate. */
  reportValue: string;
  instanceId: string;
  filePath: string | null;
  fileUrl: string | null;
  attempts: number;
}

/** What was stored for one object, as the ledger keeps it. */
export interface StoredRecord {
  key: string;
  size: number;
  md5: string;
  sha256: string;
  outcome: 'created' | 'already-present';
}

/** Milliseconds an instance spent in each stage (of its last attempt); absent: not reached. */
export interface StageTimings {
  fetch?: number;
  render?: number;
  store?: number;
}

/** A rendered image as the ledger keeps it: one per instance, or one per frame. */
export interface StoredImage extends StoredRecord {
  /** 1-based frame of the DICOM image. */
  frame: number;
}

export interface RunCounts {
  total: number;
  pending: number;
  delivered: number;
  failed: number;
  /** Kept out by a quality gate (nothing stored). */
  excluded: number;
  excludedByReason: Partial<Record<ExclusionReason, number>>;
  /** Objects found already in the destination with the same content (not written again). */
  alreadyPresent: number;
  dicomBytes: number;
  imageBytes: number;
  failuresByCode: Partial<Record<ErrorCode, number>>;
  /** The first failure of each code (selection order), as its one-line message. */
  failureExamples: Partial<Record<ErrorCode, string>>;
}
