import { createRequire } from 'node:module';
import { EtlError } from '../../domain/errors.js';
import type { DecodedFrame, FrameInfo } from './frame.js';

/**
 * JPEG with more than 8 bits, lossy (Extended, process 2 & 4, 12-bit) and lossless (process 14,
 * any predictor, and SV1), through the IJG decoders of dcmtk compiled to WASM in dcmjs-codecs.
 * That module only starts asynchronously: `prepareDcmtkJpeg` must have resolved in this thread
 * before the first decode. We call the module's exported C functions (the ones its
 * `NativeCodecs.decodeJpeg` calls) rather than `decodeJpeg` itself: on a corrupt codestream the
 * IJG error exit throws through the WASM stack, and `decodeJpeg` then leaks its context and the
 * stack space in use, so a few hundred bad files break the module for good. Here a failed decode
 * restores the stack and releases its context. The export names are not public API: the
 * dependency is pinned to an exact version.
 */

interface WasmApi {
  wasmMemory: { buffer: ArrayBuffer };
  wasmCreateCodecsContext(): number;
  wasmReleaseCodecsContext(context: number): void;
  wasmCreateDecoderParameters(): number;
  wasmReleaseDecoderParameters(parameters: number): void;
  wasmSetConvertColorspaceToRgb(parameters: number, convert: boolean): void;
  wasmSetColumns(context: number, value: number): void;
  wasmSetRows(context: number, value: number): void;
  wasmSetBitsAllocated(context: number, value: number): void;
  wasmSetBitsStored(context: number, value: number): void;
  wasmSetSamplesPerPixel(context: number, value: number): void;
  wasmSetPixelRepresentation(context: number, value: number): void;
  wasmSetPlanarConfiguration(context: number, value: number): void;
  wasmSetPhotometricInterpretation(context: number, value: number): void;
  wasmGetPlanarConfiguration(context: number): number;
  wasmGetPhotometricInterpretation(context: number): number;
  wasmSetEncodedBufferSize(context: number, size: number): void;
  wasmGetEncodedBuffer(context: number): number;
  wasmGetDecodedBuffer(context: number): number;
  wasmGetDecodedBufferSize(context: number): number;
  wasmDecodeJpeg(context: number, parameters: number): void;
  wasmemscripten_stack_get_current(): number;
  wasm_emscripten_stack_restore(pointer: number): void;
}

interface DcmjsCodecs {
  NativeCodecs: { initializeAsync(): Promise<void>; wasmApi?: WasmApi };
  constants: { PhotometricInterpretation: Record<string, string> };
}

const require = createRequire(import.meta.url);

let starting: Promise<void> | undefined;
let ready: { api: WasmApi; photometrics: string[] } | undefined;

/** Compiles and starts the module once per thread; later calls return the same promise. */
export function prepareDcmtkJpeg(): Promise<void> {
  starting ??= (async () => {
    const codecs = require('dcmjs-codecs') as DcmjsCodecs;
    await codecs.NativeCodecs.initializeAsync();
    const api = codecs.NativeCodecs.wasmApi;
    if (api === undefined || typeof api.wasmDecodeJpeg !== 'function') {
      throw new EtlError('INTERNAL', 'dcmjs-codecs started without its JPEG decoder');
    }
    ready = { api, photometrics: Object.values(codecs.constants.PhotometricInterpretation) };
  })();
  return starting;
}

/** Emscripten throws bare numbers (a pointer to a C++ exception) as well as Errors. */
function describe(error: unknown): string {
  if (error instanceof Error) return error.message.replace(/^JpegDecoder\d*::ErrorExit::/, '');
  return typeof error === 'number' ? 'decoder aborted' : String(error);
}

export function decodeDcmtkJpeg(label: string, frame: Uint8Array, info: FrameInfo): DecodedFrame {
  if (ready === undefined) {
    throw new EtlError(
      'INTERNAL',
      `${label} needs the dcmjs-codecs decoder, which is not started in this thread: await prepareCodecs() first`,
    );
  }
  const { api, photometrics } = ready;
  const colour = info.samplesPerPixel === 3;
  // The JPEG's YCbCr comes out as RGB, as from libjpeg-turbo for JPEG baseline.
  const toRgb = colour && info.photometric !== undefined && info.photometric.startsWith('YBR');
  const stack = api.wasmemscripten_stack_get_current();
  const context = api.wasmCreateCodecsContext();
  const parameters = api.wasmCreateDecoderParameters();
  try {
    api.wasmSetColumns(context, info.columns);
    api.wasmSetRows(context, info.rows);
    api.wasmSetBitsAllocated(context, info.bitsAllocated);
    api.wasmSetBitsStored(context, info.bitsStored);
    api.wasmSetSamplesPerPixel(context, info.samplesPerPixel);
    api.wasmSetPixelRepresentation(context, info.signed ? 1 : 0);
    api.wasmSetPlanarConfiguration(context, 0);
    api.wasmSetPhotometricInterpretation(
      context,
      Math.max(0, photometrics.indexOf(info.photometric ?? 'MONOCHROME2')),
    );
    api.wasmSetConvertColorspaceToRgb(parameters, toRgb);
    api.wasmSetEncodedBufferSize(context, frame.length);
    new Uint8Array(api.wasmMemory.buffer).set(frame, api.wasmGetEncodedBuffer(context));
    try {
      api.wasmDecodeJpeg(context, parameters);
    } catch (error) {
      api.wasm_emscripten_stack_restore(stack);
      throw new EtlError(
        'DICOM_INVALID',
        `${label} frame could not be decoded: ${describe(error)}`,
        {
          cause: error,
        },
      );
    }
    const count = info.rows * info.columns * info.samplesPerPixel;
    const bytes = api.wasmGetDecodedBufferSize(context);
    if (bytes !== count * (info.bitsAllocated / 8)) {
      throw new EtlError(
        'DICOM_INVALID',
        `${label} frame decodes to ${bytes} bytes, ${count} samples of ${info.bitsAllocated} bits expected for ${info.columns}×${info.rows}×${info.samplesPerPixel}`,
      );
    }
    // A copy: the decoded buffer lives in WASM memory, freed with the context below.
    const out = new Uint8Array(
      api.wasmMemory.buffer,
      api.wasmGetDecodedBuffer(context),
      bytes,
    ).slice();
    const samples =
      info.bitsAllocated === 8
        ? out
        : info.signed
          ? new Int16Array(out.buffer, 0, count)
          : new Uint16Array(out.buffer, 0, count);
    if (!colour) return { samples, samplesPerPixel: 1 };
    return {
      samples,
      samplesPerPixel: 3,
      planar: api.wasmGetPlanarConfiguration(context) === 1,
      ...(toRgb ? { photometric: 'RGB' } : {}),
    };
  } finally {
    api.wasmReleaseDecoderParameters(parameters);
    api.wasmReleaseCodecsContext(context);
  }
}
