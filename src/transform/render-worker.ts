import { move, transferableSymbol, valueSymbol } from 'piscina';
import sharp from 'sharp';
import { asEtlError, serializeError, type SerializedError } from '../domain/errors.js';
import type { InstanceAttributes } from '../domain/dataset.js';
import type { RenderedImage, RenderOptions } from '../domain/render.js';
import { ownsWholeBuffer } from './buffer-ownership.js';
import { prepareCodecs } from './codecs/decode-frame.js';
import { readInstanceAttributes } from './instance-attributes.js';
import { renderDicomFrames } from './render.js';

/**
 * The worker side of RenderPool: one task renders one DICOM file, to the encoded images of the
 * frames its options select. Only encoded images accumulate; frames are decoded one at a time.
 */

export interface RenderTask {
  bytes: Uint8Array;
  options: RenderOptions;
}

export type RenderTaskResult = { dicom: Uint8Array; attributes: InstanceAttributes | null } & (
  { ok: true; images: RenderedImage[] } | { ok: false; error: SerializedError }
);

// libvips' own thread pool is process-wide: with one pipeline per worker thread and one vips
// thread per pipeline, N workers keep N cores busy instead of oversubscribing them. The operation
// cache only ever holds inputs we never see again.
sharp.concurrency(1);
sharp.cache(false);

/** Hands the result back with its buffers moved, not copied, when they are whole buffers. */
function movable(result: RenderTaskResult): unknown {
  const buffers = [result.dicom, ...(result.ok ? result.images.map((image) => image.bytes) : [])]
    .filter(ownsWholeBuffer)
    .map((bytes) => bytes.buffer);
  return move({ [transferableSymbol]: buffers, [valueSymbol]: result });
}

// Started with the worker, so its first task does not wait for the WASM compile.
const codecsReady = prepareCodecs();
// A failure is reported by every task that awaits it; this only keeps it from being unhandled.
codecsReady.catch(() => undefined);

export default async function render(task: RenderTask): Promise<unknown> {
  const { bytes, options } = task;
  const attributes = readInstanceAttributes(bytes);
  try {
    await codecsReady;
    const images: RenderedImage[] = [];
    for await (const image of renderDicomFrames(bytes, options)) images.push(image);
    return movable({ ok: true, images, dicom: bytes, attributes });
  } catch (error) {
    return movable({
      ok: false,
      error: serializeError(asEtlError(error, 'RENDER_FAILED')),
      dicom: bytes,
      attributes,
    });
  }
}
