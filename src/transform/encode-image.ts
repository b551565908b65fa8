import { createRequire } from 'node:module';
import type sharpModule from 'sharp';
import { EtlError } from '../domain/errors.js';
import type { RenderOptions } from '../domain/render.js';

// Through require: a CommonJS package imported from an ES module has Node 20 run every file it
// requires through the ES module loader too, which costs about twice the
// load time of sharp (~50 ms more, in every render thread) here.
const sharp = createRequire(import.meta.url)('sharp') as typeof sharpModule;

export interface Raster {
  /** Row by row, no padding; interleaved RGB when channels is 3; Uint16Array: 16-bit gray. */
  pixels: Uint8Array | Uint16Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

export interface EncodedImage {
  bytes: Uint8Array;
  width: number;
  height: number;
}

/** The output size for a longest side of at most `maxSize`, aspect kept, never enlarged. */
function fittedSize(
  width: number,
  height: number,
  maxSize: number | undefined,
): { width: number; height: number } {
  const longest = Math.max(width, height);
  if (maxSize === undefined || longest <= maxSize) return { width, height };
  const scale = maxSize / longest;
  return {
    width: Math.max(1, Math.round(width * scale)),
    height: Math.max(1, Math.round(height * scale)),
  };
}

/**
 * Encodes a raster as a baseline JPEG or a PNG, with no metadata (sharp writes none unless
 * asked). optimiseCoding is passed explicitly because sharp's default is on, which costs about
 * twice the encode time. Downsampling uses lanczos3, sharp's sharpest filter without ringing
 * beyond a grey level on radiographs.
 */
export async function encodeImage(raster: Raster, options: RenderOptions): Promise<EncodedImage> {
  const { quality, optimiseCoding, format, maxSize } = options;
  const size = fittedSize(raster.width, raster.height, maxSize);
  const wide = raster.pixels instanceof Uint16Array;
  try {
    let image = sharp(raster.pixels, {
      raw: { width: raster.width, height: raster.height, channels: raster.channels },
    });
    if (size.width !== raster.width || size.height !== raster.height) {
      image = image.resize({ ...size, fit: 'fill', kernel: 'lanczos3' });
    }
    image = image.toColourspace(raster.channels === 3 ? 'srgb' : wide ? 'grey16' : 'b-w');
    const bytes = await (
      format === 'png'
        ? image.png({ compressionLevel: 6 })
        : image.jpeg({ quality, optimiseCoding })
    ).toBuffer();
    return { bytes, ...size };
  } catch (error) {
    throw new EtlError(
      'RENDER_FAILED',
      `${format.toUpperCase()} encoding of ${raster.width}×${raster.height} failed: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}
