import { describe, expect, it } from 'vitest';
import type { DicomElement } from '../../../src/dicom/writer.js';
import { renderToRaster } from '../../../src/transform/render.js';
import { grayDicom, type GrayDicomSpec } from '../../support/render-dicom.js';

/** Renders the stored values `values` (one row) and returns the output levels. */
function levels(spec: Partial<GrayDicomSpec>, options: Parameters<typeof renderToRaster>[1] = {}) {
  const pixels = spec.pixels ?? new Uint16Array(0);
  const raster = renderToRaster(
    grayDicom({ rows: 1, columns: pixels.length, bitsStored: 16, ...spec, pixels }),
    options,
  );
  return { pixels: [...raster.pixels], recipe: raster.recipe };
}

/** A rescaled CT row whose stored values are the given Hounsfield units + 1024. */
function ctRow(hu: number[], extra: DicomElement[] = []): Partial<GrayDicomSpec> {
  return {
    pixels: Int16Array.from(hu, (value) => value + 1024),
    bitsStored: 12,
    signed: true,
    rescale: { slope: 1, intercept: -1024 },
    window: { center: 40, width: 400 },
    extra,
  };
}

const fn = (value: string): DicomElement => ({ tag: 0x00281056, vr: 'CS', value });

describe('VOI LUT Function, hand-computed for a rescaled CT at W=400 C=40', () => {
  it('LINEAR (C.11.2.1.2.1, with its −0.5 terms)', () => {
    // ((x − 39.5) / 399 + 0.5) × 255, rounded; black at x ≤ −160, white above 239.
    const { pixels, recipe } = levels(ctRow([-161, -160, -159, 39, 40, 238, 239, 240]));
    expect(pixels).toEqual([0, 0, 1, 127, 128, 254, 255, 255]);
    expect(recipe).toMatchObject({ voiFunction: 'LINEAR', windowSource: 'file', windowIndex: 1 });
  });

  it('LINEAR_EXACT (C.11.2.1.3.2): no half-unit offsets', () => {
    // ((x − 40) / 400 + 0.5) × 255; black at x ≤ −160, white above 240.
    // −159: 0.6375 → 1; 40: 127.5 → 128; 239: 254.36 → 254; 240: 255.
    const { pixels, recipe } = levels(ctRow([-160, -159, 40, 239, 240, 241], [fn('LINEAR_EXACT')]));
    expect(pixels).toEqual([0, 1, 128, 254, 255, 255]);
    expect(recipe.voiFunction).toBe('LINEAR_EXACT');
  });

  it('SIGMOID (C.11.2.1.3.1): 255 / (1 + exp(−4 (x − c) / w))', () => {
    // −160: 255 / (1 + e²) = 30.40; 40: 127.5; 240: 255 / (1 + e⁻²) = 224.60.
    const { pixels, recipe } = levels(ctRow([-160, 40, 240, -1024, 1023], [fn('SIGMOID')]));
    expect(pixels).toEqual([30, 128, 225, 0, 255]);
    expect(recipe.voiFunction).toBe('SIGMOID');
  });

  it('W=1 C=0 is a threshold at −0.5', () => {
    const { pixels } = levels({
      pixels: Int16Array.from([-2, -1, 0, 1]),
      signed: true,
      window: { center: 0, width: 1 },
    });
    expect(pixels).toEqual([0, 0, 255, 255]);
  });

  it('a signed CT with padding −2000 and no window: the padding is left out of the window', () => {
    const hu = Array.from({ length: 2000 }, (_, i) => -1000 + i);
    const padded = [...Array.from({ length: 3000 }, () => -2000), ...hu];
    const { pixels, recipe } = levels({
      pixels: Int16Array.from(padded),
      signed: true,
      padding: -2000,
    });
    expect(recipe.windowSource).toBe('percentile');
    // Nearest-rank 0.5 % and 99.5 % of the 2000 anatomy values: −991 and 989.
    expect(recipe.windowCenter! - 0.5 - (recipe.windowWidth! - 1) / 2).toBe(-991);
    expect(recipe.windowCenter! - 0.5 + (recipe.windowWidth! - 1) / 2).toBe(989);
    expect(pixels[0]).toBe(0);
    expect(pixels[3000 + 1000]).toBe(128); // 0 HU, mid-window
    expect(pixels.at(-1)).toBe(255);
  });

  it('a signed CT with padding −2000 and the file window renders its padding black', () => {
    const { pixels } = levels({ ...ctRow([-2000 + 1024, 40]), padding: -2000 });
    expect(pixels).toEqual([0, 128]);
  });
});

describe('window choice', () => {
  const two = {
    ...ctRow([-600, 40]),
    window: { center: [40, -600], width: [400, 1500] },
  };

  it('takes the first window by default, the one asked for with windowIndex', () => {
    expect(levels(two).recipe).toMatchObject({ windowCenter: 40, windowIndex: 1 });
    const second = levels(two, { windowIndex: 2 });
    expect(second.recipe).toMatchObject({ windowCenter: -600, windowWidth: 1500, windowIndex: 2 });
    // ((−600 + 600.5) / 1499 + 0.5) × 255 = 127.59 → 128.
    expect(second.pixels[0]).toBe(128);
  });

  it('falls back to the first window when the file has fewer than windowIndex', () => {
    expect(levels(two, { windowIndex: 5 }).recipe).toMatchObject({ windowIndex: 1 });
  });

  it('uses an override window instead of the file’s, and records it', () => {
    const { pixels, recipe } = levels(two, { window: { center: 0, width: 1 } });
    expect(pixels).toEqual([0, 255]);
    expect(recipe).toMatchObject({
      windowSource: 'override',
      windowCenter: 0,
      windowWidth: 1,
      windowIndex: null,
    });
  });
});

function lutSequence(
  tag: number,
  descriptor: number[],
  data: number[],
  signed = false,
): DicomElement {
  return {
    tag,
    vr: 'SQ',
    value: [
      [
        { tag: 0x00283002, vr: signed ? 'SS' : 'US', value: descriptor },
        { tag: 0x00283006, vr: 'OW', value: Uint16Array.from(data) },
      ],
    ],
  };
}

describe('LUT sequences', () => {
  it('VOI LUT Sequence: first-value mapping, clamping, 12-bit entries scaled to 8 bits', () => {
    const { pixels, recipe } = levels({
      pixels: Uint16Array.from([0, 1, 2, 3, 4, 5]),
      extra: [lutSequence(0x00283010, [4, 1, 12], [0, 1365, 2730, 4095])],
    });
    expect(pixels).toEqual([0, 0, 85, 170, 255, 255]);
    expect(recipe).toMatchObject({
      windowSource: 'voi-lut',
      voiFunction: 'LUT',
      windowCenter: null,
      windowIndex: 1,
    });
  });

  it('VOI LUT Sequence with 8-bit entries and a negative first value (SS)', () => {
    const { pixels } = levels({
      pixels: Int16Array.from([-3, -2, -1, 0, 1, 7]),
      signed: true,
      extra: [lutSequence(0x00283010, [4, -2, 8], [0, 64, 128, 255], true)],
    });
    expect(pixels).toEqual([0, 0, 64, 128, 255, 255]);
  });

  it('a file window wins over its VOI LUT Sequence', () => {
    const { recipe } = levels({
      pixels: Uint16Array.from([0, 1]),
      window: { center: 1, width: 2 },
      extra: [lutSequence(0x00283010, [2, 0, 8], [0, 255])],
    });
    expect(recipe.windowSource).toBe('file');
  });

  it('Modality LUT Sequence replaces the rescale, before the window', () => {
    const { pixels, recipe } = levels({
      pixels: Uint16Array.from([0, 1, 2, 3]),
      rescale: { slope: 5, intercept: -1000 },
      window: { center: 200, width: 200 },
      extra: [lutSequence(0x00283000, [3, 0, 16], [100, 200, 300]), fn('LINEAR_EXACT')],
    });
    // Modality values 100, 200, 300, 300 (clamped); LINEAR_EXACT C=200 W=200.
    expect(pixels).toEqual([0, 128, 255, 255]);
    expect(recipe).toMatchObject({
      modalityTransform: 'LUT',
      rescaleSlope: 1,
      rescaleIntercept: 0,
    });
  });
});

describe('presentation LUT: one inversion, never two', () => {
  const narrow = (photometric: 'MONOCHROME1' | 'MONOCHROME2', shape?: string) =>
    levels({
      pixels: Uint16Array.from([50, 100, 200]),
      bitsStored: 12,
      photometric,
      window: { center: 100, width: 10 },
      extra: shape === undefined ? [] : [{ tag: 0x20500020, vr: 'CS', value: shape }],
    });

  it('MONOCHROME2 as is; MONOCHROME1 at a narrow window is inverted, not white', () => {
    // ((100 − 99.5) / 9 + 0.5) × 255 = 141.67 → 142; inverted 113.
    expect(narrow('MONOCHROME2').pixels).toEqual([0, 142, 255]);
    expect(narrow('MONOCHROME1')).toMatchObject({
      pixels: [255, 113, 0],
      recipe: { inverted: true },
    });
  });

  it('MONOCHROME1 with INVERSE is inverted once (PS3.3 C.8.11.1.1.1 pairs them)', () => {
    expect(narrow('MONOCHROME1', 'INVERSE').pixels).toEqual([255, 113, 0]);
  });

  it('MONOCHROME2 with INVERSE is inverted; IDENTITY changes nothing, nor cancels MONOCHROME1', () => {
    expect(narrow('MONOCHROME2', 'INVERSE')).toMatchObject({
      pixels: [255, 113, 0],
      recipe: { inverted: true },
    });
    expect(narrow('MONOCHROME2', 'IDENTITY').pixels).toEqual([0, 142, 255]);
    expect(narrow('MONOCHROME1', 'IDENTITY').pixels).toEqual([255, 113, 0]);
  });
});
