import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';
import { EtlError } from '../../domain/errors.js';
import { checkDecodedShape, type DecodedFrame, type FrameInfo } from './frame.js';

/**
 * JPEG 2000 through the system's OpenJPEG (libopenjp2, e.g. Debian's libopenjp2-7), called
 * in-process through koffi, with OpenJPEG's own thread pool decoding the code-blocks of one
 * image on every core. The bundled WASM build runs on one core and about 1.3× slower than
 * native per core, which leaves a large JPEG 2000 radiograph at twice the time of pydicom with
 * GDCM (which uses the same library on every core). The library is optional: when it (or koffi,
 * on a platform without its prebuilt binary) cannot be loaded, JPEG 2000 goes to the WASM decoder.
 *
 * OpenJPEG reports errors through message callbacks that its worker threads may call; koffi
 * can only run JavaScript callbacks from the calling thread while it waits, so no message
 * handler is installed and failures are reported by the step that failed. The stream callbacks
 * are only ever called from the calling thread (tier-2 parsing is sequential).
 */

/** The library names tried, in order: Linux (Debian, Fedora, Alpine), then macOS (Homebrew). */
const LIBRARY_NAMES = [
  'libopenjp2.so.7',
  'libopenjp2.so',
  'libopenjp2.7.dylib',
  'libopenjp2.dylib',
];

/** OPJ_CODEC_J2K and OPJ_CODEC_JP2 (openjpeg.h's CODEC_FORMAT). */
const CODEC_J2K = 0;
const CODEC_JP2 = 2;
/** The J2K codestream starts with SOC then SIZ: FF 4F FF 51. */
const J2K_MAGIC = [0xff, 0x4f, 0xff, 0x51];
/** Bytes OpenJPEG asks of the stream at a time; the codestream is in memory already. */
const STREAM_CHUNK = 1 << 20;
/**
 * sizeof(opj_dparameters_t) is about 18 kB on 64-bit platforms (it holds file name buffers);
 * the buffer is larger so that a library built with other sizes still writes inside it.
 */
const PARAMETERS_BYTES = 64 * 1024;
/** (OPJ_SIZE_T)-1: the read callback's end of stream. */
const END_OF_STREAM = 0xffffffffffffffffn;

interface Binding {
  createDecompress(format: number): unknown;
  setDefaultDecoderParameters(parameters: Buffer): void;
  setupDecoder(codec: unknown, parameters: Buffer): number;
  setThreads(codec: unknown, threads: number): number;
  createStream(chunk: number, input: number): unknown;
  setReadFunction(stream: unknown, callback: unknown): void;
  setSkipFunction(stream: unknown, callback: unknown): void;
  setSeekFunction(stream: unknown, callback: unknown): void;
  setUserDataLength(stream: unknown, length: number): void;
  readHeader(stream: unknown, codec: unknown, image: unknown[]): number;
  decode(codec: unknown, stream: unknown, image: unknown): number;
  endDecompress(codec: unknown, stream: unknown): number;
  destroyCodec(codec: unknown): void;
  destroyStream(stream: unknown): void;
  destroyImage(image: unknown): void;
  decodeImage(pointer: unknown): ImageStruct;
  decodeComponents(pointer: unknown, count: number): ComponentStruct[];
  /** The library's memory at `pointer`, `bytes` long, without a copy. */
  view: (pointer: unknown, bytes: number) => ArrayBuffer;
  callbacks: { read: unknown; skip: unknown; seek: unknown };
}

interface ImageStruct {
  x1: number;
  y1: number;
  numcomps: number;
  comps: unknown;
}

interface ComponentStruct {
  dx: number;
  dy: number;
  w: number;
  h: number;
  prec: number;
  sgnd: number;
  data: unknown;
}

/** The codestream the stream callbacks read from; set for the duration of one decode. */
let source: { bytes: Uint8Array; position: number } | undefined;

const require = createRequire(import.meta.url);

/** koffi, or undefined on a platform it has no prebuilt binary for. */
function loadKoffi(): typeof Koffi | undefined {
  try {
    return require('koffi') as typeof Koffi;
  } catch {
    return undefined;
  }
}

function bind(): Binding | undefined {
  const koffi = loadKoffi();
  if (koffi === undefined) return undefined;
  let library: Koffi.LibraryHandle | undefined;
  for (const name of LIBRARY_NAMES) {
    try {
      library = koffi.load(name);
      break;
    } catch {
      // Not installed under this name: try the next.
    }
  }
  if (library === undefined) return undefined;
  const lib = library;
  const fn = (signature: string) => lib.func(signature);
  // Anonymous types: koffi's type names are shared by every thread of the process.
  const readType = koffi.pointer(koffi.proto('size_t', ['void *', 'size_t', 'void *']));
  const skipType = koffi.pointer(koffi.proto('int64_t', ['int64_t', 'void *']));
  const seekType = koffi.pointer(koffi.proto('int', ['int64_t', 'void *']));
  const imageType = koffi.struct({
    x0: 'uint32',
    y0: 'uint32',
    x1: 'uint32',
    y1: 'uint32',
    numcomps: 'uint32',
    color_space: 'int',
    comps: 'void *',
    icc_profile_buf: 'void *',
    icc_profile_len: 'uint32',
  });
  // opj_image_comp_t of OpenJPEG 2.x, including the deprecated bpp member it still carries.
  const componentType = koffi.struct({
    dx: 'uint32',
    dy: 'uint32',
    w: 'uint32',
    h: 'uint32',
    x0: 'uint32',
    y0: 'uint32',
    prec: 'uint32',
    bpp: 'uint32',
    sgnd: 'uint32',
    resno_decoded: 'uint32',
    factor: 'uint32',
    data: 'void *',
    alpha: 'uint16',
  });
  const read = (buffer: unknown, bytes: number | bigint): number | bigint => {
    if (source === undefined) return END_OF_STREAM;
    const { bytes: data, position } = source;
    const count = Math.min(Number(bytes), data.length - position);
    if (count <= 0) return END_OF_STREAM;
    new Uint8Array(koffi.view(buffer, count)).set(data.subarray(position, position + count));
    source.position += count;
    return count;
  };
  const skip = (bytes: number | bigint): number | bigint => {
    if (source === undefined) return -1;
    const target = source.position + Number(bytes);
    if (target < 0 || target > source.bytes.length) return -1;
    source.position = target;
    return bytes;
  };
  const seek = (bytes: number | bigint): number => {
    if (source === undefined) return 0;
    const target = Number(bytes);
    if (target < 0 || target > source.bytes.length) return 0;
    source.position = target;
    return 1;
  };
  return {
    createDecompress: fn('void *opj_create_decompress(int format)'),
    setDefaultDecoderParameters: fn('void opj_set_default_decoder_parameters(void *parameters)'),
    setupDecoder: fn('int opj_setup_decoder(void *codec, void *parameters)'),
    setThreads: fn('int opj_codec_set_threads(void *codec, int threads)'),
    createStream: fn('void *opj_stream_create(size_t chunk, int input)'),
    setReadFunction: lib.func('opj_stream_set_read_function', 'void', ['void *', readType]),
    setSkipFunction: lib.func('opj_stream_set_skip_function', 'void', ['void *', skipType]),
    setSeekFunction: lib.func('opj_stream_set_seek_function', 'void', ['void *', seekType]),
    setUserDataLength: fn('void opj_stream_set_user_data_length(void *stream, uint64_t length)'),
    readHeader: fn('int opj_read_header(void *stream, void *codec, _Out_ void **image)'),
    decode: fn('int opj_decode(void *codec, void *stream, void *image)'),
    endDecompress: fn('int opj_end_decompress(void *codec, void *stream)'),
    destroyCodec: fn('void opj_destroy_codec(void *codec)'),
    destroyStream: fn('void opj_stream_destroy(void *stream)'),
    destroyImage: fn('void opj_image_destroy(void *image)'),
    decodeImage: (pointer) => koffi.decode(pointer, imageType) as ImageStruct,
    decodeComponents: (pointer, count) =>
      koffi.decode(pointer, koffi.array(componentType, count)) as ComponentStruct[],
    view: (pointer, bytes) => koffi.view(pointer, bytes),
    // Registered once per thread and kept: a decode only swaps `source`.
    callbacks: {
      read: koffi.register(read, readType),
      skip: koffi.register(skip, skipType),
      seek: koffi.register(seek, seekType),
    },
  };
}

let binding: Binding | undefined | null = null;

/** The library bound in this thread, or undefined when it cannot be loaded; tried once. */
function openJpeg(): Binding | undefined {
  if (binding === null) binding = bind();
  return binding;
}

/** True when the system's OpenJPEG can be loaded in this process. */
export function nativeOpenJpegAvailable(): boolean {
  return openJpeg() !== undefined;
}

function failed(label: string, step: string): EtlError {
  return new EtlError('DICOM_INVALID', `${label} frame could not be decoded: OpenJPEG ${step}`);
}

/**
 * The decoded components in the layout every codec returns (frame.ts): one component as is,
 * three interleaved; 8-bit, or 16-bit signed or unsigned. OpenJPEG has already clipped each
 * sample to its precision, so the conversions below never wrap (checkDecodedShape has matched the
 * precision to Bits Allocated).
 */
function toFrame(
  label: string,
  components: readonly ComponentStruct[],
  info: FrameInfo,
  view: Binding['view'],
): DecodedFrame {
  const pixels = info.rows * info.columns;
  const count = pixels * components.length;
  // As the WASM path does: the DICOM header, not the codestream, says whether samples are signed.
  const samples =
    info.bitsAllocated === 8
      ? new Uint8Array(count)
      : info.signed
        ? new Int16Array(count)
        : new Uint16Array(count);
  const planes = components.map((component) => {
    if (component.data === null) throw failed(label, 'decoded a component without samples');
    return new Int32Array(view(component.data, pixels * 4));
  });
  if (planes.length === 1) {
    samples.set(planes[0]!);
  } else {
    const stride = planes.length;
    planes.forEach((plane, offset) => {
      for (let i = 0, j = offset; i < pixels; i += 1, j += stride) samples[j] = plane[i]!;
    });
  }
  return { samples, samplesPerPixel: info.samplesPerPixel };
}

/**
 * Decodes one JPEG 2000 codestream (or JP2 file, which some writers put in DICOM) with OpenJPEG
 * on `threads` threads, or returns undefined when the image has sub-sampled components, which
 * this path leaves to the WASM decoder. Throws DICOM_INVALID when OpenJPEG refuses the
 * codestream or it does not match the header, INTERNAL when the library is not available
 * (callers check nativeOpenJpegAvailable first).
 */
export function decodeJ2kNative(
  label: string,
  bytes: Uint8Array,
  info: FrameInfo,
  threads = availableParallelism(),
): DecodedFrame | undefined {
  const lib = openJpeg();
  if (lib === undefined) throw new EtlError('INTERNAL', 'libopenjp2 is not available');
  const j2k = J2K_MAGIC.every((byte, index) => bytes[index] === byte);
  const codec = lib.createDecompress(j2k ? CODEC_J2K : CODEC_JP2);
  const stream = lib.createStream(STREAM_CHUNK, 1);
  const image: unknown[] = [null];
  source = { bytes, position: 0 };
  try {
    if (codec === null || stream === null) throw new EtlError('INTERNAL', 'OpenJPEG out of memory');
    const parameters = Buffer.alloc(PARAMETERS_BYTES);
    lib.setDefaultDecoderParameters(parameters);
    if (!lib.setupDecoder(codec, parameters)) throw failed(label, 'refused the decoder setup');
    // Without thread support in the library this is refused, and decoding runs on one thread.
    lib.setThreads(codec, threads);
    lib.setReadFunction(stream, lib.callbacks.read);
    lib.setSkipFunction(stream, lib.callbacks.skip);
    lib.setSeekFunction(stream, lib.callbacks.seek);
    lib.setUserDataLength(stream, bytes.length);
    if (!lib.readHeader(stream, codec, image)) throw failed(label, 'could not read the header');
    const header = lib.decodeImage(image[0]);
    if (header.numcomps < 1 || header.comps === null) throw failed(label, 'found no component');
    const declared = lib.decodeComponents(header.comps, header.numcomps);
    if (declared.some((component) => component.dx !== 1 || component.dy !== 1)) return undefined;
    // Before decoding: a lying codestream must not make OpenJPEG allocate for an image the
    // header does not describe.
    const shape = { width: header.x1, height: header.y1, components: declared.length };
    checkDecodedShape(label, { ...shape, bitsPerSample: declared[0]!.prec }, info);
    if (!lib.decode(codec, stream, image[0])) throw failed(label, 'could not decode the image');
    if (!lib.endDecompress(codec, stream)) throw failed(label, 'found the codestream incomplete');
    // Read again: decoding fills in each component's samples.
    return toFrame(label, lib.decodeComponents(header.comps, header.numcomps), info, lib.view);
  } finally {
    source = undefined;
    if (image[0] !== null && image[0] !== undefined) lib.destroyImage(image[0]);
    if (stream !== null) lib.destroyStream(stream);
    if (codec !== null) lib.destroyCodec(codec);
  }
}
