import { move, transferableSymbol, valueSymbol } from 'piscina';
import sharp from 'sharp';
import { asEtlError, serializeError, type SerializedError } from '../domain/errors.js';
import type { RenderedImage, RenderOptions } from '../domain/render.js';
import { ownsWholeBuffer } from './buffer-ownership.js';
import { renderDicom } from './render.js';

/** The worker side of RenderPool: one task renders one DICOM file. */

export interface RenderTask {
  bytes: Uint8Array;
  options: RenderOptions;
}

export type RenderTaskResult =
  | { ok: true; image: RenderedImage; dicom: Uint8Array }
  | { ok: false; error: SerializedError; dicom: Uint8Array };

// libvips' own thread pool is process-wide: with one pipeline per worker thread and one vips
// thread per pipeline, N workers keep N cores busy instead of oversubscribing them. The operation
// cache only ever holds inputs we never see again.
sharp.concurrency(1);
sharp.cache(false);

/** Hands the result back with its buffers moved, not copied, when they are whole buffers. */
function movable(result: RenderTaskResult): unknown {
  const buffers = [result.dicom, ...(result.ok ? [result.image.bytes] : [])]
    .filter(ownsWholeBuffer)
    .map((bytes) => bytes.buffer);
  return move({ [transferableSymbol]: buffers, [valueSymbol]: result });
}

export default async function render(task: RenderTask): Promise<unknown> {
  const { bytes, options } = task;
  try {
    const image = await renderDicom(bytes, options);
    return movable({ ok: true, image, dicom: bytes });
  } catch (error) {
    return movable({
      ok: false,
      error: serializeError(asEtlError(error, 'RENDER_FAILED')),
      dicom: bytes,
    });
  }
}
