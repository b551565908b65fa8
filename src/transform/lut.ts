import type { LutTable } from './lut-data.js';
import type { StoredFrame } from './pixel-data.js';
import type { ModalityTransform, WindowFunction } from './presentation.js';

/** The VOI stage: a window with its function, or a VOI LUT. */
export type VoiTransform =
  | { kind: 'window'; center: number; width: number; function: WindowFunction }
  | { kind: 'lut'; lut: LutTable };

/**
 * The grayscale pipeline of PS3.4 N.2 (modality LUT → VOI LUT → presentation LUT) as a function
 * of the stored value, folded into one table with an entry per possible stored value, so each
 * pixel costs one lookup however many stages there are. Index = stored value − the smallest
 * stored value (−2^(BitsStored−1) when signed, else 0).
 */
export interface DisplayLutParams {
  bitsStored: number;
  signed: boolean;
  modality: ModalityTransform;
  voi: VoiTransform;
  /** Invert after the VOI LUT, as the presentation LUT does for MONOCHROME1 or INVERSE. */
  invert: boolean;
  /** Largest output value: 255 for 8-bit output, 65535 for a 16-bit master. */
  outMax: number;
}

export function minStoredValue(bitsStored: number, signed: boolean): number {
  return signed ? -(2 ** (bitsStored - 1)) : 0;
}

function lookup(lut: LutTable, x: number): number {
  const index = Math.min(lut.entries.length - 1, Math.max(0, Math.round(x) - lut.first));
  return lut.entries[index]!;
}

/** The modality value of a stored value (PS3.3 C.11.1). */
export function modalityFunction(modality: ModalityTransform): (stored: number) => number {
  if (modality.kind === 'lut') return (stored) => lookup(modality.lut, stored);
  const { slope, intercept } = modality;
  return (stored) => stored * slope + intercept;
}

/**
 * VOI LUT Function LINEAR, PS3.3 C.11.2.1.2.1, onto 0..1. Width 1 (or less) is a threshold at
 * c − 0.5 because the second branch then covers every x the first does not.
 */
function linear(x: number, center: number, width: number): number {
  const c = center - 0.5;
  const halfSpan = (width - 1) / 2;
  if (x <= c - halfSpan) return 0;
  if (x > c + halfSpan) return 1;
  return (x - c) / (width - 1) + 0.5;
}

/** LINEAR_EXACT, C.11.2.1.3.2: the linear ramp without the half-unit offsets. */
function linearExact(x: number, center: number, width: number): number {
  if (x <= center - width / 2) return 0;
  if (x > center + width / 2) return 1;
  return (x - center) / width + 0.5;
}

/** SIGMOID, C.11.2.1.3.1. */
function sigmoid(x: number, center: number, width: number): number {
  return 1 / (1 + Math.exp((-4 * (x - center)) / width));
}

const WINDOW_FUNCTIONS = { LINEAR: linear, LINEAR_EXACT: linearExact, SIGMOID: sigmoid };

/** Modality value → VOI output in 0..1. */
function voiFunction(voi: VoiTransform): (x: number) => number {
  if (voi.kind === 'lut') {
    const top = 2 ** voi.lut.bits - 1;
    return (x) => lookup(voi.lut, x) / top;
  }
  const { center, width } = voi;
  const shape = WINDOW_FUNCTIONS[voi.function];
  return (x) => shape(x, center, width);
}

/**
 * Stored value → output value, rounded to the nearest level. The standard leaves the rounding to
 * the implementation: we round to nearest where dcmtk truncates, so we may be one level above
 * dcmtk, never below (below, after inversion).
 */
export function displayFunction(params: DisplayLutParams): (stored: number) => number {
  const { outMax, invert } = params;
  const toModality = modalityFunction(params.modality);
  const toVoi = voiFunction(params.voi);
  return (stored) => {
    const level = Math.round(toVoi(toModality(stored)) * outMax);
    return invert ? outMax - level : level;
  };
}

export function buildDisplayLut(params: DisplayLutParams): Uint8Array | Uint16Array {
  const size = 2 ** params.bitsStored;
  const min = minStoredValue(params.bitsStored, params.signed);
  const lut = params.outMax > 255 ? new Uint16Array(size) : new Uint8Array(size);
  const display = displayFunction(params);
  for (let index = 0; index < size; index += 1) lut[index] = display(index + min);
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
function sampleTable<T extends Uint8Array | Uint16Array>(frame: StoredFrame, lut: T): T {
  const size = 2 ** frame.bitsAllocated;
  if (frame.bitsStored === frame.bitsAllocated && !frame.signed) return lut;
  const table = (lut instanceof Uint16Array ? new Uint16Array(size) : new Uint8Array(size)) as T;
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
 * Where an 8-bit output raster's memory comes from: an ArrayBuffer of at least `byteLength`
 * bytes, any content (every pixel is written). The default is fresh memory; a caller that
 * renders many images can hand back recycled buffers, whose pages are already mapped: on a
 * 3000×2500 CR the first write to fresh memory (page faults) costs about a third of the LUT pass.
 */
export type RasterMemory = (byteLength: number) => ArrayBuffer;

const freshMemory: RasterMemory = (byteLength) => Buffer.allocUnsafeSlow(byteLength).buffer;

/**
 * The output raster, placed so that `firstAligned` pixels in, both the output and the sample
 * data sit on a 4-byte boundary and the main loop can read and write whole 32-bit words: about
 * twice as fast as byte by byte. Not zero-filled: every pixel is written.
 */
function alignedRaster(pixelCount: number, firstAligned: number, memory: RasterMemory): Uint8Array {
  const offset = (4 - (firstAligned % 4)) % 4;
  return new Uint8Array(memory(pixelCount + 3), offset, pixelCount);
}

/** Four 16-bit samples, as two little-endian words, → their four output bytes as one word. */
function lookup4(table: Uint8Array, a: number, b: number): number {
  return (
    table[a & 0xffff]! |
    (table[a >>> 16]! << 8) |
    (table[b & 0xffff]! << 16) |
    (table[b >>> 16]! << 24)
  );
}

/**
 * Output words `from` to `to` from the sample words twice as many: sixteen pixels a turn, then
 * four, a quarter faster than four a turn (less loop overhead).
 */
function mapQuads(
  table: Uint8Array,
  words: Uint32Array,
  out32: Uint32Array,
  from: number,
  to: number,
): void {
  let q = from;
  for (let w = 2 * q; q + 4 <= to; q += 4, w += 8) {
    out32[q] = lookup4(table, words[w]!, words[w + 1]!);
    out32[q + 1] = lookup4(table, words[w + 2]!, words[w + 3]!);
    out32[q + 2] = lookup4(table, words[w + 4]!, words[w + 5]!);
    out32[q + 3] = lookup4(table, words[w + 6]!, words[w + 7]!);
  }
  for (; q < to; q += 1) out32[q] = lookup4(table, words[2 * q]!, words[2 * q + 1]!);
}

/**
 * The 16-bit loop goes through the frame in chunks of CHUNK_QUADS output words, and first reads
 * each chunk's samples at one word per 64-byte cache line: loads independent of each other that
 * the CPU overlaps, where the table loop would wait for each line in turn. On frame data that is
 * not in cache (a file just received, or evicted while the previous image was being encoded) the
 * pass gets about a quarter faster; on data in cache it costs about 1 %.
 */
const CHUNK_QUADS = 2048;
/** Where the touching reads go, so that the compiler cannot drop them as unused. */
const touched = { lines: 0 };

function touchLines(words: Uint32Array, from: number, to: number): number {
  let sum = 0;
  for (let w = from; w < to; w += 16) sum ^= words[w]!;
  return sum;
}

function apply16(data: Uint8Array, n: number, table: Uint8Array, memory: RasterMemory): Uint8Array {
  const start = data.byteOffset;
  if (!LITTLE_ENDIAN_HOST || start % 2 !== 0) {
    const out = alignedRaster(n, 0, memory);
    for (let i = 0, j = 0; i < n; i += 1, j += 2) out[i] = table[data[j]! | (data[j + 1]! << 8)]!;
    return out;
  }
  const head = Math.min(n, (start % 4) / 2);
  const out = alignedRaster(n, head, memory);
  const samples = new Uint16Array(data.buffer, start, n);
  const quads = Math.max(0, (n - head) >> 2);
  // A typed array view must start on a multiple of its element size, even an empty one.
  if (quads > 0) {
    const words = new Uint32Array(data.buffer, start + head * 2, quads * 2);
    const out32 = new Uint32Array(out.buffer, out.byteOffset + head, quads);
    for (let from = 0; from < quads; from += CHUNK_QUADS) {
      const to = Math.min(quads, from + CHUNK_QUADS);
      touched.lines ^= touchLines(words, 2 * from, 2 * to);
      mapQuads(table, words, out32, from, to);
    }
  }
  for (let i = 0; i < head; i += 1) out[i] = table[samples[i]!]!;
  for (let i = head + quads * 4; i < n; i += 1) out[i] = table[samples[i]!]!;
  return out;
}

function apply8(data: Uint8Array, n: number, table: Uint8Array, memory: RasterMemory): Uint8Array {
  const start = data.byteOffset;
  const head = Math.min(n, (4 - (start % 4)) % 4);
  const out = alignedRaster(n, head, memory);
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

/** The 16-bit master's loop: plain, since it is not the hot path. */
function applyWide(frame: StoredFrame, table: Uint16Array): Uint16Array {
  const { data, pixelCount: n } = frame;
  const out = new Uint16Array(n);
  if (frame.bitsAllocated === 8) {
    for (let i = 0; i < n; i += 1) out[i] = table[data[i]!]!;
  } else {
    for (let i = 0, j = 0; i < n; i += 1, j += 2) out[i] = table[data[j]! | (data[j + 1]! << 8)]!;
  }
  return out;
}

/**
 * Maps every pixel of an 8- or 16-bit frame through the LUT; one value per pixel, row by row.
 * An 8-bit raster lives in `memory` (the 16-bit master always in fresh memory). 32-bit frames
 * have no LUT (it would have 2^32 entries): see applyDisplayFunction.
 */
export function applyDisplayLut<T extends Uint8Array | Uint16Array>(
  frame: StoredFrame,
  lut: T,
  memory: RasterMemory = freshMemory,
): T {
  const table = sampleTable(frame, lut);
  if (table instanceof Uint16Array) return applyWide(frame, table) as T;
  return (
    frame.bitsAllocated === 16
      ? apply16(frame.data, frame.pixelCount, table, memory)
      : apply8(frame.data, frame.pixelCount, table, memory)
  ) as T;
}

/** The stored values of a 32-bit frame, in pixel order. */
export function storedValues32(frame: StoredFrame): Float64Array {
  const { data, pixelCount: n } = frame;
  const shift = frame.highBit + 1 - frame.bitsStored;
  const span = 2 ** frame.bitsStored;
  const signBit = span / 2;
  const out = new Float64Array(n);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < n; i += 1) {
    // Division and modulo, not >>> and &, which work on signed 32-bit integers.
    const value = Math.floor(view.getUint32(i * 4, true) / 2 ** shift) % span;
    out[i] = frame.signed && value >= signBit ? value - span : value;
  }
  return out;
}

/** The 32-bit path: the display function per pixel instead of a table. */
export function applyDisplayFunction(
  frame: StoredFrame,
  display: (stored: number) => number,
  outMax: number,
): Uint8Array | Uint16Array {
  const values = storedValues32(frame);
  const out = outMax > 255 ? new Uint16Array(values.length) : new Uint8Array(values.length);
  for (let i = 0; i < values.length; i += 1) out[i] = display(values[i]!);
  return out;
}

/**
 * Adds how many of `samples` hold each value into `counts`: four tables of 2^bits entries,
 * summed by sampleCounts. Neighbouring pixels of a radiograph mostly hold the same value, and
 * with one table each increment waits for the previous one to the same entry: pixel i counts in
 * table i mod 4. The tables' offsets are constants so that the compiler can see every index is
 * in range and drop the bounds checks; with a variable size the four tables were no faster.
 */
function countInto8(samples: Uint8Array, counts: Uint32Array): void {
  const n = samples.length;
  const quads = n - (n % 4);
  for (let i = 0; i < quads; i += 4) {
    counts[samples[i]!]! += 1;
    counts[0x100 + samples[i + 1]!]! += 1;
    counts[0x200 + samples[i + 2]!]! += 1;
    counts[0x300 + samples[i + 3]!]! += 1;
  }
  for (let i = quads; i < n; i += 1) counts[samples[i]!]! += 1;
}

function countInto16(samples: Uint16Array, counts: Uint32Array): void {
  const n = samples.length;
  const quads = n - (n % 4);
  for (let i = 0; i < quads; i += 4) {
    counts[samples[i]!]! += 1;
    counts[0x10000 + samples[i + 1]!]! += 1;
    counts[0x20000 + samples[i + 2]!]! += 1;
    counts[0x30000 + samples[i + 3]!]! += 1;
  }
  for (let i = quads; i < n; i += 1) counts[samples[i]!]! += 1;
}

/** How many pixels hold each raw sample word: about a third faster than one table on a CR. */
function sampleCounts(frame: StoredFrame): Uint32Array {
  const { data, pixelCount: n } = frame;
  const size = 2 ** frame.bitsAllocated;
  const counts = new Uint32Array(4 * size);
  if (frame.bitsAllocated === 8) {
    countInto8(data.subarray(0, n), counts);
  } else if (LITTLE_ENDIAN_HOST && data.byteOffset % 2 === 0) {
    countInto16(new Uint16Array(data.buffer, data.byteOffset, n), counts);
  } else {
    for (let i = 0, j = 0; i < n; i += 1, j += 2) counts[data[j]! | (data[j + 1]! << 8)]! += 1;
  }
  for (let value = 0; value < size; value += 1) {
    counts[value]! += counts[size + value]! + counts[2 * size + value]! + counts[3 * size + value]!;
  }
  return counts.subarray(0, size);
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
