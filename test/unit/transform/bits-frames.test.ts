import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { DicomElement } from '../../../src/dicom/writer.js';
import { EtlError } from '../../../src/domain/errors.js';
import { DEFAULT_RENDER_OPTIONS, type RenderedImage } from '../../../src/domain/render.js';
import { renderDicomFrames, renderToRaster } from '../../../src/transform/render.js';
import { grayDicom } from '../../support/render-dicom.js';

function bits(allocated: number, stored: number, signed = false): DicomElement[] {
  return [
    { tag: 0x00280100, vr: 'US', value: allocated },
    { tag: 0x00280101, vr: 'US', value: stored },
    { tag: 0x00280102, vr: 'US', value: stored - 1 },
    { tag: 0x00280103, vr: 'US', value: signed ? 1 : 0 },
  ];
}

describe('Bits Allocated 1', () => {
  // 3×3 frames, bit-packed back to back, least significant bit first: frame 2 starts at bit 9.
  const frame1 = [1, 0, 1, 0, 1, 0, 1, 0, 1];
  const frame2 = [0, 1, 1, 1, 0, 0, 0, 1, 1];
  const packed = new Uint8Array(4);
  [...frame1, ...frame2].forEach((bit, i) => {
    packed[i >> 3]! |= bit << (i & 7);
  });
  const file = grayDicom({ rows: 3, columns: 3, pixels: packed, frames: 2, extra: bits(1, 1) });

  it('unpacks bit-packed frames, the second starting mid-byte', async () => {
    const images: number[][] = [];
    for await (const image of renderDicomFrames(file, {
      ...DEFAULT_RENDER_OPTIONS,
      format: 'png',
      frames: 'all',
    })) {
      expect(image.recipe.bitsStored).toBe(1);
      images.push([image.recipe.frame]);
    }
    expect(images).toEqual([[1], [2]]);
    expect([...renderToRaster(file).pixels]).toEqual(frame1.map((bit) => bit * 255));
  });
});

describe('Bits Allocated 32, without a 2^32-entry LUT', () => {
  it('windows signed 32-bit values with the file window', () => {
    const values = Int32Array.from([-100000, 0, 100000, -2147483648, 2147483647]);
    const raster = renderToRaster(
      grayDicom({
        rows: 1,
        columns: 5,
        pixels: new Uint8Array(values.buffer),
        window: { center: 0, width: 200001 },
        extra: bits(32, 32, true),
      }),
    );
    // ((x + 0.5) / 200000 + 0.5) × 255: −100000 → 0.0006, 0 → 127.5006; 100000 is above the top.
    expect([...raster.pixels]).toEqual([0, 128, 255, 0, 255]);
  });

  it('finds a percentile window for unsigned 32-bit values, honouring Bits Stored', () => {
    // Bits Stored 24: the top byte is not part of the value.
    const values = Uint32Array.from({ length: 1000 }, (_, i) => (i * 1000) | 0xab000000);
    const raster = renderToRaster(
      grayDicom({
        rows: 10,
        columns: 100,
        pixels: new Uint8Array(values.buffer),
        extra: bits(32, 24),
      }),
    );
    expect(raster.recipe.windowSource).toBe('percentile');
    // Nearest-rank 0.5 % and 99.5 %: values 4000 and 994000.
    expect(raster.recipe.windowCenter! - 0.5 - (raster.recipe.windowWidth! - 1) / 2).toBe(4000);
    expect(raster.pixels[0]).toBe(0);
    expect(raster.pixels[999]).toBe(255);
  });
});

describe('multi-frame', () => {
  const frames = 5;
  const pixels = Uint16Array.from({ length: frames * 16 }, (_, i) => Math.floor(i / 16) * 100);
  const file = grayDicom({
    rows: 4,
    columns: 4,
    pixels,
    bitsStored: 12,
    frames,
    window: { center: 200.5, width: 401 },
  });

  it('renders frame 1 only by default', async () => {
    const images: RenderedImage[] = [];
    for await (const image of renderDicomFrames(file, DEFAULT_RENDER_OPTIONS)) images.push(image);
    expect(images.map((image) => image.recipe.frame)).toEqual([1]);
    expect(images[0]!.recipe.frames).toBe(5);
  });

  it('with frames all, yields every frame in order, one at a time, each its own pixels', async () => {
    const seen: number[] = [];
    const iterator = renderDicomFrames(file, {
      ...DEFAULT_RENDER_OPTIONS,
      format: 'png',
      frames: 'all',
    });
    for await (const image of iterator) {
      seen.push(image.recipe.frame);
      // Frame k holds stored value 100 (k − 1): 0, 64, 128, 191, 255 after the window.
      const data = await sharp(image.bytes).toColourspace('b-w').raw().toBuffer();
      expect(data[0]).toBe([0, 64, 128, 191, 255][image.recipe.frame - 1]);
    }
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });

  it('stops decoding when the consumer stops', async () => {
    let count = 0;
    for await (const image of renderDicomFrames(file, {
      ...DEFAULT_RENDER_OPTIONS,
      frames: 'all',
    })) {
      count += image.recipe.frame;
      break;
    }
    expect(count).toBe(1);
  });
});

describe('non-image objects', () => {
  const classes: [string, string][] = [
    ['1.2.840.10008.5.1.4.1.1.88.22', 'structured report'],
    ['1.2.840.10008.5.1.4.1.1.88.59', 'key object selection'],
    ['1.2.840.10008.5.1.4.1.1.11.1', 'presentation state'],
    ['1.2.840.10008.5.1.4.1.1.104.1', 'encapsulated document'],
    ['1.2.840.10008.5.1.4.1.1.104.2', 'encapsulated document'],
    ['1.2.840.10008.5.1.4.1.1.66', 'raw data or registration'],
    ['1.2.840.10008.5.1.4.1.1.9.1.1', 'waveform'],
    ['1.2.840.10008.5.1.4.1.1.481.3', 'RT structure set or plan'],
    ['1.2.840.10008.5.1.4.1.1.481.5', 'RT structure set or plan'],
  ];
  for (const [uid, kind] of classes) {
    it(`skips SOP Class ${uid} (${kind}) with NOT_AN_IMAGE, even with pixel data`, () => {
      const file = grayDicom({ rows: 1, columns: 2, pixels: new Uint8Array(2), sopClassUid: uid });
      let error: unknown;
      try {
        renderToRaster(file);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(EtlError);
      expect(error).toMatchObject({ code: 'NOT_AN_IMAGE' });
      expect((error as EtlError).message).toContain(`is a ${kind}, not an image`);
    });
  }

  it('still renders images of image classes (segmentation, RT dose)', () => {
    for (const uid of ['1.2.840.10008.5.1.4.1.1.66.4', '1.2.840.10008.5.1.4.1.1.481.2']) {
      const file = grayDicom({ rows: 1, columns: 2, pixels: new Uint8Array(2), sopClassUid: uid });
      expect(renderToRaster(file).width).toBe(2);
    }
  });
});
