/**
 * What de-identification leaves in the run state: the original header's facts (to scrub the
 * study's report with) and the real → pseudonym pairs (for the data steward's map). The ledger
 * stores them and `deid/` produces and applies them, so the types live below both.
 */

/** What the header of a study's instances said, before de-identification (kept in the ledger). */
export interface PhiFacts {
  /** Person names as written in PN attributes, e.g. "Smith^John^A^Dr". */
  names: string[];
  /** Patient IDs, accession numbers, study IDs, order numbers… */
  ids: string[];
  institutions: string[];
  addresses: string[];
  phones: string[];
  /** Days the patient's dates move; null when unknown (dates then become [DATE]). */
  dateShiftDays: number | null;
}

/** One real → pseudonym pair, of a patient id, an accession number, a UID or an output id. */
export interface PseudonymPair {
  kind: string;
  real: string;
  pseudonym: string;
}

/** What a de-identified file leaves in the ledger: the original header's facts and pseudonyms. */
export interface DeidPhi {
  facts: PhiFacts;
  pseudonyms: PseudonymPair[];
}
