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
interface IndexRecipe {
  shift: number;
  mask: number;
  flip: number;
}

function indexRecipe(frame: StoredFrame): IndexRecipe {
  return {
    shift: frame.highBit + 1 - frame.bitsStored,
    mask: 2 ** frame.bitsStored - 1,
    flip: frame.signed ? 2 ** (frame.bitsStored - 1) : 0,
  };
}

/**
 * The output raster, placed in a slightly larger buffer so that `firstAligned` pixels in, both
 * the output and the sample data sit on a 4-byte boundary and the main loop can read and write
 * whole 32-bit words: about twice as fast as byte by byte.
 */
function alignedRaster(pixelCount: number, firstAligned: number): Uint8Array {
  return new Uint8Array(new ArrayBuffer(pixelCount + 3), (4 - (firstAligned % 4)) % 4, pixelCount);
}

function apply16(frame: StoredFrame, lut: Uint8Array): Uint8Array {
  const { data, pixelCount: n } = frame;
  const { shift, mask, flip } = indexRecipe(frame);
  const start = data.byteOffset;
  if (!LITTLE_ENDIAN_HOST || start % 2 !== 0) {
    const out = new Uint8Array(n);
    for (let i = 0, j = 0; i < n; i += 1, j += 2) {
      out[i] = lut[(((data[j]! | (data[j + 1]! << 8)) >>> shift) & mask) ^ flip]!;
    }
    return out;
  }
  const head = Math.min(n, (start % 4) / 2);
  const out = alignedRaster(n, head);
  const samples = new Uint16Array(data.buffer, start, n);
  for (let i = 0; i < head; i += 1) out[i] = lut[((samples[i]! >>> shift) & mask) ^ flip]!;
  const quads = Math.max(0, (n - head) >> 2);
  // A typed array view must start on its element size, even an empty one.
  if (quads > 0) {
    const words = new Uint32Array(data.buffer, start + head * 2, quads * 2);
    const out32 = new Uint32Array(out.buffer, out.byteOffset + head, quads);
    // The sign flip applied to both samples of a word at once, before the shift.
    const flip2 = ((flip << shift) | (flip << (shift + 16))) >>> 0;
    const high = shift + 16;
    for (let q = 0, w = 0; q < quads; q += 1, w += 2) {
      const a = words[w]! ^ flip2;
      const b = words[w + 1]! ^ flip2;
      out32[q] =
        lut[(a >>> shift) & mask]! |
        (lut[(a >>> high) & mask]! << 8) |
        (lut[(b >>> shift) & mask]! << 16) |
        (lut[(b >>> high) & mask]! << 24);
    }
  }
  for (let i = head + quads * 4; i < n; i += 1) {
    out[i] = lut[((samples[i]! >>> shift) & mask) ^ flip]!;
  }
  return out;
}

function apply8(frame: StoredFrame, lut: Uint8Array): Uint8Array {
  const { data, pixelCount: n } = frame;
  const { shift, mask, flip } = indexRecipe(frame);
  const start = data.byteOffset;
  const head = Math.min(n, (4 - (start % 4)) % 4);
  const out = alignedRaster(n, head);
  for (let i = 0; i < head; i += 1) out[i] = lut[((data[i]! >>> shift) & mask) ^ flip]!;
  const quads = Math.max(0, (n - head) >> 2);
  let done = head;
  if (LITTLE_ENDIAN_HOST && quads > 0) {
    const words = new Uint32Array(data.buffer, start + head, quads);
    const out32 = new Uint32Array(out.buffer, out.byteOffset + head, quads);
    const flipByte = flip << shift;
    const flip4 = (flipByte | (flipByte << 8) | (flipByte << 16) | (flipByte << 24)) >>> 0;
    for (let q = 0; q < quads; q += 1) {
      const a = words[q]! ^ flip4;
      out32[q] =
        lut[(a >>> shift) & mask]! |
        (lut[(a >>> (shift + 8)) & mask]! << 8) |
        (lut[(a >>> (shift + 16)) & mask]! << 16) |
        (lut[(a >>> (shift + 24)) & mask]! << 24);
    }
    done += quads * 4;
  }
  for (let i = done; i < n; i += 1) {
    out[i] = lut[((data[i]! >>> shift) & mask) ^ flip]!;
  }
  return out;
}

/** Maps every pixel of the frame through the LUT; one byte per pixel, row by row. */
export function applyDisplayLut(frame: StoredFrame, lut: Uint8Array): Uint8Array {
  return frame.bitsAllocated === 16 ? apply16(frame, lut) : apply8(frame, lut);
}

/** How many pixels hold each stored value (same indexing as the LUT). */
export function storedHistogram(frame: StoredFrame): Uint32Array {
  const { data, pixelCount: n } = frame;
  const { shift, mask, flip } = indexRecipe(frame);
  const counts = new Uint32Array(mask + 1);
  if (frame.bitsAllocated === 8) {
    for (let i = 0; i < n; i += 1) counts[((data[i]! >>> shift) & mask) ^ flip]! += 1;
  } else if (LITTLE_ENDIAN_HOST && data.byteOffset % 2 === 0) {
    const samples = new Uint16Array(data.buffer, data.byteOffset, n);
    for (let i = 0; i < n; i += 1) counts[((samples[i]! >>> shift) & mask) ^ flip]! += 1;
  } else {
    for (let i = 0, j = 0; i < n; i += 1, j += 2) {
      counts[(((data[j]! | (data[j + 1]! << 8)) >>> shift) & mask) ^ flip]! += 1;
    }
  }
  return counts;
}
