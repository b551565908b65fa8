import type { DataSet } from 'dicom-parser';
import { EtlError } from '../domain/errors.js';
import { readDecimal, readDecimals, readString, readUint16 } from '../dicom/attributes.js';
import { readLutItem, sequenceItems, type LutTable } from './lut-data.js';

/** Stored value → modality value (PS3.3 C.11.1): a rescale, or a Modality LUT Sequence. */
export type ModalityTransform =
  { kind: 'rescale'; slope: number; intercept: number } | { kind: 'lut'; lut: LutTable };

export type WindowFunction = 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';

/** The header attributes that decide how stored values become grey levels. */
export interface Presentation {
  modality: ModalityTransform;
  /**
   * Window Center/Width pairs in file order; undefined where a pair is unusable (width not
   * positive, not a number), so indexes stay those of the file.
   */
  windows: ({ center: number; width: number } | undefined)[];
  /** VOI LUT Function (0028,1056); LINEAR when absent or unknown. */
  windowFunction: WindowFunction;
  /** The items of the VOI LUT Sequence (0028,3010), in file order. */
  voiLuts: LutTable[];
  /** Stored values that are padding, not anatomy (inclusive range). */
  padding: { low: number; high: number } | undefined;
  /** Presentation LUT Shape (2050,0020). */
  presentationLutShape: 'IDENTITY' | 'INVERSE' | undefined;
}

/** US or SS by Pixel Representation; implicit VR cannot tell, so the 16 bits are reinterpreted. */
function paddingValue(dataSet: DataSet, tag: string, name: string, signed: boolean) {
  const raw = readUint16(dataSet, tag, name);
  if (raw === undefined || !signed) return raw;
  return raw >= 0x8000 ? raw - 0x10000 : raw;
}

function readModality(dataSet: DataSet, signed: boolean): ModalityTransform {
  const [item] = sequenceItems(dataSet, 'x00283000');
  const lut = item === undefined ? undefined : readLutItem(item, 'Modality', signed);
  if (lut !== undefined) return { kind: 'lut', lut };
  const slope = readDecimal(dataSet, 'x00281053', 'Rescale Slope') ?? 1;
  if (slope === 0) {
    throw new EtlError('DICOM_INVALID', 'Rescale Slope (0028,1053) is 0');
  }
  const intercept = readDecimal(dataSet, 'x00281052', 'Rescale Intercept') ?? 0;
  return { kind: 'rescale', slope, intercept };
}

function readWindows(dataSet: DataSet): Presentation['windows'] {
  const centers = readDecimals(dataSet, 'x00281050') ?? [];
  const widths = readDecimals(dataSet, 'x00281051') ?? [];
  return centers.map((center, index) => {
    const width = widths[index];
    return width !== undefined && Number.isFinite(center) && width > 0
      ? { center, width }
      : undefined;
  });
}

function readWindowFunction(dataSet: DataSet): WindowFunction {
  const value = readString(dataSet, 'x00281056');
  return value === 'LINEAR_EXACT' || value === 'SIGMOID' ? value : 'LINEAR';
}

function readShape(dataSet: DataSet): Presentation['presentationLutShape'] {
  const value = readString(dataSet, 'x20500020');
  return value === 'IDENTITY' || value === 'INVERSE' ? value : undefined;
}

export function readPresentation(dataSet: DataSet, signed: boolean): Presentation {
  const padValue = paddingValue(dataSet, 'x00280120', 'Pixel Padding Value', signed);
  const padLimit = paddingValue(dataSet, 'x00280121', 'Pixel Padding Range Limit', signed);
  const padding =
    padValue === undefined
      ? undefined
      : {
          low: Math.min(padValue, padLimit ?? padValue),
          high: Math.max(padValue, padLimit ?? padValue),
        };
  const modality = readModality(dataSet, signed);
  // A VOI LUT's input is the modality value, negative whenever a rescale can make it so.
  const signedModality =
    signed || (modality.kind === 'rescale' && (modality.intercept < 0 || modality.slope < 0));
  const voiLuts = sequenceItems(dataSet, 'x00283010').flatMap(
    (item) => readLutItem(item, 'VOI', signedModality) ?? [],
  );
  return {
    modality,
    windows: readWindows(dataSet),
    windowFunction: readWindowFunction(dataSet),
    voiLuts,
    padding,
    presentationLutShape: readShape(dataSet),
  };
}
