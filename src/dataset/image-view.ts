import type { InstanceAttributes } from '../domain/dataset.js';

/**
 * The projection of a radiograph, normalised from whichever header field says it, for study
 * samples that pair the frontal and lateral views (MAIRA-2, CheXinstruct). The values are View
 * Position's defined terms (PS3.3 C.8.11.5.1.1 for DX, C.8.11.7 for mammography), plus LATERAL
 * for a lateral view whose side is not said and FRONTAL for a frontal one that may be AP or PA.
 * What no field says stays unknown (null): guessing a view would teach a model the wrong pairing.
 */
export type ImageView =
  | 'PA'
  | 'AP'
  | 'FRONTAL'
  | 'LATERAL'
  | 'LL'
  | 'RL'
  | 'LLD'
  | 'RLD'
  | 'LAO'
  | 'RAO'
  | 'LPO'
  | 'RPO'
  | 'CC'
  | 'MLO'
  | 'ML'
  | 'LM';

/** The header field the view was taken from, most reliable first. */
export type ViewSource =
  'view_position' | 'view_code' | 'patient_orientation' | 'series_description';

export interface NormalisedView {
  view: ImageView | null;
  source: ViewSource | null;
}

const UNKNOWN: NormalisedView = { view: null, source: null };

/** View Position values as PACS store them (defined terms and the common variants). */
const POSITIONS: Readonly<Record<string, ImageView>> = {
  PA: 'PA',
  AP: 'AP',
  LL: 'LL',
  RL: 'RL',
  LAT: 'LATERAL',
  LATERAL: 'LATERAL',
  LLD: 'LLD',
  RLD: 'RLD',
  LAO: 'LAO',
  RAO: 'RAO',
  LPO: 'LPO',
  RPO: 'RPO',
  CC: 'CC',
  MLO: 'MLO',
  ML: 'ML',
  LM: 'LM',
};

/**
 * View Code Sequence: code meanings of the SNOMED projection codes (CID 4010 / 4014), and the
 * SNOMED-RT code values older modalities send without a meaning.
 */
const VIEW_CODES: readonly [RegExp, ImageView][] = [
  [/^(postero-?anterior|R-10214)$/i, 'PA'],
  [/^(antero-?posterior|R-10206)$/i, 'AP'],
  [/^(left lateral decubitus)$/i, 'LLD'],
  [/^(right lateral decubitus)$/i, 'RLD'],
  [/^(left lateral|R-10236)$/i, 'LL'],
  [/^(right lateral|R-10232)$/i, 'RL'],
  [/^(lateral|R-102CD)$/i, 'LATERAL'],
  [/^(medio-?lateral oblique|R-10226)$/i, 'MLO'],
  [/^(cranio-?caudal|R-10242)$/i, 'CC'],
  [/^(medio-?lateral|R-10224)$/i, 'ML'],
  [/^(latero-?medial|R-10228)$/i, 'LM'],
];

/** Series descriptions: words that name one view. Portable and supine chest films are AP. */
const DESCRIPTIONS: readonly [RegExp, ImageView][] = [
  [/\b(P\.?A\.?|postero-?anterior)(?![\w.])/i, 'PA'],
  [/\b(A\.?P\.?|antero-?posterior|portable|supine)(?![\w.])/i, 'AP'],
  [/\b(left lat(eral)?|LL)\b(?!\s*decub)/i, 'LL'],
  [/\b(right lat(eral)?|RL)\b(?!\s*decub)/i, 'RL'],
  [/\blat(eral)?\b(?!\s*decub)/i, 'LATERAL'],
];

function fromPosition(value: string | null): ImageView | null {
  if (value === null) return null;
  // `AP SUPINE`, `PA ERECT`: the first word is the projection.
  const word =
    value
      .trim()
      .toUpperCase()
      .split(/[\s_^]+/)[0] ?? '';
  return POSITIONS[word] ?? null;
}

function fromViewCode(value: string | null | undefined): ImageView | null {
  if (value === null || value === undefined) return null;
  return VIEW_CODES.find(([pattern]) => pattern.test(value.trim()))?.[1] ?? null;
}

/**
 * Patient Orientation of a projection: rows running anterior–posterior make a lateral view,
 * rows running left–right a frontal one, whose AP or PA it cannot tell.
 */
function fromOrientation(value: string | null | undefined): ImageView | null {
  const row = value?.split('\\')[0]?.trim().toUpperCase();
  if (row === undefined || row === '') return null;
  if (row[0] === 'A' || row[0] === 'P') return 'LATERAL';
  if (row[0] === 'L' || row[0] === 'R') return 'FRONTAL';
  return null;
}

/** A description naming exactly one view; `PA AND LATERAL` names two and says nothing. */
function fromDescription(value: string | null): ImageView | null {
  if (value === null) return null;
  const named = new Set<ImageView>();
  for (const [pattern, view] of DESCRIPTIONS) {
    if (!pattern.test(value)) continue;
    // A side-specific lateral is also a lateral: count the specific one only.
    if (view === 'LATERAL' && (named.has('LL') || named.has('RL'))) continue;
    named.add(view);
  }
  return named.size === 1 ? [...named][0]! : null;
}

/** The image's view and the field it came from; unknown when no field names one. */
export function normaliseView(attributes: InstanceAttributes | null): NormalisedView {
  if (attributes === null) return UNKNOWN;
  const position = fromPosition(attributes.viewPosition);
  if (position !== null) return { view: position, source: 'view_position' };
  const code = fromViewCode(attributes.viewCode);
  if (code !== null) return { view: code, source: 'view_code' };
  const oriented = fromOrientation(attributes.patientOrientation);
  const described = fromDescription(attributes.seriesDescription);
  // The orientation's geometry decides frontal or lateral; a description that agrees with it
  // may still say which frontal (AP, PA) or which lateral (LL, RL).
  const refines =
    described !== null &&
    (oriented === null ||
      (oriented === 'FRONTAL' && (described === 'PA' || described === 'AP')) ||
      (oriented === 'LATERAL' && (described === 'LL' || described === 'RL')));
  if (refines) return { view: described, source: 'series_description' };
  if (oriented !== null) return { view: oriented, source: 'patient_orientation' };
  return UNKNOWN;
}
