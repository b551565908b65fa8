import type { DatasetRow } from '../domain/dataset.js';
import type { DeidPhi, PhiFacts, PseudonymPair } from '../domain/deid.js';
import { EtlError } from '../domain/errors.js';
import type { Exclusion } from '../domain/exclusions.js';
import type { RunSpec } from '../domain/run-spec.js';
import type { SqlClient } from '../domain/sql.js';
import * as datasetRows from './dataset-rows.js';
import * as imageIndex from './image-index.js';
import * as outcomes from './outcomes.js';
import * as pseudonyms from './pseudonyms.js';
import type { PendingItem, RunActivity, RunCounts, RunRecord } from './records.js';
import * as runs from './runs.js';
import { LEDGER_SCHEMA, LEDGER_VERSION } from './schema.js';
import * as selection from './selection.js';

export type {
  PendingItem,
  RunActivity,
  RunCounts,
  RunRecord,
  StageTimings,
  StoredImage,
  StoredRecord,
} from './records.js';

/** The advisory lock that serializes preparing the schema (any constant; "eden" in ASCII). */
const LEDGER_SCHEMA_LOCK = 0x6564656e;

async function hasRuns(sql: SqlClient): Promise<boolean> {
  const { rows } = await sql.query<{ any: boolean }>(
    `SELECT to_regclass('eden_runs') IS NOT NULL AS any`,
  );
  if (rows[0]?.any !== true) return false;
  const runs = await sql.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM eden_runs) AS any');
  return runs.rows[0]?.any === true;
}

/**
 * The run state: runs, their frozen selections and each instance's outcome. Every write is
 * one statement or one transaction, so a process killed at any point leaves the ledger
 * consistent, and the ledger is the single source of truth for resume and finalize.
 */
export class Ledger {
  private constructor(private readonly sql: SqlClient) {}

  /**
   * Opens the ledger, creating its tables in a new state database. A state database of
   * another ledger version is refused (its tables would be misread); one holding no run yet
   * is simply rebuilt.
   */
  static async open(sql: SqlClient): Promise<Ledger> {
    let version: string | undefined;
    try {
      // Workers starting together on a new state database would race to create the tables
      // (CREATE TABLE IF NOT EXISTS is not safe against itself): one at a time.
      version = await sql.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1)', [LEDGER_SCHEMA_LOCK]);
        await tx.exec(
          'CREATE TABLE IF NOT EXISTS eden_meta (key text PRIMARY KEY, value text NOT NULL)',
        );
        const found = (
          await tx.query<{ value: string }>(
            `SELECT value FROM eden_meta WHERE key = 'ledger_version'`,
          )
        ).rows[0]?.value;
        if (found === undefined) {
          if (await hasRuns(tx)) return undefined;
          await tx.exec(
            'DROP TABLE IF EXISTS eden_deid_facts, eden_deid_map, eden_image_hashes, eden_study_reports, eden_items, eden_runs',
          );
          await tx.exec(LEDGER_SCHEMA);
          await tx.query(`INSERT INTO eden_meta (key, value) VALUES ('ledger_version', $1)`, [
            LEDGER_VERSION,
          ]);
          return LEDGER_VERSION;
        }
        if (found === LEDGER_VERSION) await tx.exec(LEDGER_SCHEMA);
        return found;
      });
    } catch (error) {
      throw new EtlError(
        'STATE_UNAVAILABLE',
        `cannot prepare the run state: ${(error as Error).message}`,
        { hint: 'check that the state database is writable', cause: error },
      );
    }
    if (version !== LEDGER_VERSION) {
      throw new EtlError(
        'STATE_UNAVAILABLE',
        `the run state was written by another version of eden-etl (ledger ${version ?? 'before versions'}, this one reads ${LEDGER_VERSION})`,
        { hint: 'finish its runs with that version, or point --state-dir at a new directory' },
      );
    }
    return new Ledger(sql);
  }

  findRun(runId: string): Promise<RunRecord | null> {
    return runs.findRun(this.sql, runId);
  }

  latestUnfinishedRun(): Promise<RunRecord | null> {
    return runs.latestUnfinishedRun(this.sql);
  }

  latestRun(): Promise<RunRecord | null> {
    return runs.latestRun(this.sql);
  }

  runsInProgress(minAgeSeconds: number): Promise<RunRecord[]> {
    return runs.runsInProgress(this.sql, minAgeSeconds);
  }

  cancelRun(runId: string): Promise<RunRecord | null> {
    return runs.cancelRun(this.sql, runId);
  }

  requeueFailed(runId: string): Promise<number> {
    return runs.requeueFailed(this.sql, runId);
  }

  createRun(runId: string, spec: RunSpec): Promise<RunRecord> {
    return runs.createRun(this.sql, runId, spec);
  }

  stampFinished(runId: string): Promise<RunRecord> {
    return runs.stampFinished(this.sql, runId);
  }

  markFinalized(runId: string): Promise<RunRecord> {
    return runs.markFinalized(this.sql, runId);
  }

  writeSelection(
    runId: string,
    batchSize: number,
    read: (addPage: selection.AddPage) => Promise<number>,
  ): Promise<void> {
    return selection.writeSelection(this.sql, runId, batchSize, read);
  }

  batchNumbers(runId: string, onlyPending: boolean): Promise<number[]> {
    return selection.batchNumbers(this.sql, runId, onlyPending);
  }

  pendingItems(runId: string, batchNo: number): Promise<PendingItem[]> {
    return selection.pendingItems(this.sql, runId, batchNo);
  }

  recordOutcome(runId: string, ordinal: number, outcome: outcomes.InstanceOutcome): Promise<void> {
    return outcomes.recordOutcome(this.sql, runId, ordinal, outcome);
  }

  counts(runId: string): Promise<RunCounts> {
    return outcomes.counts(this.sql, runId);
  }

  clockMs(): Promise<number> {
    return outcomes.clockMs(this.sql);
  }

  activity(runId: string, windowSeconds: number): Promise<RunActivity> {
    return outcomes.activity(this.sql, runId, windowSeconds);
  }

  admitImage(
    runId: string,
    image: imageIndex.ImageToAdmit,
    checks: imageIndex.DuplicateChecks,
  ): Promise<Exclusion | null> {
    return imageIndex.admitImage(this.sql, runId, image, checks);
  }

  recordPseudonyms(runId: string, pairs: readonly PseudonymPair[]): Promise<void> {
    return pseudonyms.recordPseudonyms(this.sql, runId, pairs);
  }

  recordPhi(runId: string, ordinal: number, studyId: string, phi: DeidPhi): Promise<void> {
    return pseudonyms.recordPhi(this.sql, runId, ordinal, studyId, phi);
  }

  deidMap(runId: string): Promise<PseudonymPair[]> {
    return pseudonyms.deidMap(this.sql, runId);
  }

  phiFacts(runId: string): Promise<{ studyId: string; facts: PhiFacts }[]> {
    return pseudonyms.phiFacts(this.sql, runId);
  }

  datasetRows(runId: string, relativeKey: (key: string) => string): Promise<DatasetRow[]> {
    return datasetRows.datasetRows(this.sql, runId, relativeKey);
  }

  studyReports(runId: string): Promise<{ studyId: string; reportValue: string }[]> {
    return datasetRows.studyReports(this.sql, runId);
  }
}
