import type { WindowSource } from '../domain/render.js';
import type { StoredFrame } from './dicom/pixel-data.js';
import { minStoredValue, storedHistogram } from './lut.js';

export interface WindowChoice {
  center: number;
  width: number;
  source: WindowSource;
}

interface AutoWindowInput {
  frame: StoredFrame;
  rescaleSlope: number;
  rescaleIntercept: number;
  /** Stored values to leave out of the statistics (inclusive). */
  padding: { low: number; high: number } | undefined;
}

const LOW_PERCENTILE = 0.005;
const HIGH_PERCENTILE = 0.995;

/** The linear window that maps modality value `low` to 0 and `high` to 255 (C.11.2.1.2.1). */
function windowSpanning(low: number, high: number, source: WindowSource): WindowChoice {
  return { center: (low + high) / 2 + 0.5, width: high - low + 1, source };
}

/** Index of the value at 0-based rank `rank` in the sorted pixels. */
function valueAtRank(counts: Uint32Array, rank: number): number {
  let seen = 0;
  for (let index = 0; index < counts.length; index += 1) {
    seen += counts[index]!;
    if (seen > rank) return index;
  }
  return counts.length - 1;
}

/**
 * A window for an image whose file has none: the 0.5th to 99.5th percentile (nearest rank) of
 * the modality values, padding excluded, so a few hot pixels or a collimator edge do not wash
 * the picture out. The rescale is linear, so the percentiles are taken on stored values (one
 * histogram pass) and mapped afterwards. When that range is a single value but the image is not
 * constant (a mostly blank frame with some text), the full min..max is used instead; a constant
 * image (or one that is all padding) gets the full range of BitsStored.
 */
export function autoWindow(input: AutoWindowInput): WindowChoice {
  const { frame, rescaleSlope, rescaleIntercept, padding } = input;
  const min = minStoredValue(frame.bitsStored, frame.signed);
  const toModality = (index: number) => (index + min) * rescaleSlope + rescaleIntercept;
  const counts = storedHistogram(frame);
  if (padding !== undefined) {
    const from = Math.max(0, padding.low - min);
    const to = Math.min(counts.length - 1, padding.high - min);
    if (from <= to) counts.fill(0, from, to + 1);
  }
  let total = 0;
  let first = -1;
  let last = -1;
  for (let index = 0; index < counts.length; index += 1) {
    const count = counts[index]!;
    if (count === 0) continue;
    total += count;
    if (first < 0) first = index;
    last = index;
  }
  if (first === last) {
    const a = toModality(0);
    const b = toModality(counts.length - 1);
    return windowSpanning(Math.min(a, b), Math.max(a, b), 'full-range');
  }
  let low = valueAtRank(counts, Math.max(0, Math.ceil(total * LOW_PERCENTILE) - 1));
  let high = valueAtRank(counts, Math.ceil(total * HIGH_PERCENTILE) - 1);
  if (low === high) {
    low = first;
    high = last;
  }
  const a = toModality(low);
  const b = toModality(high);
  return windowSpanning(Math.min(a, b), Math.max(a, b), 'percentile');
}
