import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
import { createRequire } from 'node:module';
import type sharpModule from 'sharp';
import { asEtlError, EtlError, serializeError, type SerializedError } from '../domain/errors.js';
import type { InstanceAttributes } from '../domain/dataset.js';
import { deidentifyDicom, type DeidOptions } from '../deid/deidentify-dicom.js';
import type { DeidPhi } from '../domain/deid.js';
import type { RenderedImage, RenderOptions } from '../domain/render.js';
import { ownsWholeBuffer } from '../transform/buffer-ownership.js';
import { useJ2kDecoder, type J2kDecoderChoice } from '../transform/codecs/decode-frame.js';
import { readInstanceAttributes } from '../dicom/instance-attributes.js';
import { parseDicom } from '../dicom/parse.js';
import { readLocalFile, type LocalFile } from '../source/local-file.js';
import { RecycledMemory } from '../transform/recycled-memory.js';
import { renderDicomFrames } from '../transform/render.js';

/**
 * The worker side of RenderPool: one task renders one DICOM file, to the encoded images of the
 * frames its options select. Only encoded images accumulate; frames are decoded one at a time.
 */

export interface RenderTask {
  /** The file's bytes, or empty when `file` says where the worker reads them. */
  bytes: Uint8Array;
  /**
   * Read the file here, into recycled memory, instead: its bytes are then not handed back
   * (`dicom` is empty), for callers that need only the images and header facts.
   */
  file?: LocalFile;
  options: RenderOptions;
  /** De-identify first: `dicom` is then the de-identified file and `attributes` are read from it. */
  deid?: DeidOptions;
  /** False leaves out the images' statistics, which only the quality gates read. Default true. */
  stats?: boolean;
}

export type RenderTaskResult = {
  dicom: Uint8Array;
  attributes: InstanceAttributes | null;
  /** What the original header said, when de-identifying; null otherwise. */
  phi: DeidPhi | null;
} & ({ ok: true; images: RenderedImage[] } | { ok: false; error: SerializedError });

// Through require, as in transform/encode-image.ts: half the load time.
const sharp = createRequire(import.meta.url)('sharp') as typeof sharpModule;

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

/** What RenderPool tells each of its workers when it starts them. */
export interface RenderWorkerData {
  j2kDecoder: J2kDecoderChoice;
}

// Codecs load on first use, each only for a file whose transfer syntax needs it (renderDicomFrames
// starts the asynchronous one): a worker that renders uncompressed files loads none. 'auto' is
// left to the first JPEG 2000 frame too, which then tries the system's OpenJPEG.
const j2kDecoder = (workerData as RenderWorkerData | undefined)?.j2kDecoder ?? 'auto';
if (j2kDecoder !== 'auto') useJ2kDecoder(j2kDecoder);

/**
 * De-identification failures keep their code, except the two after which process-item would
 * still deliver the DICOM: here the DICOM is the original, so it must not be delivered.
 */
function deidFailure(error: unknown): SerializedError {
  const failure = asEtlError(error, 'DEID_UNSUPPORTED');
  if (failure.code !== 'UNSUPPORTED_IMAGE' && failure.code !== 'NOT_AN_IMAGE') {
    return serializeError(failure);
  }
  return serializeError(
    new EtlError('DEID_UNSUPPORTED', `cannot de-identify: ${failure.message}`, { cause: failure }),
  );
}

/**
 * The memory of the files this worker reads itself: one in use at a time, so two idle buffers
 * cover files of two sizes; a file above 256 MiB gets memory of its own.
 */
const fileMemory = new RecycledMemory({ idle: 2, largestKept: 256 * 2 ** 20, chunk: 2 ** 20 });

export default async function render(task: RenderTask): Promise<unknown> {
  if (task.file === undefined) return movable(await renderBytes(task, task.bytes));
  let bytes: Uint8Array;
  try {
    bytes = await readLocalFile(
      task.file,
      (size) => new Uint8Array(fileMemory.lend(size), 0, size),
    );
  } catch (error) {
    const failure = serializeError(asEtlError(error, 'FETCH_FAILED', task.file.subject));
    return { ok: false, error: failure, dicom: new Uint8Array(0), attributes: null, phi: null };
  }
  try {
    // The bytes stay here, in memory the next file reuses: only what was made of them leaves.
    return movable({ ...(await renderBytes(task, bytes)), dicom: new Uint8Array(0) });
  } finally {
    fileMemory.giveBack(bytes.buffer);
  }
}

async function renderBytes(task: RenderTask, input: Uint8Array): Promise<RenderTaskResult> {
  const { options } = task;
  let bytes = input;
  let phi: DeidPhi | null = null;
  if (task.deid !== undefined) {
    try {
      const deidentified = deidentifyDicom(bytes, task.deid);
      bytes = deidentified.bytes;
      phi = { facts: deidentified.facts, pseudonyms: deidentified.pseudonyms };
    } catch (error) {
      return { ok: false, error: deidFailure(error), dicom: bytes, attributes: null, phi };
    }
  }
  let attributes: InstanceAttributes | null = null;
  try {
    // One parse of the file to deliver, shared by its header facts and its rendering.
    const parsed = parseDicom(bytes);
    attributes = readInstanceAttributes(parsed);
    const images: RenderedImage[] = [];
    for await (const image of renderDicomFrames(parsed, options, { stats: task.stats ?? true })) {
      images.push(image);
    }
    return { ok: true, images, dicom: bytes, attributes, phi };
  } catch (error) {
    return {
      ok: false,
      error: serializeError(asEtlError(error, 'RENDER_FAILED')),
      dicom: bytes,
      attributes,
      phi,
    };
  }
}
