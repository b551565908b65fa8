import type { InstanceAttributes } from '../domain/dataset.js';
import type { Exclusion } from '../domain/exclusions.js';
import type { GateId } from '../domain/quality-gates.js';
import type { ImageStats } from '../domain/render.js';

/**
 * The quality gates: decisions taken after an instance is rendered and before anything of it
 * is stored. Each gate is a pure function of what is known about one instance (header facts,
 * statistics of its rendered frame 1, its study's report) and returns an Exclusion or null.
 * The duplicate gates need the whole run and live with the ledger; they are switched here too.
 * Another gate (e.g. a de-identification quarantine) is one more entry in INSTANCE_GATES.
 */

export interface GateInput {
  /** Null when the header could not be read. */
  attributes: InstanceAttributes | null;
  /** Of the rendered frame 1; null when nothing was rendered. */
  stats: ImageStats | null;
  /** The study's aggregated report text. */
  reportValue: string;
}

export type QualityGate = (input: GateInput) => Exclusion | null;

export interface GateSettings {
  /** Reports with fewer characters (after trimming) exclude their study's instances. */
  minReportChars: number;
}

/** Below this spread of grey levels (std, out of 255) an image shows nothing. */
const BLANK_STD = 3;
/** Centre darker than the lung fields by this many grey levels reads as a negative. */
const INVERTED_MARGIN = 10;

const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';
/** Dose SR (X-Ray, radiopharmaceutical, patient) and structured-report screen objects. */
const DOSE_SOP_CLASSES = new Set([
  '1.2.840.10008.5.1.4.1.1.88.67',
  '1.2.840.10008.5.1.4.1.1.88.68',
  '1.2.840.10008.5.1.4.1.1.88.73',
  '1.2.840.10008.5.1.4.1.1.88.75',
]);
const NON_CLINICAL_SERIES = /\b(dose|screen ?(shot|capture|save)|patient protocol|exam summary)\b/i;
const SCOUT_SERIES = /\b(scout|localizer|localiser|topogram|surview|scanogram|pilot)\b/i;
const FRONTAL_VIEWS = new Set(['PA', 'AP']);
const PROJECTION_MODALITIES = new Set(['CR', 'DX']);

const nonClinical: QualityGate = ({ attributes }) => {
  const sop = attributes?.sopClassUid ?? '';
  if (sop === SECONDARY_CAPTURE || sop.startsWith(`${SECONDARY_CAPTURE}.`)) {
    return { reason: 'NON_CLINICAL_OBJECT', detail: `secondary capture SOP class ${sop}` };
  }
  if (DOSE_SOP_CLASSES.has(sop)) {
    return { reason: 'NON_CLINICAL_OBJECT', detail: `dose report SOP class ${sop}` };
  }
  const description = attributes?.seriesDescription ?? '';
  return NON_CLINICAL_SERIES.test(description)
    ? { reason: 'NON_CLINICAL_OBJECT', detail: `series description "${description}"` }
    : null;
};

const localizer: QualityGate = ({ attributes }) => {
  if (attributes?.imageType.includes('LOCALIZER') === true) {
    return { reason: 'LOCALIZER', detail: `image type ${attributes.imageType.join('\\')}` };
  }
  const description = attributes?.seriesDescription ?? '';
  return SCOUT_SERIES.test(description)
    ? { reason: 'LOCALIZER', detail: `series description "${description}"` }
    : null;
};

const derived: QualityGate = ({ attributes }) => {
  const [pixelData, patientExamination] = attributes?.imageType ?? [];
  return pixelData === 'DERIVED' || patientExamination === 'SECONDARY'
    ? { reason: 'DERIVED_IMAGE', detail: `image type ${attributes!.imageType.join('\\')}` }
    : null;
};

const blank: QualityGate = ({ stats }) =>
  stats !== null && stats.std < BLANK_STD
    ? {
        reason: 'BLANK_IMAGE',
        detail: `grey-level std ${stats.std} (below ${BLANK_STD}), mean ${stats.mean}`,
      }
    : null;

/**
 * Frontal chest radiographs only: there the mediastinum and spine in the middle are brighter
 * than the lung fields on either side, whatever the exposure; an image where the middle is
 * clearly darker was most likely rendered with the wrong polarity (a MONOCHROME1 file labelled
 * MONOCHROME2, or the reverse). Lateral views and cross-sectional images have no such rule.
 */
const inverted: QualityGate = ({ attributes, stats }) => {
  if (stats === null || attributes === null) return null;
  if (!PROJECTION_MODALITIES.has(attributes.modality ?? '')) return null;
  if (!FRONTAL_VIEWS.has(attributes.viewPosition ?? '')) return null;
  return stats.centreMean < stats.sidesMean - INVERTED_MARGIN
    ? {
        reason: 'INVERTED_POLARITY',
        detail: `centre mean ${stats.centreMean} darker than lung fields ${stats.sidesMean}`,
      }
    : null;
};

const shortReport =
  (settings: GateSettings): QualityGate =>
  ({ reportValue }) => {
    const length = reportValue.trim().length;
    if (length >= settings.minReportChars) return null;
    return {
      reason: 'REPORT_TOO_SHORT',
      detail:
        length === 0
          ? 'the study has no report text'
          : `report of ${length} characters (minimum ${settings.minReportChars})`,
    };
  };

/** The per-instance gates in evaluation order; the first that objects gives the reason. */
const INSTANCE_GATES: readonly [GateId, (settings: GateSettings) => QualityGate][] = [
  ['non-clinical', () => nonClinical],
  ['localizer', () => localizer],
  ['derived', () => derived],
  ['blank', () => blank],
  ['inverted', () => inverted],
  ['short-report', shortReport],
];

/** The enabled per-instance gates, in evaluation order. */
export function instanceGates(enabled: readonly GateId[], settings: GateSettings): QualityGate[] {
  return INSTANCE_GATES.filter(([id]) => enabled.includes(id)).map(([, gate]) => gate(settings));
}

/** The first exclusion any gate returns, or null when the instance passes them all. */
export function firstExclusion(gates: readonly QualityGate[], input: GateInput): Exclusion | null {
  for (const gate of gates) {
    const exclusion = gate(input);
    if (exclusion !== null) return exclusion;
  }
  return null;
}

/** The gates that judge the rendered pixels: without them, no image statistics are taken. */
const PIXEL_GATES: ReadonlySet<GateId> = new Set([
  'blank',
  'inverted',
  'duplicate',
  'near-duplicate',
]);

/** Whether any enabled gate needs the image statistics of transform/image-stats. */
export function gatesNeedImageStats(enabled: readonly GateId[]): boolean {
  return enabled.some((id) => PIXEL_GATES.has(id));
}
