import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Piscina as PiscinaClass } from 'piscina';
import { deserializeError, EtlError } from '../domain/errors.js';
import type { InstanceAttributes } from '../domain/dataset.js';
import type { RenderedImage, RenderOptions } from '../domain/render.js';
import type { DeidOptions } from '../deid/deidentify-dicom.js';
import type { DeidPhi } from '../domain/deid.js';
import { ownsWholeBuffer } from '../transform/buffer-ownership.js';
import { useJ2kDecoder, type J2kDecoderChoice } from '../transform/codecs/decode-frame.js';
import type { LocalFile } from '../source/local-file.js';
import type { RenderTask, RenderTaskResult, RenderWorkerData } from './render-worker.js';

export interface RenderPoolOptions {
  /** Worker threads; default os.availableParallelism(). */
  threads?: number;
  /**
   * Longest one file may take to render, in ms; default 10 minutes. A damaged codestream can
   * send a decoder into a loop: past this, its worker is stopped and the file fails with
   * RENDER_FAILED instead of stalling the run.
   */
  timeoutMs?: number;
  /** JPEG 2000 decoder of every worker; default 'auto' (the system's OpenJPEG when it loads). */
  j2kDecoder?: J2kDecoderChoice;
}

const DEFAULT_TIMEOUT_MS = 10 * 60_000;

const require = createRequire(import.meta.url);
// Through require, as sharp below (see transform/encode-image.ts).
const { Piscina } = require('piscina') as { Piscina: typeof PiscinaClass };

export type RenderOutcome =
  | { ok: true; image: RenderedImage; dicom: Uint8Array }
  | { ok: false; error: EtlError; dicom: Uint8Array };

function outcomeOf(result: RenderTaskResult, dicom: Uint8Array): RenderFramesOutcome {
  const { attributes, phi } = result;
  return result.ok
    ? { ok: true, images: result.images, dicom, attributes, phi }
    : { ok: false, error: deserializeError(result.error), dicom, attributes, phi };
}

/** What a render does besides rendering: de-identify first, take the images' statistics. */
export interface RenderExtras {
  /** De-identify the file first (the outcome's `dicom` is then the de-identified file). */
  deid?: DeidOptions | undefined;
  /** False leaves out the images' statistics, which only the quality gates read. Default true. */
  stats?: boolean;
}

/**
 * The encoded images of the frames options.frames selects, in frame order, and the header
 * facts (null when the header cannot be read).
 */
export type RenderFramesOutcome = {
  dicom: Uint8Array;
  attributes: InstanceAttributes | null;
  /** The original header's facts, when the file was de-identified (see deidentifyDicom). */
  phi: DeidPhi | null;
} & ({ ok: true; images: RenderedImage[] } | { ok: false; error: EtlError });

/**
 * piscina needs JavaScript: next to this module once compiled; when vitest runs the TypeScript
 * sources, the compiled worker under dist/ (`npm test` builds first).
 */
function workerFile(): URL {
  return import.meta.url.endsWith('.ts')
    ? new URL('../../dist/src/pipeline/render-worker.js', import.meta.url)
    : new URL('./render-worker.js', import.meta.url);
}

export class RenderPool {
  readonly #piscina: PiscinaClass<RenderTask, RenderTaskResult>;
  readonly #timeoutMs: number;
  readonly #sharpLoaded: Promise<unknown>;
  // piscina quietly starts new workers for a task run after close(); we refuse it instead.
  #closed = false;

  private constructor(piscina: PiscinaClass<RenderTask, RenderTaskResult>, timeoutMs: number) {
    this.#piscina = piscina;
    this.#timeoutMs = timeoutMs;
    // Loaded here although only the workers use it: on glibc, libvips must stay loaded for the
    // life of the process, or a worker exiting unloads it under the others (sharp docs, issue
    // #2263). Loaded while the workers start rather than before them, and awaited before a
    // worker is stopped: at close() and when a render outlives its timeout.
    // Through require, as in transform/encode-image.ts: half the load time.
    this.#sharpLoaded = Promise.resolve().then(() => require('sharp') as unknown);
    // A failure is thrown by render() and close(), which await it; this keeps it from being
    // reported as unhandled meanwhile.
    this.#sharpLoaded.catch(() => undefined);
  }

  static create(options: RenderPoolOptions = {}): RenderPool {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1) {
      throw new EtlError('INTERNAL', `render pool threads ${threads} is not a positive integer`);
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new EtlError('INTERNAL', `render timeout ${timeoutMs} ms is not a positive number`);
    }
    const j2kDecoder = options.j2kDecoder ?? 'auto';
    // Checked here, so that 'native' without the library fails the command, not every file;
    // 'auto' loads the library only where a JPEG 2000 frame is decoded.
    if (j2kDecoder === 'native') useJ2kDecoder(j2kDecoder);
    const filename = workerFile();
    if (!existsSync(fileURLToPath(filename))) {
      throw new EtlError('INTERNAL', `render worker ${fileURLToPath(filename)} does not exist`, {
        hint: 'build first: npm run build (npm test does)',
      });
    }
    return new RenderPool(
      new Piscina({
        filename: filename.href,
        minThreads: threads,
        maxThreads: threads,
        workerData: { j2kDecoder } satisfies RenderWorkerData,
      }),
      timeoutMs,
    );
  }

  /**
   * Renders in a worker. The input buffer is transferred to the worker (zero copy) and handed
   * back as `dicom`, so the caller can still store the original bytes; after the call, use
   * `dicom`, not the argument, which is detached (length 0) when it was transferred. Never
   * throws for bad input: bad DICOM comes back as ok:false with a typed EtlError. Rejects (with
   * a retryable RENDER_FAILED) only when the pool is closed (the input is left untouched) or a
   * worker dies (a transferred input is then lost and must be fetched again).
   */
  async render(bytes: Uint8Array, options: RenderOptions): Promise<RenderOutcome> {
    const outcome = await this.renderFrames(bytes, { ...options, frames: 'first' });
    return outcome.ok ? { ok: true, image: outcome.images[0]!, dicom: outcome.dicom } : outcome;
  }

  /**
   * Like render(), for every frame when options.frames is 'all' (frame 1 otherwise). The worker
   * decodes one frame at a time and keeps only the encoded images.
   */
  async renderFrames(
    bytes: Uint8Array,
    options: RenderOptions,
    extras: RenderExtras = {},
  ): Promise<RenderFramesOutcome> {
    // A view into a larger buffer is copied rather than moved; not with bytes.slice(), which is
    // a view, not a copy, on a Node Buffer.
    const moved = ownsWholeBuffer(bytes);
    const input = moved ? bytes : new Uint8Array(bytes);
    const result = await this.#run(this.#task(input, options, extras), [
      input.buffer as ArrayBuffer,
    ]);
    // De-identified bytes are new: always the worker's. Otherwise the caller's, unless moved.
    const dicom = moved || extras.deid !== undefined ? result.dicom : bytes;
    return outcomeOf(result, dicom);
  }

  /**
   * Like renderFrames(), reading the file in the worker, into memory it reuses for the next
   * file: nothing crosses between the threads but the images and the header facts. The
   * outcome's `dicom` is empty. A file that cannot be read fails as readLocalFile says.
   */
  async renderLocalFile(
    file: LocalFile,
    options: RenderOptions,
    extras: RenderExtras = {},
  ): Promise<RenderFramesOutcome> {
    const result = await this.#run({ ...this.#task(new Uint8Array(0), options, extras), file }, []);
    return outcomeOf(result, result.dicom);
  }

  #task(bytes: Uint8Array, options: RenderOptions, { deid, stats }: RenderExtras): RenderTask {
    return {
      bytes,
      options,
      ...(deid === undefined ? {} : { deid }),
      ...(stats === undefined ? {} : { stats }),
    };
  }

  async #run(task: RenderTask, transferList: ArrayBuffer[]): Promise<RenderTaskResult> {
    if (this.#closed) {
      throw new EtlError('RENDER_FAILED', 'render pool is closed', { retryable: true });
    }
    const deadline = AbortSignal.timeout(this.#timeoutMs);
    // Stopping the worker waits for sharp in this thread (see the constructor).
    const stop = new AbortController();
    deadline.addEventListener(
      'abort',
      () => {
        const abort = () => stop.abort(deadline.reason);
        void this.#sharpLoaded.then(abort, abort);
      },
      { once: true },
    );
    try {
      return await this.#piscina.run(task, { transferList, signal: stop.signal });
    } catch (error) {
      if (deadline.aborted) {
        throw new EtlError(
          'RENDER_FAILED',
          `rendering took longer than ${this.#timeoutMs / 1000} s; its worker was stopped`,
          { cause: error, retryable: false, hint: 'a damaged codestream can make a decoder loop' },
        );
      }
      throw new EtlError(
        'RENDER_FAILED',
        `render worker failed: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error, retryable: true },
      );
    }
  }

  /** Waits for the tasks in flight, then terminates the workers. */
  async close(): Promise<void> {
    this.#closed = true;
    try {
      await this.#sharpLoaded;
    } finally {
      await this.#piscina.close();
    }
  }
}
