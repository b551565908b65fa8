import type { DataSet } from 'dicom-parser';
import type { InstanceAttributes } from '../domain/dataset.js';
import { readStrings, readString } from './attributes.js';
import { parseDicom, type ParsedDicom } from './parse.js';

/** The header facts of src/domain/dataset.ts InstanceAttributes, by tag. */
const TAGS = {
  sopClassUid: 'x00080016',
  modality: 'x00080060',
  patientId: 'x00100020',
  patientSex: 'x00100040',
  patientAge: 'x00101010',
  studyDate: 'x00080020',
  viewPosition: 'x00185101',
  bodyPart: 'x00180015',
  burnedInAnnotation: 'x00280301',
  seriesDescription: 'x0008103e',
} as const;
const IMAGE_TYPE = 'x00080008';
const IMAGE_LATERALITY = 'x00200062';
const LATERALITY = 'x00200060';
const PATIENT_ORIENTATION = 'x00200020';
const VIEW_CODE_SEQUENCE = 'x00540220';
const CODE_MEANING = 'x00080104';
const CODE_VALUE = 'x00080100';

/**
 * Reads an instance's header facts, from its bytes or from the parse the caller already made.
 * Null for a file whose header cannot be read: its failure is reported by the renderer, and a
 * dataset row without facts is still a row.
 */
export function readInstanceAttributes(
  source: Uint8Array | ParsedDicom,
): InstanceAttributes | null {
  let dataSet;
  try {
    ({ dataSet } = source instanceof Uint8Array ? parseDicom(source) : source);
  } catch {
    // The render of the same bytes reports why; facts are optional.
    return null;
  }
  const text = (tag: string) => readString(dataSet, tag) ?? null;
  return {
    sopClassUid: text(TAGS.sopClassUid),
    modality: text(TAGS.modality),
    imageType: (readStrings(dataSet, IMAGE_TYPE) ?? []).map((value) => value.toUpperCase()),
    patientId: text(TAGS.patientId),
    patientSex: text(TAGS.patientSex),
    patientAge: text(TAGS.patientAge),
    studyDate: text(TAGS.studyDate),
    viewPosition: text(TAGS.viewPosition),
    laterality: text(IMAGE_LATERALITY) ?? text(LATERALITY),
    bodyPart: text(TAGS.bodyPart),
    burnedInAnnotation: text(TAGS.burnedInAnnotation),
    seriesDescription: text(TAGS.seriesDescription),
    viewCode: viewCode(dataSet),
    patientOrientation: readStrings(dataSet, PATIENT_ORIENTATION)?.join('\\') ?? null,
  };
}

/** The first View Code Sequence item's meaning, else its code value. */
function viewCode(dataSet: DataSet): string | null {
  const item = dataSet.elements[VIEW_CODE_SEQUENCE]?.items?.[0]?.dataSet;
  if (item === undefined) return null;
  return readString(item, CODE_MEANING) ?? readString(item, CODE_VALUE) ?? null;
}
