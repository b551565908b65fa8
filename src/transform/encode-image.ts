import sharp from 'sharp';
import { EtlError } from '../domain/errors.js';
import type { RenderOptions } from '../domain/render.js';

export interface Gray8Raster {
  /** One byte per pixel, row by row, no padding. */
  pixels: Uint8Array;
  width: number;
  height: number;
}

/**
 * Encodes an 8-bit grayscale raster as a single-channel baseline JPEG with no metadata (sharp
 * writes none unless asked). optimiseCoding is passed explicitly because sharp's default is on,
 * which costs about twice the encode time.
 */
export async function encodeJpeg(raster: Gray8Raster, options: RenderOptions): Promise<Uint8Array> {
  const { quality, optimiseCoding } = options;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new EtlError('INTERNAL', `JPEG quality ${quality} is not an integer in 1..100`, {
      hint: 'fix the render options passed by the caller',
    });
  }
  try {
    return await sharp(raster.pixels, {
      raw: { width: raster.width, height: raster.height, channels: 1 },
    })
      .toColourspace('b-w')
      .jpeg({ quality, optimiseCoding })
      .toBuffer();
  } catch (error) {
    throw new EtlError(
      'RENDER_FAILED',
      `JPEG encoding of ${raster.width}×${raster.height} failed: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}
