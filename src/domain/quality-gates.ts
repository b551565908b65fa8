import type { ExclusionReason } from './exclusions.js';

/**
 * The quality gates by id, as configuration, the run spec and the dataset card name them; the
 * gates themselves are in src/quality.
 */

export const GATE_IDS = [
  'non-clinical',
  'localizer',
  'derived',
  'blank',
  'inverted',
  'short-report',
  'duplicate',
  'near-duplicate',
] as const;

export type GateId = (typeof GATE_IDS)[number];

/** The reason code each gate records. */
export const GATE_REASONS: Readonly<Record<GateId, ExclusionReason>> = {
  'non-clinical': 'NON_CLINICAL_OBJECT',
  localizer: 'LOCALIZER',
  derived: 'DERIVED_IMAGE',
  blank: 'BLANK_IMAGE',
  inverted: 'INVERTED_POLARITY',
  'short-report': 'REPORT_TOO_SHORT',
  duplicate: 'DUPLICATE_IMAGE',
  'near-duplicate': 'NEAR_DUPLICATE',
};

/**
 * Near duplicates: two images of different series whose 256-bit dHashes differ by at most
 * `bits` (at most 7: the ledger's band index finds no pair further apart) and whose 17×16
 * thumbnails differ by at most `grey` levels on average. The dHash alone is not enough: on the
 * sample PACS's 200 studies, chest radiographs of different patients came within 2 to 7 bits
 * (thumbnails 5.9 to 56 grey levels apart), while re-sent copies are 0 bits and 0.02 apart.
 */
export const NEAR_DUPLICATE = { bits: 7, grey: 2 } as const;
