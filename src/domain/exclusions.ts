/**
 * Why a quality gate kept an instance out of the dataset. Kept apart from the error codes of
 * errors.ts on purpose: an exclusion is a decision about good data, not a failure, so it never
 * changes the exit code and is never retried. Codes are part of the public contract (ledger,
 * excluded.csv, the card, the run report): never rename one.
 */
export const EXCLUSION_REASONS = {
  BLANK_IMAGE: 'blank or near-uniform image (almost no grey-level spread)',
  INVERTED_POLARITY: 'frontal chest radiograph that looks inverted after rendering',
  LOCALIZER: 'localizer or scout image (Image Type LOCALIZER, or a scout series description)',
  DERIVED_IMAGE: 'DERIVED or SECONDARY image (reformat, screen capture, processed copy)',
  NON_CLINICAL_OBJECT: 'dose report or screenshot (secondary capture or dose SOP class)',
  DUPLICATE_IMAGE: 'same rendered pixels as an instance already in the dataset',
  NEAR_DUPLICATE: 'dHash and thumbnail close to an image of another series already in the dataset',
  REPORT_TOO_SHORT: "the study's report is empty or shorter than the minimum",
  BURNED_IN_RISK:
    'de-identifying: the pixels may carry burned-in patient data (Burned In Annotation, secondary capture, US, DERIVED\\SECONDARY)',
} as const;

export type ExclusionReason = keyof typeof EXCLUSION_REASONS;

/** A gate's decision: the reason code, and one line naming what it saw. */
export interface Exclusion {
  reason: ExclusionReason;
  detail: string;
}
