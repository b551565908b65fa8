import { EtlError } from '../domain/errors.js';
import type { Palette } from './palette.js';
import type { Photometric, StoredFrame } from './pixel-data.js';

/**
 * Colour frames → interleaved 8-bit sRGB (R, G, B per pixel). Colour images have no VOI or
 * presentation LUT; samples of more than 8 bits are scaled down to 8.
 */

const clamp8 = (value: number) => (value <= 0 ? 0 : value >= 255 ? 255 : Math.round(value));

/**
 * YBR_FULL → RGB, the inverse of PS3.3 C.7.6.3.1.2's equations (ITU-R BT.601 full range, as in
 * JFIF), chroma centred on 128. Also YBR_FULL_422 once its chroma is repeated.
 */
export function ybrFullToRgb(y: number, cb: number, cr: number): [number, number, number] {
  return [
    clamp8(y + 1.402 * (cr - 128)),
    clamp8(y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128)),
    clamp8(y + 1.772 * (cb - 128)),
  ];
}

/**
 * YBR_ICT (JPEG 2000 irreversible colour transform, ISO 15444-1 G.3) → RGB. Luma as stored;
 * chroma centred on 0, as a JPEG 2000 decoder yields the components before the inverse
 * component transform (the DC level shift moves luma only). Unrounded and unclamped, in the
 * components' own range, so callers of any bit depth can use it.
 */
export function ictToRgb(y: number, cb: number, cr: number): [number, number, number] {
  return [y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb];
}

/**
 * YBR_RCT (JPEG 2000 reversible colour transform, ISO 15444-1 G.2) → RGB; chroma as for ICT.
 * Exact integers, in the components' own range.
 */
export function rctToRgb(y: number, cb: number, cr: number): [number, number, number] {
  const g = y - Math.floor((cb + cr) / 4);
  return [cr + g, g, cb + g];
}

type Samples = Uint8Array | Uint16Array | Uint32Array;

/** The frame's samples as unsigned stored values (high bit honoured, bits above masked). */
function storedSamples(frame: StoredFrame, count: number): Samples {
  const { data, bitsAllocated, bitsStored, highBit } = frame;
  if (bitsAllocated === 8 && bitsStored === 8) return data.subarray(0, count);
  const shift = highBit + 1 - bitsStored;
  const mask = 2 ** bitsStored - 1;
  if (bitsAllocated === 8) return data.subarray(0, count).map((v) => (v >>> shift) & mask);
  if (bitsAllocated === 16) {
    const out = new Uint16Array(count);
    for (let i = 0, j = 0; i < count; i += 1, j += 2) {
      out[i] = ((data[j]! | (data[j + 1]! << 8)) >>> shift) & mask;
    }
    return out;
  }
  // Bits Allocated 32: 32 bits do not fit JavaScript's signed 32-bit bit operators: mask by remainder instead.
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i += 1) out[i] = (view.getUint32(i * 4, true) >>> shift) % (mask + 1);
  return out;
}

/** Scales samples of `bits` bits to 8 bits; 8-bit samples come back as they are. */
function to8(samples: Samples, bits: number): Uint8Array {
  if (bits === 8 && samples instanceof Uint8Array) return samples;
  const top = 2 ** bits - 1;
  return Uint8Array.from(samples, (v) => Math.round((v * 255) / top));
}

/** Planar configuration 1 (RRR…GGG…BBB…) → interleaved. */
function interleave<T extends Samples>(planes: T, n: number): T {
  const out = new (planes.constructor as new (length: number) => T)(n * 3);
  for (let i = 0; i < n; i += 1) {
    out[i * 3] = planes[i]!;
    out[i * 3 + 1] = planes[n + i]!;
    out[i * 3 + 2] = planes[2 * n + i]!;
  }
  return out;
}

type Converter = (a: number, b: number, c: number) => [number, number, number];

function convertEach(samples: Uint8Array, n: number, convert: Converter): Uint8Array {
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n * 3; i += 3) {
    const [r, g, b] = convert(samples[i]!, samples[i + 1]!, samples[i + 2]!);
    out[i] = r;
    out[i + 1] = g;
    out[i + 2] = b;
  }
  return out;
}

/**
 * YBR_FULL_422 native layout (C.7.6.3.1.2): Y1 Y2 Cb Cr for each horizontal pixel pair. Each
 * pair shares its chroma; reading it as if it were YBR_FULL is what makes images green.
 */
function expand422(samples: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n * 3);
  for (let pair = 0; pair < n / 2; pair += 1) {
    const at = pair * 4;
    const cb = samples[at + 2]!;
    const cr = samples[at + 3]!;
    const [r1, g1, b1] = ybrFullToRgb(samples[at]!, cb, cr);
    const [r2, g2, b2] = ybrFullToRgb(samples[at + 1]!, cb, cr);
    out.set([r1, g1, b1, r2, g2, b2], pair * 6);
  }
  return out;
}

function applyPalette(frame: StoredFrame, palette: Palette): Uint8Array {
  const n = frame.pixelCount;
  const samples = storedSamples(frame, n);
  const last = palette.red.length - 1;
  const half = 2 ** (frame.bitsStored - 1);
  const span = 2 ** frame.bitsStored;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i += 1) {
    let value = samples[i]!;
    if (frame.signed && value >= half) value -= span;
    const index = Math.min(last, Math.max(0, value - palette.first));
    out[i * 3] = palette.red[index]!;
    out[i * 3 + 1] = palette.green[index]!;
    out[i * 3 + 2] = palette.blue[index]!;
  }
  return out;
}

export interface ColourFrame {
  frame: StoredFrame;
  photometric: Photometric;
  planarConfiguration: 0 | 1;
  palette: Palette | undefined;
}

/** One colour frame → interleaved 8-bit RGB, pixelCount × 3 bytes. */
export function toRgb8(input: ColourFrame): Uint8Array {
  const { frame, photometric, planarConfiguration } = input;
  const n = frame.pixelCount;
  if (photometric === 'PALETTE COLOR') {
    if (input.palette === undefined)
      throw new EtlError('INTERNAL', 'palette image without palette');
    return applyPalette(frame, input.palette);
  }
  if (photometric === 'YBR_FULL_422') {
    return expand422(to8(storedSamples(frame, n * 2), frame.bitsStored), n);
  }
  if (photometric === 'YBR_ICT' || photometric === 'YBR_RCT') {
    // Chroma is stored with the same 2^(BitsStored−1) offset as YBR_FULL's 128.
    const samples = storedSamples(frame, n * 3);
    const raw = planarConfiguration === 1 ? interleave(samples, n) : samples;
    const offset = 2 ** (frame.bitsStored - 1);
    const scale = 255 / (2 ** frame.bitsStored - 1);
    const convert = photometric === 'YBR_ICT' ? ictToRgb : rctToRgb;
    const out = new Uint8Array(n * 3);
    for (let i = 0; i < n * 3; i += 3) {
      const [r, g, b] = convert(raw[i]!, raw[i + 1]! - offset, raw[i + 2]! - offset);
      out[i] = clamp8(r * scale);
      out[i + 1] = clamp8(g * scale);
      out[i + 2] = clamp8(b * scale);
    }
    return out;
  }
  const samples8 = to8(storedSamples(frame, n * 3), frame.bitsStored);
  const interleaved = planarConfiguration === 1 ? interleave(samples8, n) : samples8;
  return photometric === 'YBR_FULL' ? convertEach(interleaved, n, ybrFullToRgb) : interleaved;
}
