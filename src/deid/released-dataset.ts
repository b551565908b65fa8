import type { DatasetRow, DeidentificationDescription } from '../domain/dataset.js';
import type { PhiFacts, PseudonymPair } from '../domain/deid.js';
import { ERROR_CODES, EtlError } from '../domain/errors.js';
import { EXCLUSION_REASONS } from '../domain/exclusions.js';
import type { DeidSpec } from '../domain/run-spec.js';
import { DEID_METHOD_CODES, DEID_PROFILE_NAME } from './deidentify-dicom.js';
import {
  addCounts,
  noFacts,
  scrubText,
  type ScrubCounts,
  type ScrubResult,
} from './report-scrubber.js';

/**
 * What a de-identified run releases of the ledger's rows: pseudonymised ids, each study's report
 * scrubbed with what its instances' headers said, no file paths, and messages that name nothing.
 * The ledger keeps the real values; this is the one place they are turned into released ones.
 */

/** The run state's de-identification records, as the ledger returns them. */
export interface DeidRecords {
  /** Each study's aggregated report, unscrubbed. */
  reports: readonly { studyId: string; reportValue: string }[];
  /** Each de-identified instance's header facts, in selection order. */
  facts: readonly { studyId: string; facts: PhiFacts }[];
  /** The run's real → pseudonym map. */
  pseudonyms: readonly PseudonymPair[];
}

interface ScrubbedReport {
  scrub: ScrubResult;
  dateShiftDays: number | null;
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

/**
 * Each study's report scrubbed with what its instances' headers said (names, IDs, places, the
 * patient's date shift) and the run's staff list.
 */
function scrubbedReports(records: DeidRecords, deid: DeidSpec): Map<string, ScrubbedReport> {
  const byStudy = new Map<string, PhiFacts>();
  for (const { studyId, facts } of records.facts) {
    const known = byStudy.get(studyId);
    byStudy.set(studyId, known === undefined ? facts : mergeFacts(known, facts));
  }
  // A study none of whose files was read: no header names, and dates become [DATE].
  const unknown = noFacts();
  return new Map(
    records.reports.map(({ studyId, reportValue }) => {
      const known = byStudy.get(studyId) ?? unknown;
      const scrub = scrubText(reportValue, known, deid.staffNames);
      return [studyId, { scrub, dateShiftDays: known.dateShiftDays }];
    }),
  );
}

/** A report time moved like the study's dates; dropped when the study's shift is unknown. */
function shiftTimestamp(iso: string | null, days: number | null | undefined): string | null {
  if (iso === null || days === null || days === undefined) return null;
  return new Date(Date.parse(iso) + days * 86_400_000).toISOString();
}

/** What the dataset card says of the run's de-identification, with the scrubber's counts. */
function describe(
  deid: DeidSpec,
  reports: Map<string, ScrubbedReport>,
): DeidentificationDescription {
  const counts: ScrubCounts = {};
  for (const report of reports.values()) addCounts(counts, report.scrub.counts);
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

/**
 * The released rows of a de-identified run and the card's description of it. A row whose ids
 * have no recorded pseudonym is an internal error: releasing it would leak the real id.
 */
export function releaseDataset(
  rows: readonly DatasetRow[],
  records: DeidRecords,
  deid: DeidSpec,
): { rows: DatasetRow[]; deidentification: DeidentificationDescription } {
  const map = new Map(
    records.pseudonyms.map((pair) => [`${pair.kind}\0${pair.real}`, pair.pseudonym]),
  );
  const pseudonym = (kind: string, real: string): string => {
    const found = map.get(`${kind}\0${real}`);
    if (found === undefined) throw new EtlError('INTERNAL', `no pseudonym recorded for a ${kind}`);
    return found;
  };
  const reports = scrubbedReports(records, deid);
  const released = rows.map((row) => ({
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
  return { rows: released, deidentification: describe(deid, reports) };
}
