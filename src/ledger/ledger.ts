import type {
  DatasetRow,
  DeidentificationDescription,
  InstanceAttributes,
  SelectedInstance,
} from '../domain/dataset.js';
import { DEID_METHOD_CODES, DEID_PROFILE_NAME, type DeidPhi } from '../deid/deidentify-dicom.js';
import {
  addCounts,
  noFacts,
  scrubText,
  type PhiFacts,
  type ScrubCounts,
  type ScrubResult,
} from '../deid/report-scrubber.js';
import { ERROR_CODES, EtlError, type ErrorCode } from '../domain/errors.js';
import { EXCLUSION_REASONS, type Exclusion, type ExclusionReason } from '../domain/exclusions.js';
import type { RenderRecipe } from '../domain/render.js';
import type { SqlClient } from '../domain/sql.js';
import type { DeidSpec, RunSpec } from '../domain/run-spec.js';
import { aggregateStudyReport } from '../source/study-report.js';
import { LEDGER_SCHEMA, LEDGER_VERSION } from './schema.js';

type RunStatus = 'planning' | 'planned' | 'finalized' | 'cancelled';

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

/** One real → pseudonym pair of a de-identified run. */
export interface LedgerPseudonym {
  kind: string;
  real: string;
  pseudonym: string;
}

/** A report time moved like the study's dates; dropped when the study's shift is unknown. */
function shiftTimestamp(iso: string | null, days: number | null | undefined): string | null {
  if (iso === null || days === null || days === undefined) return null;
  return new Date(Date.parse(iso) + days * 86_400_000).toISOString();
}

/** The facts of two instances of one study: every value either named. */
function mergeFacts(a: PhiFacts, b: PhiFacts): PhiFacts {
  const union = (x: string[], y: string[]) => [...new Set([...x, ...y])];
  return {
    names: union(a.names, b.names),
    ids: union(a.ids, b.ids),
    institutions: union(a.institutions, b.institutions),
    addresses: union(a.addresses, b.addresses),
    phones: union(a.phones, b.phones),
    dateShiftDays: a.dateShiftDays ?? b.dateShiftDays,
  };
}

interface RunRow {
  run_id: string;
  status: RunStatus;
  spec: RunSpec;
  pages: number | null;
  total_instances: number | null;
  total_studies: number | null;
  created_at: Date;
  planned_at: Date | null;
  finished_at: Date | null;
  dispatch_round: number;
  cancelled_at: Date | null;
}

const iso = (value: Date | null): string | null => (value === null ? null : value.toISOString());

function toRun(row: RunRow): RunRecord {
  return {
    runId: row.run_id,
    status: row.status,
    spec: row.spec,
    pages: row.pages,
    totalInstances: row.total_instances,
    totalStudies: row.total_studies,
    createdAt: row.created_at.toISOString(),
    plannedAt: iso(row.planned_at),
    finishedAt: iso(row.finished_at),
    dispatchRound: row.dispatch_round,
    cancelledAt: iso(row.cancelled_at),
  };
}

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

  async findRun(runId: string): Promise<RunRecord | null> {
    const { rows } = await this.sql.query<RunRow>('SELECT * FROM eden_runs WHERE run_id = $1', [
      runId,
    ]);
    return rows[0] === undefined ? null : toRun(rows[0]);
  }

  async latestUnfinishedRun(): Promise<RunRecord | null> {
    const { rows } = await this.sql.query<RunRow>(
      `SELECT * FROM eden_runs WHERE status IN ('planning', 'planned') ORDER BY created_at DESC LIMIT 1`,
    );
    return rows[0] === undefined ? null : toRun(rows[0]);
  }

  async latestRun(): Promise<RunRecord | null> {
    const { rows } = await this.sql.query<RunRow>(
      'SELECT * FROM eden_runs ORDER BY created_at DESC LIMIT 1',
    );
    return rows[0] === undefined ? null : toRun(rows[0]);
  }

  /** Planned runs not yet finalized nor cancelled, planned at least `minAgeSeconds` ago. */
  async runsInProgress(minAgeSeconds: number): Promise<RunRecord[]> {
    const { rows } = await this.sql.query<RunRow>(
      `SELECT * FROM eden_runs WHERE status = 'planned'
         AND planned_at <= now() - make_interval(secs => $1) ORDER BY created_at`,
      [minAgeSeconds],
    );
    return rows.map(toRun);
  }

  /**
   * Marks a planned (or planning) run cancelled: workers skip its batches and its finalize.
   * Returns null when the run is not in progress (finalized, cancelled, or unknown).
   */
  async cancelRun(runId: string): Promise<RunRecord | null> {
    const { rows } = await this.sql.query<RunRow>(
      `UPDATE eden_runs SET status = 'cancelled', cancelled_at = now()
       WHERE run_id = $1 AND status IN ('planning', 'planned') RETURNING *`,
      [runId],
    );
    return rows[0] === undefined ? null : toRun(rows[0]);
  }

  /**
   * Puts the run's failed instances back to pending and opens a new dispatch round, in one
   * transaction; a cancelled run is taken up again too. Returns how many instances went back.
   */
  async requeueFailed(runId: string): Promise<number> {
    return this.sql.transaction(async (tx) => {
      const reset = await tx.query<{ ordinal: number }>(
        `UPDATE eden_items SET status = 'pending', dicom_key = NULL, dicom_size = NULL,
           dicom_md5 = NULL, dicom_sha256 = NULL, dicom_outcome = NULL, images = NULL,
           recipe = NULL, error_code = NULL, error_message = NULL, updated_at = now()
         WHERE run_id = $1 AND status = 'failed' RETURNING ordinal`,
        [runId],
      );
      await tx.query(
        `UPDATE eden_runs SET status = 'planned', finished_at = NULL, cancelled_at = NULL,
           dispatch_round = dispatch_round + 1
         WHERE run_id = $1 AND status IN ('planned', 'finalized', 'cancelled')`,
        [runId],
      );
      return reset.rows.length;
    });
  }

  /** The state database's clock (ms since the epoch): the one `updated_at` is stamped with. */
  async clockMs(): Promise<number> {
    const { rows } = await this.sql.query<{ now: Date }>('SELECT now() AS now');
    return rows[0]?.now.getTime() ?? Date.now();
  }

  /** When the run's instances settled: the first, the last, and how many lately. */
  async activity(runId: string, windowSeconds: number): Promise<RunActivity> {
    const { rows } = await this.sql.query<{
      first: Date | null;
      last: Date | null;
      recent: number;
    }>(
      `SELECT min(updated_at) AS first, max(updated_at) AS last,
         count(*) FILTER (WHERE updated_at > now() - make_interval(secs => $2))::int AS recent
       FROM eden_items WHERE run_id = $1 AND status <> 'pending'`,
      [runId, windowSeconds],
    );
    const row = rows[0];
    return {
      firstSettledAt: iso(row?.first ?? null),
      lastSettledAt: iso(row?.last ?? null),
      recentlySettled: row?.recent ?? 0,
      windowSeconds,
    };
  }

  /** Creates the run in `planning` state, or returns the existing one untouched. */
  async createRun(runId: string, spec: RunSpec): Promise<RunRecord> {
    await this.sql.query(
      `INSERT INTO eden_runs (run_id, status, spec) VALUES ($1, 'planning', $2)
       ON CONFLICT (run_id) DO NOTHING`,
      [runId, JSON.stringify(spec)],
    );
    const run = await this.findRun(runId);
    if (run === null)
      throw new EtlError('INTERNAL', 'run vanished after creation', { subject: runId });
    return run;
  }

  /**
   * Writes a whole selection in one transaction: either the run is planned with its complete
   * selection, or (killed half-way) it stays in `planning` with none, and planning restarts.
   */
  async writeSelection(
    runId: string,
    batchSize: number,
    read: (addPage: (instances: SelectedInstance[]) => Promise<void>) => Promise<number>,
  ): Promise<void> {
    await this.sql.transaction(async (tx) => {
      await tx.query('DELETE FROM eden_items WHERE run_id = $1', [runId]);
      await tx.query('DELETE FROM eden_study_reports WHERE run_id = $1', [runId]);
      let ordinal = 0;
      const pages = await read(async (instances) => {
        await this.addPage(tx, runId, ordinal, batchSize, instances);
        ordinal += instances.length;
      });
      await tx.query(
        `UPDATE eden_runs SET status = 'planned', planned_at = now(), pages = $2,
           total_instances = (SELECT count(*) FROM eden_items WHERE run_id = $1),
           total_studies = (SELECT count(*) FROM eden_study_reports WHERE run_id = $1)
         WHERE run_id = $1`,
        [runId, pages],
      );
    });
  }

  /**
   * Adds one page of the selection in two statements (items, then study reports), whatever
   * the page size: planning a large selection costs pages, not instances.
   */
  private async addPage(
    tx: SqlClient,
    runId: string,
    firstOrdinal: number,
    batchSize: number,
    instances: readonly SelectedInstance[],
  ): Promise<void> {
    if (instances.length === 0) return;
    const column = <T>(pick: (instance: SelectedInstance, index: number) => T): T[] =>
      instances.map(pick);
    const inserted = await tx.query<{ instance_id: string }>(
      `INSERT INTO eden_items (run_id, ordinal, batch_no, study_id, series_id, series_number,
         instance_id, instance_number, file_path, file_url)
       SELECT $1, t.ordinal, t.ordinal / $2, t.study_id, t.series_id, t.series_number,
         t.instance_id, t.instance_number, t.file_path, t.file_url
       FROM unnest($3::int[], $4::text[], $5::text[], $6::int[], $7::text[], $8::int[], $9::text[], $10::text[])
         AS t (ordinal, study_id, series_id, series_number, instance_id, instance_number, file_path, file_url)
       ON CONFLICT (run_id, instance_id) DO NOTHING RETURNING instance_id`,
      [
        runId,
        batchSize,
        column((_, index) => firstOrdinal + index),
        column((instance) => instance.studyId),
        column((instance) => instance.seriesId),
        column((instance) => instance.seriesNumber),
        column((instance) => instance.instanceId),
        column((instance) => instance.instanceNumber),
        column((instance) => instance.filePath),
        column((instance) => instance.fileUrl),
      ],
    );
    if (inserted.rows.length !== instances.length) {
      // Not inserted (already in an earlier page) or twice in this page.
      const fresh = new Set(inserted.rows.map((row) => row.instance_id));
      const seen = new Set<string>();
      const repeated = instances.find(({ instanceId }) => {
        const twice = seen.has(instanceId) || !fresh.has(instanceId);
        seen.add(instanceId);
        return twice;
      })?.instanceId;
      throw new EtlError(
        'QUERY_INVALID',
        'the query returned this instance_id twice (in two studies or series); instance ids name the output files and must be unique',
        { subject: `instance ${repeated ?? '?'}` },
      );
    }
    // Every instance of a study carries the study's report fields (query contract): the
    // first instance seen writes the study's report.
    const studies = new Map<string, SelectedInstance>();
    for (const instance of instances) {
      if (!studies.has(instance.studyId)) studies.set(instance.studyId, instance);
    }
    const reports = [...studies.values()].map((instance) => ({
      studyId: instance.studyId,
      ...aggregateStudyReport(instance.reportFields),
    }));
    await tx.query(
      `INSERT INTO eden_study_reports (run_id, study_id, report_value, field_created_at, field_count)
       SELECT $1, t.study_id, t.report_value, t.field_created_at, t.field_count
       FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::int[])
         AS t (study_id, report_value, field_created_at, field_count)
       ON CONFLICT (run_id, study_id) DO NOTHING`,
      [
        runId,
        reports.map((report) => report.studyId),
        reports.map((report) => report.reportValue),
        reports.map((report) => report.fieldCreatedAt),
        reports.map((report) => report.fieldCount),
      ],
    );
  }

  async batchNumbers(runId: string, onlyPending: boolean): Promise<number[]> {
    const { rows } = await this.sql.query<{ batch_no: number }>(
      `SELECT DISTINCT batch_no FROM eden_items WHERE run_id = $1 ${onlyPending ? `AND status = 'pending'` : ''}
       ORDER BY batch_no`,
      [runId],
    );
    return rows.map((row) => row.batch_no);
  }

  async pendingItems(runId: string, batchNo: number): Promise<PendingItem[]> {
    const { rows } = await this.sql.query<{
      ordinal: number;
      study_id: string;
      series_id: string;
      report_value: string | null;
      instance_id: string;
      file_path: string | null;
      file_url: string | null;
      attempts: number;
    }>(
      `SELECT i.ordinal, i.study_id, i.series_id, r.report_value, i.instance_id, i.file_path,
         i.file_url, i.attempts
       FROM eden_items i
       LEFT JOIN eden_study_reports r ON r.run_id = i.run_id AND r.study_id = i.study_id
       WHERE i.run_id = $1 AND i.batch_no = $2 AND i.status = 'pending' ORDER BY i.ordinal`,
      [runId, batchNo],
    );
    return rows.map((row) => ({
      ordinal: row.ordinal,
      studyId: row.study_id,
      seriesId: row.series_id,
      reportValue: row.report_value ?? '',
      instanceId: row.instance_id,
      filePath: row.file_path,
      fileUrl: row.file_url,
      attempts: row.attempts,
    }));
  }

  /** Adds real → pseudonym pairs to the run's map (a pair already there is left as it is). */
  async recordPseudonyms(runId: string, pairs: readonly LedgerPseudonym[]): Promise<void> {
    if (pairs.length === 0) return;
    await this.sql.query(
      `INSERT INTO eden_deid_map (run_id, kind, real_value, pseudonym)
       SELECT $1, t.kind, t.real_value, t.pseudonym
       FROM unnest($2::text[], $3::text[], $4::text[]) AS t (kind, real_value, pseudonym)
       ON CONFLICT (run_id, kind, real_value) DO NOTHING`,
      [
        runId,
        pairs.map((pair) => pair.kind),
        pairs.map((pair) => pair.real),
        pairs.map((pair) => pair.pseudonym),
      ],
    );
  }

  /** Keeps what a de-identified instance's original header said, and the pseudonyms it used. */
  async recordPhi(runId: string, ordinal: number, studyId: string, phi: DeidPhi): Promise<void> {
    await this.sql.query(
      `INSERT INTO eden_deid_facts (run_id, ordinal, study_id, facts) VALUES ($1, $2, $3, $4)
       ON CONFLICT (run_id, ordinal) DO UPDATE SET facts = EXCLUDED.facts`,
      [runId, ordinal, studyId, JSON.stringify(phi.facts)],
    );
    await this.recordPseudonyms(runId, phi.pseudonyms);
  }

  /** The run's real → pseudonym map, for the data steward (`eden-etl deid-map`). */
  async deidMap(runId: string): Promise<LedgerPseudonym[]> {
    const { rows } = await this.sql.query<{ kind: string; real_value: string; pseudonym: string }>(
      `SELECT kind, real_value, pseudonym FROM eden_deid_map WHERE run_id = $1
       ORDER BY kind, real_value`,
      [runId],
    );
    return rows.map((row) => ({ kind: row.kind, real: row.real_value, pseudonym: row.pseudonym }));
  }

  /**
   * Each study's report scrubbed with what its instances' headers said (names, IDs, places,
   * the patient's date shift) and the run's staff list; counts per rule.
   */
  private async scrubbedReports(
    runId: string,
    deid: DeidSpec,
  ): Promise<Map<string, { scrub: ScrubResult; dateShiftDays: number | null }>> {
    const reports = await this.sql.query<{ study_id: string; report_value: string }>(
      'SELECT study_id, report_value FROM eden_study_reports WHERE run_id = $1',
      [runId],
    );
    const facts = await this.sql.query<{ study_id: string; facts: PhiFacts }>(
      'SELECT study_id, facts FROM eden_deid_facts WHERE run_id = $1 ORDER BY ordinal',
      [runId],
    );
    const byStudy = new Map<string, PhiFacts>();
    for (const row of facts.rows) {
      const known = byStudy.get(row.study_id);
      byStudy.set(row.study_id, known === undefined ? row.facts : mergeFacts(known, row.facts));
    }
    // A study none of whose files was read: no header names, and dates become [DATE].
    const unknown = noFacts();
    return new Map(
      reports.rows.map((row) => {
        const known = byStudy.get(row.study_id) ?? unknown;
        const scrub = scrubText(row.report_value, known, deid.staffNames);
        return [row.study_id, { scrub, dateShiftDays: known.dateShiftDays }];
      }),
    );
  }

  /** What the dataset card says of de-identification; undefined when the run does not. */
  async deidSummary(runId: string): Promise<DeidentificationDescription | undefined> {
    const { deid } = (await this.requireRun(runId)).spec;
    if (deid === undefined) return undefined;
    const counts: ScrubCounts = {};
    for (const report of (await this.scrubbedReports(runId, deid)).values()) {
      addCounts(counts, report.scrub.counts);
    }
    const tag = (hex: string) => `${hex.slice(0, 4)},${hex.slice(4)}`;
    return {
      profile: DEID_PROFILE_NAME,
      options: DEID_METHOD_CODES.slice(1).map((code) => code.meaning),
      keep: deid.keep.map(tag),
      remove: deid.remove.map(tag),
      staffNames: deid.staffNames.length,
      quarantine: deid.quarantine,
      scrubCounts: counts,
    };
  }

  /** Records an instance's outcome in one statement. Only a pending item changes. */
  async recordOutcome(
    runId: string,
    ordinal: number,
    outcome: {
      status: 'delivered' | 'failed' | 'excluded';
      attempts: number;
      dicom: StoredRecord | null;
      /** In frame order; empty when nothing was rendered. */
      images: readonly StoredImage[];
      recipe: RenderRecipe | null;
      /** Header facts; null when the file could not be fetched or its header read. */
      attributes: InstanceAttributes | null;
      error: EtlError | null;
      timings: StageTimings;
      /** Set with status 'excluded': the gate that kept the instance out. */
      exclusion?: Exclusion | null;
    },
  ): Promise<void> {
    const { dicom, images, error } = outcome;
    await this.sql.query(
      `UPDATE eden_items SET status = $3, attempts = $4,
         dicom_key = $5, dicom_size = $6, dicom_md5 = $7, dicom_sha256 = $8, dicom_outcome = $9,
         images = $10, recipe = $11, error_code = $12, error_message = $13, attributes = $14,
         timings = $15, exclusion_reason = $16, exclusion_detail = $17, updated_at = now()
       WHERE run_id = $1 AND ordinal = $2 AND status = 'pending'`,
      [
        runId,
        ordinal,
        outcome.status,
        outcome.attempts,
        dicom?.key ?? null,
        dicom?.size ?? null,
        dicom?.md5 ?? null,
        dicom?.sha256 ?? null,
        dicom?.outcome ?? null,
        images.length === 0 ? null : JSON.stringify(images),
        outcome.recipe === null ? null : JSON.stringify(outcome.recipe),
        error?.code ?? null,
        error === null ? null : error.oneLine(),
        outcome.attributes === null ? null : JSON.stringify(outcome.attributes),
        JSON.stringify(outcome.timings),
        outcome.exclusion?.reason ?? null,
        outcome.exclusion?.detail ?? null,
      ],
    );
  }

  /**
   * The duplicate gates' run-wide check, atomic with the admission of the image: under a table
   * lock (concurrent workers on a shared state database take turns; PGlite has one connection
   * anyway), looks for an admitted image with the same file, so the same pixels (`exact`) or, in
   * another series, one that `near` judges a near duplicate (its dHash bands overlap this one's,
   * so only candidates are judged); returns it, or admits
   * this image and returns null. Of two duplicates the first to get here is delivered. Admitting
   * again (a retried instance) replaces its own entry.
   */
  async admitImage(
    runId: string,
    image: {
      ordinal: number;
      seriesId: string;
      patientId: string | null;
      fileSha256: string;
      dHash: string;
      thumbnail: string;
    },
    checks: {
      exact: boolean;
      /** The near-duplicate decision for an admitted image of another series; null: no check. */
      near: ((admitted: { dHash: string; thumbnail: string }) => string | null) | null;
    },
  ): Promise<Exclusion | null> {
    const BAND_HEX = 8;
    const bands = Array.from(
      { length: image.dHash.length / BAND_HEX },
      (_, band) => `${band}:${image.dHash.slice(band * BAND_HEX, (band + 1) * BAND_HEX)}`,
    );
    return this.sql.transaction(async (tx) => {
      await tx.exec('LOCK TABLE eden_image_hashes IN SHARE ROW EXCLUSIVE MODE');
      type Match = {
        ordinal: number;
        instance_id: string;
        patient_id: string | null;
        dhash: string;
        thumbnail: string;
      };
      const select = `SELECT h.ordinal, i.instance_id, h.patient_id, h.dhash, h.thumbnail
        FROM eden_image_hashes h
        JOIN eden_items i ON i.run_id = h.run_id AND i.ordinal = h.ordinal
        WHERE h.run_id = $1 AND h.ordinal <> $2`;
      const whose = (match: Match) =>
        match.patient_id !== null && match.patient_id === image.patientId
          ? 'the same patient'
          : 'another patient';
      if (checks.exact) {
        const exact = await tx.query<Match>(
          `${select} AND h.image_sha256 = $3 ORDER BY h.ordinal LIMIT 1`,
          [runId, image.ordinal, image.fileSha256],
        );
        const match = exact.rows[0];
        if (match !== undefined) {
          return {
            reason: 'DUPLICATE_IMAGE',
            detail: `same pixels as instance ${match.instance_id} (${whose(match)})`,
          };
        }
      }
      if (checks.near !== null) {
        const near = await tx.query<Match>(
          `${select} AND h.series_id <> $3 AND h.bands && $4::text[] ORDER BY h.ordinal`,
          [runId, image.ordinal, image.seriesId, bands],
        );
        for (const match of near.rows) {
          const why = checks.near({ dHash: match.dhash, thumbnail: match.thumbnail });
          if (why !== null) {
            return {
              reason: 'NEAR_DUPLICATE',
              detail: `${why} from instance ${match.instance_id} (${whose(match)})`,
            };
          }
        }
      }
      await tx.query(
        `INSERT INTO eden_image_hashes (run_id, ordinal, series_id, patient_id, image_sha256, dhash,
           bands, thumbnail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (run_id, ordinal) DO UPDATE SET image_sha256 = EXCLUDED.image_sha256,
           dhash = EXCLUDED.dhash, bands = EXCLUDED.bands, patient_id = EXCLUDED.patient_id,
           thumbnail = EXCLUDED.thumbnail`,
        [
          runId,
          image.ordinal,
          image.seriesId,
          image.patientId,
          image.fileSha256,
          image.dHash,
          bands,
          image.thumbnail,
        ],
      );
      return null;
    });
  }

  async counts(runId: string): Promise<RunCounts> {
    const { rows } = await this.sql.query<{
      total: number;
      pending: number;
      delivered: number;
      failed: number;
      excluded: number;
      already_present: number;
      dicom_bytes: string | number | null;
      image_bytes: string | number | null;
    }>(
      `SELECT count(*)::int AS total,
         count(*) FILTER (WHERE status = 'pending')::int AS pending,
         count(*) FILTER (WHERE status = 'delivered')::int AS delivered,
         count(*) FILTER (WHERE status = 'failed')::int AS failed,
         count(*) FILTER (WHERE status = 'excluded')::int AS excluded,
         (count(*) FILTER (WHERE dicom_outcome = 'already-present')
           + coalesce(sum(image.present), 0))::int AS already_present,
         coalesce(sum(dicom_size), 0)::text AS dicom_bytes,
         coalesce(sum(image.bytes), 0)::text AS image_bytes
       FROM eden_items
       LEFT JOIN LATERAL (
         SELECT sum((e ->> 'size')::bigint) AS bytes,
           count(*) FILTER (WHERE e ->> 'outcome' = 'already-present') AS present
         FROM jsonb_array_elements(coalesce(images, '[]'::jsonb)) AS e
       ) AS image ON TRUE
       WHERE run_id = $1`,
      [runId],
    );
    const codes = await this.sql.query<{ error_code: ErrorCode; n: number; example: string }>(
      `SELECT error_code, count(*)::int AS n,
         (array_agg(error_message ORDER BY ordinal))[1] AS example
       FROM eden_items
       WHERE run_id = $1 AND status = 'failed' GROUP BY error_code ORDER BY error_code`,
      [runId],
    );
    const reasons = await this.sql.query<{ exclusion_reason: ExclusionReason; n: number }>(
      `SELECT exclusion_reason, count(*)::int AS n FROM eden_items
       WHERE run_id = $1 AND status = 'excluded' GROUP BY exclusion_reason ORDER BY exclusion_reason`,
      [runId],
    );
    const row = rows[0];
    if (row === undefined) throw new EtlError('INTERNAL', 'count query returned no row');
    return {
      total: row.total,
      pending: row.pending,
      delivered: row.delivered,
      failed: row.failed,
      excluded: row.excluded,
      excludedByReason: Object.fromEntries(
        reasons.rows.map((reason) => [reason.exclusion_reason, reason.n]),
      ),
      alreadyPresent: row.already_present,
      dicomBytes: Number(row.dicom_bytes),
      imageBytes: Number(row.image_bytes),
      failuresByCode: Object.fromEntries(codes.rows.map((code) => [code.error_code, code.n])),
      failureExamples: Object.fromEntries(
        codes.rows.map((code) => [code.error_code, code.example]),
      ),
    };
  }

  /**
   * Every instance of the run with its study report, in selection order. When the run
   * de-identifies, the rows carry the pseudonymised ids and the scrubbed report, no file path
   * or URL, and error messages reduced to their code's summary (they name files and ids).
   */
  async datasetRows(runId: string, relativeKey: (key: string) => string): Promise<DatasetRow[]> {
    const rows = await this.realDatasetRows(runId, relativeKey);
    const { deid } = (await this.requireRun(runId)).spec;
    if (deid === undefined) return rows;
    const map = new Map(
      (await this.deidMap(runId)).map((pair) => [`${pair.kind}\0${pair.real}`, pair.pseudonym]),
    );
    const pseudonym = (kind: string, real: string): string => {
      const found = map.get(`${kind}\0${real}`);
      if (found === undefined) {
        throw new EtlError('INTERNAL', `no pseudonym recorded for a ${kind}`, { subject: runId });
      }
      return found;
    };
    const reports = await this.scrubbedReports(runId, deid);
    return rows.map((row) => ({
      ...row,
      studyId: pseudonym('study', row.studyId),
      seriesId: pseudonym('series', row.seriesId),
      instanceId: pseudonym('instance', row.instanceId),
      filePath: null,
      fileUrl: null,
      reportValue: reports.get(row.studyId)?.scrub.text ?? '',
      fieldCreatedAt: shiftTimestamp(row.fieldCreatedAt, reports.get(row.studyId)?.dateShiftDays),
      errorMessage: row.errorCode === null ? null : ERROR_CODES[row.errorCode].summary,
      // A gate's detail names real instance ids (the duplicate's original): its summary instead.
      exclusion:
        row.exclusion === null
          ? null
          : { reason: row.exclusion.reason, detail: EXCLUSION_REASONS[row.exclusion.reason] },
    }));
  }

  private async realDatasetRows(
    runId: string,
    relativeKey: (key: string) => string,
  ): Promise<DatasetRow[]> {
    const { rows } = await this.sql.query<{
      ordinal: number;
      study_id: string;
      series_id: string;
      series_number: number | null;
      instance_id: string;
      instance_number: number | null;
      file_path: string | null;
      file_url: string | null;
      report_value: string | null;
      field_created_at: Date | null;
      status: 'pending' | 'delivered' | 'failed' | 'excluded';
      exclusion_reason: ExclusionReason | null;
      exclusion_detail: string | null;
      dicom_key: string | null;
      dicom_size: string | number | null;
      dicom_sha256: string | null;
      images: StoredImage[] | null;
      error_code: ErrorCode | null;
      error_message: string | null;
      recipe: RenderRecipe | null;
      attributes: InstanceAttributes | null;
    }>(
      `SELECT i.*, r.report_value, r.field_created_at FROM eden_items i
       LEFT JOIN eden_study_reports r ON r.run_id = i.run_id AND r.study_id = i.study_id
       WHERE i.run_id = $1 ORDER BY i.ordinal`,
      [runId],
    );
    return rows.map((row) => {
      if (row.status === 'pending') {
        throw new EtlError('INTERNAL', 'dataset requested while instances are pending', {
          subject: `instance ${row.instance_id}`,
        });
      }
      const size = (value: string | number | null) => (value === null ? null : Number(value));
      return {
        ordinal: row.ordinal,
        studyId: row.study_id,
        seriesId: row.series_id,
        seriesNumber: row.series_number,
        instanceId: row.instance_id,
        instanceNumber: row.instance_number,
        filePath: row.file_path,
        fileUrl: row.file_url,
        reportValue: row.report_value ?? '',
        fieldCreatedAt: iso(row.field_created_at),
        status: row.status,
        downloaded: row.dicom_key !== null,
        dicomKey: row.dicom_key === null ? null : relativeKey(row.dicom_key),
        dicomSize: size(row.dicom_size),
        dicomSha256: row.dicom_sha256,
        images: (row.images ?? []).map((image) => ({
          frame: image.frame,
          key: relativeKey(image.key),
          size: image.size,
          sha256: image.sha256,
        })),
        errorCode: row.error_code,
        errorMessage: row.error_message,
        recipe: row.recipe,
        attributes: row.attributes,
        exclusion:
          row.exclusion_reason === null
            ? null
            : { reason: row.exclusion_reason, detail: row.exclusion_detail ?? '' },
      };
    });
  }

  /**
   * Stamps the finish time once, before the dataset files are written: a finalize that is
   * interrupted and run again writes the same card.
   */
  async stampFinished(runId: string): Promise<RunRecord> {
    await this.sql.query(
      'UPDATE eden_runs SET finished_at = coalesce(finished_at, now()) WHERE run_id = $1',
      [runId],
    );
    return this.requireRun(runId);
  }

  /** Marks the run finalized, after its dataset files are written. */
  async markFinalized(runId: string): Promise<RunRecord> {
    await this.sql.query(`UPDATE eden_runs SET status = 'finalized' WHERE run_id = $1`, [runId]);
    return this.requireRun(runId);
  }

  private async requireRun(runId: string): Promise<RunRecord> {
    const run = await this.findRun(runId);
    if (run === null) throw new EtlError('RUN_NOT_FOUND', 'run vanished', { subject: runId });
    return run;
  }
}
