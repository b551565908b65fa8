import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { EtlError } from '../../domain/errors.js';
import { checkDecodedShape, type DecodedFrame, type FrameInfo } from './frame.js';

/**
 * The cornerstone WASM decoders (libjpeg-turbo, CharLS, OpenJPEG, OpenJPH) behind one call.
 * Each module is compiled and instantiated synchronously on first use and then kept for the life
 * of the thread: the renderer is synchronous and runs in piscina workers, so every worker pays
 * the compile once, for the codecs its files need. Emscripten's `instantiateWasm` hook is what
 * makes the synchronous start possible; its factory still returns a promise, which we ignore
 * because the run has completed by the time it returns.
 */

interface CodecFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
}

interface Decoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  getFrameInfo(): CodecFrameInfo;
  decode(): void;
  delete(): void;
}

type DecoderClass = new () => Decoder;
type Factory = (module: EmscriptenModule) => unknown;

/** The slice of the WebAssembly API we use; Node has it, but this project's lib has no types. */
interface WasmInstance {
  exports: object;
}
interface Wasm {
  Module: new (binary: Uint8Array) => object;
  Instance: new (module: object, imports: object) => WasmInstance;
}
const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;

interface EmscriptenModule {
  print: () => void;
  printErr: () => void;
  instantiateWasm: (
    imports: object,
    done: (instance: WasmInstance, module: object) => void,
  ) => object;
  [decoder: string]: unknown;
}

export type CodecName = 'libjpeg-turbo' | 'charls' | 'openjpeg' | 'openjph';

const require = createRequire(import.meta.url);

/** Literal specifiers, so the bundler-free loader stays visible to dependency checks. */
const PACKAGES: Record<CodecName, { load: () => Factory; wasm: () => string; decoder: string }> = {
  'libjpeg-turbo': {
    load: () => require('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs') as Factory,
    wasm: () => require.resolve('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasm'),
    decoder: 'JPEGDecoder',
  },
  charls: {
    load: () => require('@cornerstonejs/codec-charls/decodewasmjs') as Factory,
    wasm: () => require.resolve('@cornerstonejs/codec-charls/decodewasm'),
    decoder: 'JpegLSDecoder',
  },
  openjpeg: {
    load: () => require('@cornerstonejs/codec-openjpeg/decodewasmjs') as Factory,
    wasm: () => require.resolve('@cornerstonejs/codec-openjpeg/decodewasm'),
    decoder: 'J2KDecoder',
  },
  openjph: {
    load: () => require('@cornerstonejs/codec-openjph/wasmjs') as Factory,
    wasm: () => require.resolve('@cornerstonejs/codec-openjph/wasm'),
    decoder: 'HTJ2KDecoder',
  },
};
const loaded = new Map<CodecName, DecoderClass>();

function decoderClass(codec: CodecName): DecoderClass {
  const cached = loaded.get(codec);
  if (cached !== undefined) return cached;
  const spec = PACKAGES[codec];
  const factory = spec.load();
  const binary = readFileSync(spec.wasm());
  const module: EmscriptenModule = {
    // Without these the codecs write their diagnostics to the worker's stdout.
    print: () => undefined,
    printErr: () => undefined,
    instantiateWasm(imports, done) {
      const compiled = new wasm.Module(binary);
      const instance = new wasm.Instance(compiled, imports);
      done(instance, compiled);
      return instance.exports;
    },
  };
  void factory(module);
  const decoder = module[spec.decoder];
  if (typeof decoder !== 'function') {
    throw new EtlError(
      'INTERNAL',
      `the ${codec} codec did not start synchronously (no ${spec.decoder})`,
    );
  }
  loaded.set(codec, decoder as DecoderClass);
  return decoder as DecoderClass;
}

/** Emscripten throws bare numbers (a pointer to a C++ exception) as well as Errors and strings. */
function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'number' ? 'decoder aborted' : String(error);
}

export function decodeWithCodec(
  codec: CodecName,
  label: string,
  bytes: Uint8Array,
  info: FrameInfo,
): DecodedFrame {
  const decoder = new (decoderClass(codec))();
  try {
    decoder.getEncodedBuffer(bytes.length).set(bytes);
    try {
      decoder.decode();
    } catch (error) {
      throw new EtlError(
        'DICOM_INVALID',
        `${label} frame could not be decoded: ${describe(error)}`,
        {
          cause: error,
        },
      );
    }
    const found = decoder.getFrameInfo();
    checkDecodedShape(label, { ...found, components: found.componentCount }, info);
    // The decoded buffer is a view into WASM memory that the next decode overwrites.
    const out = decoder.getDecodedBuffer().slice();
    const count = info.rows * info.columns * info.samplesPerPixel;
    const wide = found.bitsPerSample > 8;
    if (out.length !== count * (wide ? 2 : 1)) {
      throw new EtlError(
        'DICOM_INVALID',
        `${label} frame decodes to ${out.length} bytes, ${count} samples expected`,
      );
    }
    const samples = !wide
      ? out
      : info.signed
        ? new Int16Array(out.buffer, 0, count)
        : new Uint16Array(out.buffer, 0, count);
    return { samples, samplesPerPixel: info.samplesPerPixel };
  } finally {
    decoder.delete();
  }
}
