import type { WindowSource } from '../domain/render.js';
import type { StoredFrame } from './pixel-data.js';
import { minStoredValue, storedHistogram, storedValues32 } from './lut.js';

export interface WindowChoice {
  center: number;
  width: number;
  source: WindowSource;
}

interface AutoWindowInput {
  frame: StoredFrame;
  /** Stored value → modality value; monotonic (rescales and real Modality LUTs are). */
  toModality: (stored: number) => number;
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

/** The statistics autoWindow needs, in stored values. */
interface StoredSpread {
  /** Nearest-rank percentiles, min and max of the non-padding pixels; undefined if none. */
  low: number;
  high: number;
  first: number;
  last: number;
  /** Smallest and largest storable values. */
  floor: number;
  ceiling: number;
}

/** 8- and 16-bit samples: one histogram pass over the stored values. */
function histogramSpread(frame: StoredFrame, padding: AutoWindowInput['padding']): StoredSpread {
  const min = minStoredValue(frame.bitsStored, frame.signed);
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
  const floor = min;
  const ceiling = min + counts.length - 1;
  if (first < 0) return { low: 0, high: 0, first: 0, last: 0, floor, ceiling };
  return {
    low: min + valueAtRank(counts, Math.max(0, Math.ceil(total * LOW_PERCENTILE) - 1)),
    high: min + valueAtRank(counts, Math.ceil(total * HIGH_PERCENTILE) - 1),
    first: min + first,
    last: min + last,
    floor,
    ceiling,
  };
}

/** 32-bit samples: no 2^32-bin histogram; the values are sorted instead. */
function sortedSpread(frame: StoredFrame, padding: AutoWindowInput['padding']): StoredSpread {
  const all = storedValues32(frame);
  const values =
    padding === undefined ? all : all.filter((v) => v < padding.low || v > padding.high);
  values.sort();
  const floor = minStoredValue(frame.bitsStored, frame.signed);
  const ceiling = floor + 2 ** frame.bitsStored - 1;
  const total = values.length;
  if (total === 0) return { low: 0, high: 0, first: 0, last: 0, floor, ceiling };
  return {
    low: values[Math.max(0, Math.ceil(total * LOW_PERCENTILE) - 1)]!,
    high: values[Math.ceil(total * HIGH_PERCENTILE) - 1]!,
    first: values[0]!,
    last: values[total - 1]!,
    floor,
    ceiling,
  };
}

/**
 * A window for an image whose file has none: the 0.5th to 99.5th percentile (nearest rank) of
 * the modality values, padding excluded, so a few hot pixels or a collimator edge do not wash
 * the picture out. The modality transform is monotonic, so the percentiles are taken on stored
 * values and mapped afterwards. When that range is a single value but the image is not constant
 * (a mostly blank frame with some text), the full min..max is used instead; a constant image (or
 * one that is all padding) gets the full range of BitsStored.
 */
export function autoWindow(input: AutoWindowInput): WindowChoice {
  const { frame, toModality, padding } = input;
  const spread =
    frame.bitsAllocated === 32 ? sortedSpread(frame, padding) : histogramSpread(frame, padding);
  const span = (from: number, to: number, source: WindowSource) => {
    const a = toModality(from);
    const b = toModality(to);
    return windowSpanning(Math.min(a, b), Math.max(a, b), source);
  };
  if (spread.first === spread.last) return span(spread.floor, spread.ceiling, 'full-range');
  if (spread.low === spread.high) return span(spread.first, spread.last, 'percentile');
  return span(spread.low, spread.high, 'percentile');
}
