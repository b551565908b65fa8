import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RENDER_OPTIONS, type RenderOptions } from '../../../src/domain/render.js';
import { renderDicom, renderToRaster } from '../../../src/transform/render.js';
import { grayDicom, type GrayDicomSpec } from '../../support/render-dicom.js';

const ct: GrayDicomSpec = {
  rows: 48,
  columns: 64,
  pixels: Int16Array.from({ length: 48 * 64 }, (_, i) => ((i * 37) % 3000) - 1000),
  bitsStored: 16,
  window: { center: 40, width: 400 },
};

const render = (options: Partial<RenderOptions>) =>
  renderDicom(grayDicom(ct), { ...DEFAULT_RENDER_OPTIONS, ...options });

describe('render options', () => {
  it('png is lossless: the decoded PNG is the 8-bit raster exactly', async () => {
    const image = await render({ format: 'png' });
    const metadata = await sharp(image.bytes).metadata();
    expect(metadata).toMatchObject({ format: 'png', channels: 1, depth: 'uchar' });
    const { data, info } = await sharp(image.bytes)
      .toColourspace('b-w')
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(info).toMatchObject({ format: 'raw', channels: 1, width: 64, height: 48 });
    expect(new Uint8Array(data)).toEqual(new Uint8Array(renderToRaster(grayDicom(ct)).pixels));
    expect(image.recipe).toMatchObject({ codec: 'png', quality: null, bitDepth: 8 });
  });

  it('bitDepth 16 writes a 16-bit grayscale PNG master: the VOI output on 0..65535', async () => {
    const image = await render({ format: 'png', bitDepth: 16 });
    const metadata = await sharp(image.bytes).metadata();
    expect(metadata).toMatchObject({ format: 'png', depth: 'ushort', channels: 1 });
    expect(image.recipe.bitDepth).toBe(16);
    const master = renderToRaster(grayDicom(ct), { format: 'png', bitDepth: 16 }).pixels;
    const eight = renderToRaster(grayDicom(ct)).pixels;
    expect(master).toBeInstanceOf(Uint16Array);
    for (let i = 0; i < eight.length; i += 1) {
      expect(Math.abs(master[i]! / 257 - eight[i]!)).toBeLessThanOrEqual(0.5 + 1e-9);
    }
  });

  it('maxSize downsamples the longest side, aspect kept, and records both sizes', async () => {
    const image = await render({ maxSize: 32 });
    expect(await sharp(image.bytes).metadata()).toMatchObject({ width: 32, height: 24 });
    expect(image.recipe).toMatchObject({
      width: 32,
      height: 24,
      sourceWidth: 64,
      sourceHeight: 48,
    });
    const small = await render({ maxSize: 100 });
    expect(small.recipe).toMatchObject({ width: 64, height: 48 });
  });

  it('records the JPEG quality', async () => {
    expect((await render({ quality: 40 })).recipe).toMatchObject({ codec: 'jpeg', quality: 40 });
  });
});
