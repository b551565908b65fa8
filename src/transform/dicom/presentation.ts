import type { DataSet } from 'dicom-parser';
import { EtlError } from '../../domain/errors.js';
import { readDecimal, readDecimals, readUint16 } from './attributes.js';

/** The header attributes that decide how stored values become grey levels. */
export interface Presentation {
  rescaleSlope: number;
  rescaleIntercept: number;
  /** The file's first VOI window, when it has a usable one (width > 0). */
  window: { center: number; width: number } | undefined;
  /** Stored values that are padding, not anatomy (inclusive range). */
  padding: { low: number; high: number } | undefined;
}

/** US or SS by Pixel Representation; implicit VR cannot tell, so the 16 bits are reinterpreted. */
function paddingValue(dataSet: DataSet, tag: string, name: string, signed: boolean) {
  const raw = readUint16(dataSet, tag, name);
  if (raw === undefined || !signed) return raw;
  return raw >= 0x8000 ? raw - 0x10000 : raw;
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

  // A Modality LUT Sequence (not applied yet) puts the file's window in units we cannot
  // compute, so the renderer falls back to a window over the stored values, which keeps the
  // picture right for the monotonic LUTs such sequences hold in practice.
  if (dataSet.elements.x00283000 !== undefined) {
    return { rescaleSlope: 1, rescaleIntercept: 0, window: undefined, padding };
  }

  const slope = readDecimal(dataSet, 'x00281053', 'Rescale Slope') ?? 1;
  if (slope === 0) {
    throw new EtlError('DICOM_INVALID', 'Rescale Slope (0028,1053) is 0');
  }
  const intercept = readDecimal(dataSet, 'x00281052', 'Rescale Intercept') ?? 0;
  const center = readDecimals(dataSet, 'x00281050')?.[0];
  const width = readDecimals(dataSet, 'x00281051')?.[0];
  const window =
    center !== undefined && width !== undefined && Number.isFinite(center) && width > 0
      ? { center, width }
      : undefined;
  return { rescaleSlope: slope, rescaleIntercept: intercept, window, padding };
}
