import { CONTENT_TYPES } from '../dataset/object-keys.js';
import type { PutResult } from '../domain/object-store.js';
import type { RenderedImage, RenderOptions } from '../domain/render.js';
import type { Fetcher, FetchTarget } from '../source/fetcher.js';
import type { LocalFile } from '../source/local-file.js';
import type { RenderExtras, RenderFramesOutcome } from './render-pool.js';

/**
 * The per-instance stage that a run's items (process-item) and `eden-etl convert` share: fetch
 * the file, de-identify and render it off the main thread, then store its images under the keys
 * of their frames. What each caller does around it (gates, the ledger, the DICOM) is its own.
 */

/** Renders every selected frame of a DICOM file off the main thread (RenderPool). */
export interface Renderer {
  /** The encoded images of the frames `options.frames` selects, in frame order. */
  renderFrames(
    bytes: Uint8Array,
    options: RenderOptions,
    extras?: RenderExtras,
  ): Promise<RenderFramesOutcome>;
  /** The same, the file read where it is rendered; the outcome's `dicom` is then empty. */
  renderLocalFile(
    file: LocalFile,
    options: RenderOptions,
    extras?: RenderExtras,
  ): Promise<RenderFramesOutcome>;
}

/** What fetchAndRender's caller wants besides the images. */
export interface StageExtras extends RenderExtras {
  /**
   * False when the caller needs only the images and header facts, not the file's bytes: a local
   * file is then read by the render thread and its bytes never reach this one (`dicom` is
   * empty). Default true.
   */
  dicom?: boolean;
}

/**
 * Fetches the instance's file and renders it (de-identified first when `extras.deid` is given).
 * With `extras.dicom` false, a local file is read by the render thread instead (`fetch` then
 * ends at once and `render` includes the read).
 * `lap` is told when each stage ends, for the stage timings.
 */
export async function fetchAndRender(
  deps: { fetcher: Fetcher; renderer: Renderer },
  target: FetchTarget,
  render: RenderOptions,
  extras: StageExtras,
  lap: (stage: 'fetch' | 'render') => void = () => undefined,
): Promise<RenderFramesOutcome> {
  const { dicom = true, ...renderExtras } = extras;
  const local = dicom ? null : (deps.fetcher.localFile?.(target) ?? null);
  const bytes = local === null ? await deps.fetcher.fetch(target) : null;
  lap('fetch');
  const rendered =
    bytes === null
      ? await deps.renderer.renderLocalFile(local!, render, renderExtras)
      : await deps.renderer.renderFrames(bytes, render, renderExtras);
  lap('render');
  return rendered;
}

/**
 * Writes each image, in frame order, under `keyOf(frame)` when every frame is rendered and
 * `keyOf(null)` when only the first is (its name then carries no frame number).
 */
export async function storeImages(
  images: readonly RenderedImage[],
  render: RenderOptions,
  keyOf: (frame: number | null) => string,
  write: (key: string, bytes: Uint8Array, contentType: string) => Promise<PutResult>,
): Promise<(PutResult & { frame: number })[]> {
  const stored: (PutResult & { frame: number })[] = [];
  for (const image of images) {
    const { frame } = image.recipe;
    const key = keyOf(render.frames === 'all' ? frame : null);
    stored.push({ ...(await write(key, image.bytes, CONTENT_TYPES[render.format])), frame });
  }
  return stored;
}
