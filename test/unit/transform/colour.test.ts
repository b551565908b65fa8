import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { DicomElement } from '../../../src/dicom/writer.js';
import { DEFAULT_RENDER_OPTIONS } from '../../../src/domain/render.js';
import { ictToRgb, rctToRgb, ybrFullToRgb } from '../../../src/transform/colour.js';
import { renderDicom, renderToRaster } from '../../../src/transform/render.js';
import { colourDicom, type ColourDicomSpec } from '../../support/render-dicom.js';

function rgbOf(spec: ColourDicomSpec): number[] {
  const raster = renderToRaster(colourDicom(spec));
  expect(raster.channels).toBe(3);
  return [...raster.pixels];
}

describe('colour conversions, hand-computed from PS3.3 C.7.6.3.1.2', () => {
  it('YBR_FULL → RGB inverts the standard’s forward equations', () => {
    // Forward of pure red (255, 0, 0): Y 76.2, Cb 85.0, Cr 255.5 → stored 76, 85, 255.
    // R = 76 + 1.402 × 127 = 254.05; G = 76 + 0.344 × 43 − 0.714 × 127 = 0.10; B = −0.20.
    expect(ybrFullToRgb(76, 85, 255)).toEqual([254, 0, 0]);
    // Forward of pure green: Y 149.7, Cb 43.5, Cr 21.2 → 150, 44, 21.
    // R = 150 − 1.402 × 107 = −0.01; G = 150 + 28.91 + 76.41 = 255.3; B = 150 − 148.85 = 1.15.
    expect(ybrFullToRgb(150, 44, 21)).toEqual([0, 255, 1]);
    expect(ybrFullToRgb(128, 128, 128)).toEqual([128, 128, 128]);
  });

  it('YBR_ICT → RGB with chroma centred on 0', () => {
    const [r, g, b] = ictToRgb(76, -43, 127);
    expect(r).toBeCloseTo(254.054, 3);
    expect(g).toBeCloseTo(0.1028, 3);
    expect(b).toBeCloseTo(-0.196, 3);
    expect(ictToRgb(100, 0, 0)).toEqual([100, 100, 100]);
  });

  it('YBR_RCT → RGB is the exact inverse of the reversible transform', () => {
    // Forward of (200, 100, 50): Y = ⌊(200 + 200 + 50) / 4⌋ = 112, Cb = 50 − 100, Cr = 200 − 100.
    expect(rctToRgb(112, -50, 100)).toEqual([200, 100, 50]);
    for (const [r, g, b] of [
      [0, 0, 0],
      [255, 0, 255],
      [3, 250, 17],
    ] as const) {
      const y = Math.floor((r + 2 * g + b) / 4);
      expect(rctToRgb(y, b - g, r - g)).toEqual([r, g, b]);
    }
  });
});

describe('colour images', () => {
  it('RGB, planar configuration 0 and 1', () => {
    const expected = [10, 20, 30, 40, 50, 60];
    const base = { rows: 1, columns: 2, photometric: 'RGB' } as const;
    expect(rgbOf({ ...base, pixels: Uint8Array.from(expected) })).toEqual(expected);
    expect(
      rgbOf({ ...base, planar: 1, pixels: Uint8Array.from([10, 40, 20, 50, 30, 60]) }),
    ).toEqual(expected);
  });

  it('RGB with 16-bit samples is scaled to 8 bits', () => {
    const pixels = Uint16Array.from([0, 4095, 2048]);
    expect(rgbOf({ rows: 1, columns: 1, photometric: 'RGB', pixels, bitsStored: 12 })).toEqual([
      0, 255, 128,
    ]);
  });

  it('RGB with 32-bit samples is scaled to 8 bits, bits above the high bit masked', () => {
    const words = (values: number[]) => new Uint8Array(Uint32Array.from(values).buffer);
    const bits32 = { tag: 0x00280100, vr: 'US', value: 32 } as const;
    const base = { rows: 1, columns: 1, photometric: 'RGB' as const, extra: [bits32] };
    expect(rgbOf({ ...base, pixels: words([0, 0xffffffff, 0x80000000]), bitsStored: 32 })).toEqual([
      0, 255, 128,
    ]);
    // 24 bits stored: the top byte is not part of the sample.
    expect(
      rgbOf({ ...base, pixels: words([0xff000000, 0xffffffff, 0x00800000]), bitsStored: 24 }),
    ).toEqual([0, 255, 128]);
  });

  it('YBR_FULL, both planar configurations', () => {
    const base = { rows: 1, columns: 2, photometric: 'YBR_FULL' } as const;
    const interleaved = Uint8Array.from([76, 85, 255, 150, 44, 21]);
    expect(rgbOf({ ...base, pixels: interleaved })).toEqual([254, 0, 0, 0, 255, 1]);
    const planes = Uint8Array.from([76, 150, 85, 44, 255, 21]);
    expect(rgbOf({ ...base, planar: 1, pixels: planes })).toEqual([254, 0, 0, 0, 255, 1]);
  });

  it('YBR_FULL_422 is not green: each pixel pair shares its chroma', () => {
    // Y1 Y2 Cb Cr: a grey pair, then a red pair.
    const pixels = Uint8Array.from([100, 200, 128, 128, 76, 76, 85, 255]);
    expect(rgbOf({ rows: 1, columns: 4, photometric: 'YBR_FULL_422', pixels })).toEqual([
      100, 100, 100, 200, 200, 200, 254, 0, 0, 254, 0, 0,
    ]);
    const grey = renderToRaster(
      colourDicom({
        rows: 2,
        columns: 2,
        photometric: 'YBR_FULL_422',
        pixels: Uint8Array.from([90, 90, 128, 128, 90, 90, 128, 128]),
      }),
    );
    expect(new Set(grey.pixels)).toEqual(new Set([90]));
  });

  it('YBR_ICT and YBR_RCT with chroma stored around 2^(BitsStored−1)', () => {
    const ict = Uint8Array.from([76, 128 - 43, 255]);
    expect(rgbOf({ rows: 1, columns: 1, photometric: 'YBR_ICT', pixels: ict })).toEqual([
      254, 0, 0,
    ]);
    const rct = Uint8Array.from([112, 128 - 50, 128 + 100]);
    expect(rgbOf({ rows: 1, columns: 1, photometric: 'YBR_RCT', pixels: rct })).toEqual([
      200, 100, 50,
    ]);
  });

  it('encodes colour as a three-channel sRGB JPEG', async () => {
    const file = colourDicom({
      rows: 8,
      columns: 8,
      photometric: 'RGB',
      pixels: Uint8Array.from({ length: 192 }, (_, i) => (i % 3 === 0 ? 200 : 30)),
    });
    const image = await renderDicom(file, DEFAULT_RENDER_OPTIONS);
    const metadata = await sharp(image.bytes).metadata();
    expect(metadata).toMatchObject({ format: 'jpeg', channels: 3, space: 'srgb' });
    expect(image.recipe).toMatchObject({
      windowSource: 'none',
      voiFunction: 'NONE',
      windowCenter: null,
      inverted: false,
      photometricInterpretation: 'RGB',
    });
  });
});

function palette(
  descriptor: [number, number, number],
  red: DicomElement,
  green: number[],
  blue: number[],
): DicomElement[] {
  return [
    { tag: 0x00281101, vr: 'US', value: descriptor },
    { tag: 0x00281102, vr: 'US', value: descriptor },
    { tag: 0x00281103, vr: 'US', value: descriptor },
    red,
    { tag: 0x00281202, vr: 'OW', value: Uint16Array.from(green) },
    { tag: 0x00281203, vr: 'OW', value: Uint16Array.from(blue) },
  ];
}

describe('PALETTE COLOR', () => {
  it('maps through 16-bit entries, first value and clamping', () => {
    const extra = palette(
      [4, 10, 16],
      { tag: 0x00281201, vr: 'OW', value: Uint16Array.from([0, 65535, 0, 32896]) },
      [65535, 0, 0, 32896],
      [0, 0, 65535, 32896],
    );
    const pixels = Uint8Array.from([9, 10, 11, 12, 13, 14]);
    expect(rgbOf({ rows: 1, columns: 6, photometric: 'PALETTE COLOR', pixels, extra })).toEqual([
      0, 255, 0, 0, 255, 0, 255, 0, 0, 0, 0, 255, 128, 128, 128, 128, 128, 128,
    ]);
  });

  it('reads 8-bit entries, one per word or packed two per word', () => {
    const oneEach = palette(
      [2, 0, 8],
      { tag: 0x00281201, vr: 'OW', value: Uint16Array.from([10, 200]) },
      [20, 210],
      [30, 220],
    );
    const pixels = Uint8Array.from([0, 1]);
    const spec = { rows: 1, columns: 2, photometric: 'PALETTE COLOR', pixels } as const;
    expect(rgbOf({ ...spec, extra: oneEach })).toEqual([10, 20, 30, 200, 210, 220]);
    const packed = palette(
      [4, 0, 8],
      { tag: 0x00281201, vr: 'OW', value: Uint16Array.from([10 | (200 << 8), 0]) },
      [20 | (210 << 8), 0],
      [30 | (220 << 8), 0],
    );
    expect(rgbOf({ ...spec, extra: packed })).toEqual([10, 20, 30, 200, 210, 220]);
  });

  it('expands segmented palettes: discrete, linear and indirect segments', () => {
    const k = 257; // 16-bit entries k × n scale to n.
    // Discrete 0, 10; linear to 50 in 4 steps (20, 30, 40, 50); indirect: segment 1 again.
    const segments = [0, 2, 0, 10 * k, 1, 4, 50 * k, 2, 1, 0, 0];
    const extra = palette(
      [8, 0, 16],
      { tag: 0x00281221, vr: 'OW', value: Uint16Array.from(segments) },
      Array.from({ length: 8 }, () => 0),
      Array.from({ length: 8 }, () => 0),
    );
    const pixels = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    const rgb = rgbOf({ rows: 1, columns: 8, photometric: 'PALETTE COLOR', pixels, extra });
    expect(rgb.filter((_, i) => i % 3 === 0)).toEqual([0, 10, 20, 30, 40, 50, 0, 10]);
  });
});
