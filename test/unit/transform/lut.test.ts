import { describe, expect, it } from 'vitest';
import type { StoredFrame } from '../../../src/transform/pixel-data.js';
import {
  applyDisplayLut,
  buildDisplayLut,
  minStoredValue,
  storedHistogram,
  type DisplayLutParams,
} from '../../../src/transform/lut.js';

/**
 * PS3.3 C.11.2.1.2.1, VOI LUT Function LINEAR, transcribed from the standard for the tests
 * (output range 0..255), then rounded to nearest as the renderer documents.
 */
function standardLinear(x: number, c: number, w: number): number {
  const yMin = 0;
  const yMax = 255;
  if (x <= c - 0.5 - (w - 1) / 2) return yMin;
  if (x > c - 0.5 + (w - 1) / 2) return yMax;
  return Math.round(((x - (c - 0.5)) / (w - 1) + 0.5) * (yMax - yMin) + yMin);
}

/** The LUT entry for a stored value. */
function greyOf(lut: Uint8Array | Uint16Array, params: DisplayLutParams, stored: number): number {
  const grey = lut[stored - minStoredValue(params.bitsStored, params.signed)];
  if (grey === undefined) throw new Error(`stored value ${stored} is outside the LUT`);
  return grey;
}

describe('buildDisplayLut: rescaled CT, W=400 C=40', () => {
  const ct: DisplayLutParams = {
    bitsStored: 12,
    signed: true,
    modality: { kind: 'rescale', slope: 1, intercept: -1024 },
    voi: { kind: 'window', center: 40, width: 400, function: 'LINEAR' },
    invert: false,
    outMax: 255,
  };
  const lut = buildDisplayLut(ct);
  const hu = (value: number) => greyOf(lut, ct, value + 1024);

  it('has one entry per stored value', () => {
    expect(lut.length).toBe(4096);
  });

  it('matches hand-computed values at and around both clipping edges and the centre', () => {
    // Lower edge: x <= c - 0.5 - (w-1)/2 = -160 is black.
    expect(hu(-1000)).toBe(0);
    expect(hu(-161)).toBe(0);
    expect(hu(-160)).toBe(0);
    // ((-159 - 39.5) / 399 + 0.5) * 255 = 0.64 → 1 (dcmtk truncates to 0).
    expect(hu(-159)).toBe(1);
    // ((39 - 39.5) / 399 + 0.5) * 255 = 127.18 → 127; x = 40 gives 127.82 → 128.
    expect(hu(39)).toBe(127);
    expect(hu(40)).toBe(128);
    // ((238 - 39.5) / 399 + 0.5) * 255 = 254.36 → 254; 239 is the last linear value, 255.
    expect(hu(238)).toBe(254);
    expect(hu(239)).toBe(255);
    // Upper edge: x > c - 0.5 + (w-1)/2 = 239 is white.
    expect(hu(240)).toBe(255);
    expect(hu(1023)).toBe(255);
  });

  it('matches the standard formula for every stored value, signed range included', () => {
    const mismatches: string[] = [];
    for (let stored = -2048; stored <= 2047; stored += 1) {
      const expected = standardLinear(stored - 1024, 40, 400);
      const actual = greyOf(lut, ct, stored);
      if (actual !== expected) mismatches.push(`${stored}: ${actual} ≠ ${expected}`);
    }
    expect(mismatches).toEqual([]);
  });

  it('handles half-unit modality values on the edges (slope 0.5)', () => {
    const params: DisplayLutParams = {
      ...ct,
      bitsStored: 16,
      modality: { kind: 'rescale', slope: 0.5, intercept: -1024 },
    };
    const halves = buildDisplayLut(params);
    const at = (x: number) => greyOf(halves, params, (x + 1024) / 0.5);
    expect(at(-160.5)).toBe(0);
    expect(at(-160)).toBe(0);
    expect(at(-159.5)).toBe(standardLinear(-159.5, 40, 400));
    expect(at(239)).toBe(255);
    expect(at(239.5)).toBe(255);
    expect(at(238.5)).toBe(standardLinear(238.5, 40, 400));
  });
});

describe('buildDisplayLut: other windows', () => {
  it('turns W=1 C=0 into a threshold at -0.5', () => {
    const params: DisplayLutParams = {
      bitsStored: 8,
      signed: true,
      modality: { kind: 'rescale', slope: 0.5, intercept: 0 },
      voi: { kind: 'window', center: 0, width: 1, function: 'LINEAR' },
      invert: false,
      outMax: 255,
    };
    const lut = buildDisplayLut(params);
    expect(greyOf(lut, params, -128)).toBe(0);
    expect(greyOf(lut, params, -1)).toBe(0); // x = -0.5
    expect(greyOf(lut, params, 0)).toBe(255); // x = 0
    expect(greyOf(lut, params, 127)).toBe(255);
    expect(new Set(lut)).toEqual(new Set([0, 255]));
  });

  it('inverts MONOCHROME1 after the VOI LUT, so a narrow window is not all white', () => {
    const params: DisplayLutParams = {
      bitsStored: 12,
      signed: false,
      modality: { kind: 'rescale', slope: 1, intercept: 0 },
      voi: { kind: 'window', center: 100, width: 10, function: 'LINEAR' },
      invert: true,
      outMax: 255,
    };
    const lut = buildDisplayLut(params);
    expect(greyOf(lut, params, 50)).toBe(255);
    expect(greyOf(lut, params, 200)).toBe(0);
    expect(greyOf(lut, params, 4095)).toBe(0);
    expect(greyOf(lut, params, 100)).toBe(255 - standardLinear(100, 100, 10));
    expect(greyOf(lut, params, 100)).toBe(113);
  });

  it('applies a negative rescale slope before the window', () => {
    const params: DisplayLutParams = {
      bitsStored: 8,
      signed: false,
      modality: { kind: 'rescale', slope: -1, intercept: 255 },
      voi: { kind: 'window', center: 128, width: 256, function: 'LINEAR' },
      invert: false,
      outMax: 255,
    };
    const lut = buildDisplayLut(params);
    expect(greyOf(lut, params, 0)).toBe(255);
    expect(greyOf(lut, params, 255)).toBe(0);
  });
});

/** A frame over `words` (16-bit) or `samples` (8-bit) placed at byte `offset` of a buffer. */
function frameAt(
  samples: readonly number[],
  bits: Omit<StoredFrame, 'data' | 'pixelCount'>,
  offset: number,
): StoredFrame {
  const size = bits.bitsAllocated / 8;
  const buffer = new ArrayBuffer(offset + samples.length * size + 5);
  const bytes = new Uint8Array(buffer);
  bytes.fill(0xa5);
  samples.forEach((sample, index) => {
    bytes[offset + index * size] = sample & 0xff;
    if (size === 2) bytes[offset + index * size + 1] = (sample >>> 8) & 0xff;
  });
  return {
    data: new Uint8Array(buffer, offset, samples.length * size),
    pixelCount: samples.length,
    ...bits,
  };
}

/** Stored value of a sample word, written the slow, obvious way. */
function storedValue(sample: number, bits: Omit<StoredFrame, 'data' | 'pixelCount'>): number {
  const shift = bits.highBit + 1 - bits.bitsStored;
  let value = Math.floor(sample / 2 ** shift) % 2 ** bits.bitsStored;
  if (bits.signed && value >= 2 ** (bits.bitsStored - 1)) value -= 2 ** bits.bitsStored;
  return value;
}

/** A LUT whose entry i is i's low byte, so the output shows which index each pixel used. */
function indexLut(bitsStored: number, salt: number): Uint8Array {
  return Uint8Array.from({ length: 2 ** bitsStored }, (_, i) => (i * 7 + salt) & 0xff);
}

describe('applyDisplayLut and storedHistogram: reading stored values', () => {
  const signed12 = { bitsAllocated: 16, bitsStored: 12, highBit: 11, signed: true } as const;
  const unsigned12 = { bitsAllocated: 16, bitsStored: 12, highBit: 11, signed: false } as const;

  it('sign-extends signed 12-bit values whatever the four bits above hold', () => {
    // -2048 with and without sign extension, -1, 0, 2047, and -1 with garbage bits 0x7000.
    const frame = frameAt([0xf800, 0x0800, 0xffff, 0x0000, 0x07ff, 0x7fff], signed12, 0);
    const identity = Uint8Array.from({ length: 4096 }, (_, i) => i >> 4);
    expect([...applyDisplayLut(frame, identity)]).toEqual([0, 0, 127, 128, 255, 127]);
    const counts = storedHistogram(frame);
    expect(counts[0]).toBe(2); // -2048
    expect(counts[2047]).toBe(2); // -1
    expect(counts[2048]).toBe(1); // 0
    expect(counts[4095]).toBe(1); // 2047
  });

  it('masks the bits above Bits Stored of unsigned values (overlays, garbage)', () => {
    const frame = frameAt([0xf123, 0x0123, 0x8fff, 0x1000], unsigned12, 0);
    const lut = indexLut(12, 0);
    const out = applyDisplayLut(frame, lut);
    expect([...out]).toEqual([0x123, 0x123, 0xfff, 0].map((index) => lut[index]));
  });

  it('honours a High Bit above Bits Stored - 1', () => {
    const highBits = { bitsAllocated: 16, bitsStored: 12, highBit: 15, signed: true } as const;
    const frame = frameAt([0x8000, 0xfff0, 0x7ff5, 0x000f], highBits, 0);
    const identity = Uint8Array.from({ length: 4096 }, (_, i) => i >> 4);
    // -2048, -1, 2047 (low nibble ignored), 0 (low nibble ignored).
    expect([...applyDisplayLut(frame, identity)]).toEqual([0, 127, 255, 128]);
  });

  const layouts = [
    { bitsAllocated: 16, bitsStored: 16, highBit: 15, signed: false },
    { bitsAllocated: 16, bitsStored: 16, highBit: 15, signed: true },
    { bitsAllocated: 16, bitsStored: 12, highBit: 11, signed: true },
    { bitsAllocated: 16, bitsStored: 10, highBit: 13, signed: false },
    { bitsAllocated: 8, bitsStored: 8, highBit: 7, signed: false },
    { bitsAllocated: 8, bitsStored: 8, highBit: 7, signed: true },
    { bitsAllocated: 8, bitsStored: 6, highBit: 6, signed: true },
  ] as const;

  for (const bits of layouts) {
    it(`reads every pixel right at any byte offset and length (${JSON.stringify(bits)})`, () => {
      let seed = 12345;
      const random = () => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return seed;
      };
      const lut = indexLut(bits.bitsStored, 3);
      const min = minStoredValue(bits.bitsStored, bits.signed);
      for (const offset of [0, 1, 2, 3, 4, 5, 6, 7]) {
        for (const length of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 17, 23, 37, 64, 16421]) {
          const samples = Array.from({ length }, () => random() % 2 ** bits.bitsAllocated);
          const frame = frameAt(samples, bits, offset);
          const expected = samples.map((sample) => lut[storedValue(sample, bits) - min]);
          expect([...applyDisplayLut(frame, lut)], `offset ${offset}, ${length} pixels`).toEqual(
            expected,
          );
          const counts = storedHistogram(frame);
          const expectedCounts = new Map<number, number>();
          for (const sample of samples) {
            const index = storedValue(sample, bits) - min;
            expectedCounts.set(index, (expectedCounts.get(index) ?? 0) + 1);
          }
          expect(counts.length).toBe(2 ** bits.bitsStored);
          const nonZero = new Map<number, number>();
          counts.forEach((count, index) => {
            if (count > 0) nonZero.set(index, count);
          });
          expect(nonZero).toEqual(expectedCounts);
        }
      }
    });
  }

  it('writes every pixel of a raster placed in recycled, dirty memory', () => {
    const samples = Array.from({ length: 37 }, (_, i) => (i * 977) & 0xfff);
    const lut = indexLut(12, 5);
    const memory = new ArrayBuffer(64);
    for (const offset of [0, 2]) {
      new Uint8Array(memory).fill(0xaa);
      const out = applyDisplayLut(frameAt(samples, unsigned12, offset), lut, () => memory);
      expect(out.buffer).toBe(memory);
      expect([...out]).toEqual(samples.map((sample) => lut[sample]));
    }
  });

  it('does not touch the bytes around the frame', () => {
    const frame = frameAt([1, 2, 3, 4, 5], unsigned12, 3);
    const before = new Uint8Array(frame.data.buffer).slice();
    applyDisplayLut(frame, indexLut(12, 0));
    storedHistogram(frame);
    expect(new Uint8Array(frame.data.buffer)).toEqual(before);
  });
});
