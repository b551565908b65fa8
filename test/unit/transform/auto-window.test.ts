import { describe, expect, it } from 'vitest';
import { autoWindow } from '../../../src/transform/auto-window.js';
import type { StoredFrame } from '../../../src/transform/pixel-data.js';
import { buildDisplayLut } from '../../../src/transform/lut.js';

function signedFrame(values: readonly number[]): StoredFrame {
  const samples = Int16Array.from(values);
  return {
    data: new Uint8Array(samples.buffer),
    pixelCount: samples.length,
    bitsAllocated: 16,
    bitsStored: 16,
    highBit: 15,
    signed: true,
  };
}

/** The modality values the window sends to 0 and to 255 (the inverse of windowSpanning). */
function edges(window: { center: number; width: number }): [number, number] {
  return [
    window.center - 0.5 - (window.width - 1) / 2,
    window.center - 0.5 + (window.width - 1) / 2,
  ];
}

describe('autoWindow', () => {
  it('spans the 0.5th to 99.5th percentile of the modality values', () => {
    // 0..999 once each: nearest rank 5 → 4, rank 995 → 994.
    const values = Array.from({ length: 1000 }, (_, i) => i);
    const window = autoWindow({
      frame: signedFrame(values),
      toModality: (v: number) => v - 1024,
      padding: undefined,
    });
    expect(window.source).toBe('percentile');
    expect(edges(window)).toEqual([4 - 1024, 994 - 1024]);
  });

  it('leaves the Pixel Padding Value out of the statistics', () => {
    // 60% padding at -2000, which alone would drag the low edge there.
    const values = [
      ...Array.from({ length: 1500 }, () => -2000),
      ...Array.from({ length: 1000 }, (_, i) => i),
    ];
    const frame = signedFrame(values);
    const padded = autoWindow({
      frame,
      toModality: (v: number) => v,
      padding: { low: -2000, high: -2000 },
    });
    expect(edges(padded)).toEqual([4, 994]);
    const unpadded = autoWindow({
      frame,
      toModality: (v: number) => v,
      padding: undefined,
    });
    expect(edges(unpadded)[0]).toBe(-2000);
  });

  it('leaves out a whole padding range (Pixel Padding Range Limit)', () => {
    const values = [-3000, -2500, -2001, ...Array.from({ length: 1000 }, (_, i) => i)];
    const window = autoWindow({
      frame: signedFrame(values),
      toModality: (v: number) => v,
      padding: { low: -3000, high: -2001 },
    });
    expect(edges(window)).toEqual([4, 994]);
  });

  it('orders the edges when the rescale slope is negative', () => {
    const values = Array.from({ length: 1000 }, (_, i) => i);
    const window = autoWindow({
      frame: signedFrame(values),
      toModality: (v: number) => -2 * v,
      padding: undefined,
    });
    expect(edges(window)).toEqual([-1988, -8]);
  });

  it('widens to min..max when one value fills both percentiles but the image is not constant', () => {
    const values = [...Array.from({ length: 999 }, () => 100), 7, 300];
    const window = autoWindow({
      frame: signedFrame(values),
      toModality: (v: number) => v,
      padding: undefined,
    });
    expect(window.source).toBe('percentile');
    expect(edges(window)).toEqual([7, 300]);
  });

  it('gives a constant image the full stored range, so it is neither black nor white by accident', () => {
    const frame = signedFrame(Array.from({ length: 100 }, () => 0));
    const window = autoWindow({ frame, toModality: (v: number) => v, padding: undefined });
    expect(window.source).toBe('full-range');
    expect(edges(window)).toEqual([-32768, 32767]);
    const lut = buildDisplayLut({
      bitsStored: 16,
      signed: true,
      modality: { kind: 'rescale', slope: 1, intercept: 0 },
      voi: { kind: 'window', center: window.center, width: window.width, function: 'LINEAR' },
      invert: false,
      outMax: 255,
    });
    expect(lut[32768]).toBe(128);
  });

  it('gives an image that is all padding the full range too', () => {
    const frame = signedFrame([-2000, -2000, -2000]);
    const window = autoWindow({
      frame,
      toModality: (v: number) => v,
      padding: { low: -2000, high: -2000 },
    });
    expect(window.source).toBe('full-range');
  });
});
