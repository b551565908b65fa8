import type { StoredFrame } from './dicom/pixel-data.js';

/**
 * The grayscale pipeline of PS3.4 N.2 (modality LUT → VOI LUT → presentation LUT) folded into one
 * table with an entry per possible stored value, so each pixel costs one lookup however many
 * stages there are. Index = stored value − the smallest stored value (−2^(BitsStored−1) when
 * signed, else 0).
 */
export interface DisplayLutParams {
  bitsStored: number;
  signed: boolean;
  rescaleSlope: number;
  rescaleIntercept: number;
  windowCenter: number;
  windowWidth: number;
  /** MONOCHROME1: invert after the VOI LUT, as the presentation LUT would. */
  invert: boolean;
}

export function minStoredValue(bitsStored: number, signed: boolean): number {
  return signed ? -(2 ** (bitsStored - 1)) : 0;
}

/**
 * VOI LUT function LINEAR, PS3.3 C.11.2.1.2.1, onto 0..255. The standard leaves the rounding to
 * the implementation: we round to nearest where dcmtk truncates, so we may be one level above
 * dcmtk, never below. Width 1 (or less) is a threshold at c − 0.5 because the second branch
 * then covers every x the first does not.
 */
function voiLinear(x: number, center: number, width: number): number {
  const c = center - 0.5;
  const halfSpan = (width - 1) / 2;
  if (x <= c - halfSpan) return 0;
  if (x > c + halfSpan) return 255;
  return Math.round(((x - c) / (width - 1) + 0.5) * 255);
}

export function buildDisplayLut(params: DisplayLutParams): Uint8Array {
  const { rescaleSlope, rescaleIntercept, windowCenter, windowWidth, invert } = params;
  const size = 2 ** params.bitsStored;
  const min = minStoredValue(params.bitsStored, params.signed);
  const lut = new Uint8Array(size);
  for (let index = 0; index < size; index += 1) {
    const modality = (index + min) * rescaleSlope + rescaleIntercept;
    const grey = voiLinear(modality, windowCenter, windowWidth);
    lut[index] = invert ? 255 - grey : grey;
  }
  return lut;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * How to get a LUT index out of a sample word: shift the stored bits down to bit 0 (High Bit
 * may sit above BitsStored − 1), mask away whatever the bits above BitsStored hold (overlays,
 * sign extension, garbage), and flip the sign bit, which turns a two's complement value into
 * value − min, i.e. the index.
 */
function storedIndex(frame: StoredFrame): (sample: number) => number {
  const shift = frame.highBit + 1 - frame.bitsStored;
  const mask = 2 ** frame.bitsStored - 1;
  const flip = frame.signed ? 2 ** (frame.bitsStored - 1) : 0;
  return (sample) => ((sample >>> shift) & mask) ^ flip;
}

/**
 * The display LUT re-indexed by the raw sample word (2^BitsAllocated entries, built once per
 * image), so the per-pixel loop is a bare lookup: no shift, mask or sign handling per pixel.
 * Built with block copies, not per entry, so it costs microseconds even for a 512² CT: the
 * sign flip swaps the LUT's halves, a High Bit above BitsStored − 1 repeats each entry, and
 * the masked-away high bits repeat the whole pattern.
 */
function sampleTable(frame: StoredFrame, lut: Uint8Array): Uint8Array {
  const size = 2 ** frame.bitsAllocated;
  if (frame.bitsStored === frame.bitsAllocated && !frame.signed) return lut;
  const table = new Uint8Array(size);
  const run = 2 ** (frame.highBit + 1 - frame.bitsStored);
  const half = lut.length / 2;
  if (run === 1 && frame.signed) {
    table.set(lut.subarray(half));
    table.set(lut.subarray(0, half), half);
  } else if (run === 1) {
    table.set(lut);
  } else {
    const flip = frame.signed ? half : 0;
    for (let index = 0; index < lut.length; index += 1) {
      table.fill(lut[index ^ flip]!, index * run, (index + 1) * run);
    }
  }
  for (let filled = lut.length * run; filled < size; filled *= 2) {
    table.copyWithin(filled, 0, filled);
  }
  return table;
}

/**
 * The output raster, placed so that `firstAligned` pixels in, both the output and the sample
 * data sit on a 4-byte boundary and the main loop can read and write whole 32-bit words: about
 * twice as fast as byte by byte. Not zero-filled: every pixel is written.
 */
function alignedRaster(pixelCount: number, firstAligned: number): Uint8Array {
  const offset = (4 - (firstAligned % 4)) % 4;
  return new Uint8Array(Buffer.allocUnsafeSlow(pixelCount + 3).buffer, offset, pixelCount);
}

function apply16(data: Uint8Array, n: number, table: Uint8Array): Uint8Array {
  const start = data.byteOffset;
  if (!LITTLE_ENDIAN_HOST || start % 2 !== 0) {
    const out = alignedRaster(n, 0);
    for (let i = 0, j = 0; i < n; i += 1, j += 2) out[i] = table[data[j]! | (data[j + 1]! << 8)]!;
    return out;
  }
  const head = Math.min(n, (start % 4) / 2);
  const out = alignedRaster(n, head);
  const samples = new Uint16Array(data.buffer, start, n);
  const quads = Math.max(0, (n - head) >> 2);
  // A typed array view must start on a multiple of its element size, even an empty one.
  if (quads > 0) {
    const words = new Uint32Array(data.buffer, start + head * 2, quads * 2);
    const out32 = new Uint32Array(out.buffer, out.byteOffset + head, quads);
    for (let q = 0, w = 0; q < quads; q += 1, w += 2) {
      const a = words[w]!;
      const b = words[w + 1]!;
      out32[q] =
        table[a & 0xffff]! |
        (table[a >>> 16]! << 8) |
        (table[b & 0xffff]! << 16) |
        (table[b >>> 16]! << 24);
    }
  }
  for (let i = 0; i < head; i += 1) out[i] = table[samples[i]!]!;
  for (let i = head + quads * 4; i < n; i += 1) out[i] = table[samples[i]!]!;
  return out;
}

function apply8(data: Uint8Array, n: number, table: Uint8Array): Uint8Array {
  const start = data.byteOffset;
  const head = Math.min(n, (4 - (start % 4)) % 4);
  const out = alignedRaster(n, head);
  const quads = LITTLE_ENDIAN_HOST ? Math.max(0, (n - head) >> 2) : 0;
  if (quads > 0) {
    const words = new Uint32Array(data.buffer, start + head, quads);
    const out32 = new Uint32Array(out.buffer, out.byteOffset + head, quads);
    for (let q = 0; q < quads; q += 1) {
      const a = words[q]!;
      out32[q] =
        table[a & 0xff]! |
        (table[(a >>> 8) & 0xff]! << 8) |
        (table[(a >>> 16) & 0xff]! << 16) |
        (table[a >>> 24]! << 24);
    }
  }
  for (let i = 0; i < head; i += 1) out[i] = table[data[i]!]!;
  for (let i = head + quads * 4; i < n; i += 1) out[i] = table[data[i]!]!;
  return out;
}

/** Maps every pixel of the frame through the LUT; one byte per pixel, row by row. */
export function applyDisplayLut(frame: StoredFrame, lut: Uint8Array): Uint8Array {
  const table = sampleTable(frame, lut);
  return frame.bitsAllocated === 16
    ? apply16(frame.data, frame.pixelCount, table)
    : apply8(frame.data, frame.pixelCount, table);
}

/** How many pixels hold each raw sample word. */
function sampleCounts(frame: StoredFrame): Uint32Array {
  const { data, pixelCount: n } = frame;
  const counts = new Uint32Array(2 ** frame.bitsAllocated);
  if (frame.bitsAllocated === 8) {
    for (let i = 0; i < n; i += 1) counts[data[i]!]! += 1;
  } else if (LITTLE_ENDIAN_HOST && data.byteOffset % 2 === 0) {
    const samples = new Uint16Array(data.buffer, data.byteOffset, n);
    for (let i = 0; i < n; i += 1) counts[samples[i]!]! += 1;
  } else {
    for (let i = 0, j = 0; i < n; i += 1, j += 2) counts[data[j]! | (data[j + 1]! << 8)]! += 1;
  }
  return counts;
}

/** How many pixels hold each stored value (same indexing as the LUT). */
export function storedHistogram(frame: StoredFrame): Uint32Array {
  const raw = sampleCounts(frame);
  const index = storedIndex(frame);
  const counts = new Uint32Array(2 ** frame.bitsStored);
  for (let sample = 0; sample < raw.length; sample += 1) {
    const count = raw[sample]!;
    if (count > 0) counts[index(sample)]! += count;
  }
  return counts;
}
