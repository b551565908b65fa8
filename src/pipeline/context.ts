import type { Logger } from 'pino';
import type { RenderOptions } from '../domain/render.js';
import type { Fetcher } from '../extract/fetcher.js';
import type { Ledger } from '../ledger/ledger.js';
import type { ObjectStore } from '../load/object-store.js';
import type { RenderFramesOutcome } from '../transform/render-pool.js';

/** Renders DICOM bytes off the main thread (RenderPool in production). */
interface Renderer {
  /** The encoded images of the frames `options.frames` selects, in frame order. */
  renderFrames(bytes: Uint8Array, options: RenderOptions): Promise<RenderFramesOutcome>;
}

/** The adapters a run works with, built by the composition root and passed in. */
export interface PipelineContext {
  ledger: Ledger;
  store: ObjectStore;
  fetcher: Fetcher;
  renderer: Renderer;
  logger: Logger;
}
