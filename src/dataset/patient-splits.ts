import { createHmac } from 'node:crypto';
import type { DatasetRow } from '../domain/dataset.js';
import type { SplitShare } from '../domain/run-spec.js';

/**
 * Patient-level splits. A patient's place is HMAC-SHA-256(key, patient id) read as a number in
 * [0, 1) and looked up in the cumulative fractions: it depends on nothing but the key, the id and
 * the fractions, so every study of a patient lands in the same split, and the patient keeps it
 * across reruns and later dataset versions (as long as key and fractions stay). With the default
 * key anyone can recompute the splits, which is harmless for pseudonymised ids but lets a
 * determined reader steer which patients are tested on: set --split-key (or SECRET_KEY).
 */

/** Public, documented default key: splits are stable but predictable without a secret. */
export const DEFAULT_SPLIT_KEY = 'vlm-eden-dataset-etl/patient-splits/v1';

/** Identifies a key without revealing it: HMAC of a fixed text, 16 hex digits. */
export function splitKeyFingerprint(key: string): string {
  return createHmac('sha256', key).update('eden split key fingerprint').digest('hex').slice(0, 16);
}

/** The split of one patient (or study, when the patient is unknown). */
export function splitOf(patientKey: string, key: string, shares: readonly SplitShare[]): string {
  const digest = createHmac('sha256', key).update(patientKey).digest();
  // 48 bits: an exact double, and far finer than any fraction anyone asks for.
  const position = digest.readUIntBE(0, 6) / 2 ** 48;
  let cumulative = 0;
  for (const share of shares) {
    cumulative += share.fraction;
    if (position < cumulative) return share.name;
  }
  // Rounding can leave the sum a hair under 1.
  return shares[shares.length - 1]!.name;
}

/**
 * Whom a study belongs to, for splitting: the patient id of its first instance that has one
 * (after any pseudonymisation, as delivered), else `study:` and the study id, so a study
 * without a patient id is still split, on its own.
 */
function studyPatients(rows: readonly DatasetRow[]): Map<string, string> {
  const patients = new Map<string, string>();
  for (const row of rows) {
    const patientId = row.attributes?.patientId;
    if (patientId !== null && patientId !== undefined && patientId !== '') {
      if (!patients.has(row.studyId) || patients.get(row.studyId)!.startsWith('study:')) {
        patients.set(row.studyId, patientId);
      }
    } else if (!patients.has(row.studyId)) {
      patients.set(row.studyId, `study:${row.studyId}`);
    }
  }
  return patients;
}

export interface StudySplits {
  /** study id → its patient (or `study:` id) */
  patientOf: Map<string, string>;
  /** study id → split name */
  splitOf: Map<string, string>;
}

/** Every study's patient and split. */
export function assignSplits(
  rows: readonly DatasetRow[],
  key: string,
  shares: readonly SplitShare[],
): StudySplits {
  const patientOf = studyPatients(rows);
  const split = new Map<string, string>();
  for (const [studyId, patient] of patientOf) split.set(studyId, splitOf(patient, key, shares));
  return { patientOf, splitOf: split };
}

/** Patients found in more than one split, with those splits: the leakage audit (empty is good). */
export function patientsInSeveralSplits(
  lines: readonly { patient_id: string; split: string }[],
): Map<string, string[]> {
  const seen = new Map<string, Set<string>>();
  for (const line of lines) {
    const splits = seen.get(line.patient_id) ?? new Set<string>();
    splits.add(line.split);
    seen.set(line.patient_id, splits);
  }
  const leaks = new Map<string, string[]>();
  for (const [patient, splits] of seen) if (splits.size > 1) leaks.set(patient, [...splits].sort());
  return leaks;
}
