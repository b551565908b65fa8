import { unsupportedTransferSyntax } from '../../dicom/transfer-syntax.js';
import { decodeDcmtkJpeg, prepareDcmtkJpeg } from './dcmtk-jpeg.js';
import { EtlError } from '../../domain/errors.js';
import { decodeWithCodec, type CodecName } from './emscripten-codec.js';
import type { DecodedFrame, FrameInfo } from './frame.js';
import { withDicomColourSpace } from './jpeg-colour.js';
import { decodeJ2kNative, nativeOpenJpegAvailable } from './native-openjpeg.js';
import { decodeRle } from './rle.js';

export type { DecodedFrame, FrameInfo } from './frame.js';

const JPEG_BASELINE = '1.2.840.10008.1.2.4.50';

const CODECS: ReadonlyMap<string, { codec: CodecName; label: string }> = new Map([
  [JPEG_BASELINE, { codec: 'libjpeg-turbo', label: 'JPEG baseline' }],
  ['1.2.840.10008.1.2.4.80', { codec: 'charls', label: 'JPEG-LS' }],
  ['1.2.840.10008.1.2.4.81', { codec: 'charls', label: 'JPEG-LS' }],
  ['1.2.840.10008.1.2.4.90', { codec: 'openjpeg', label: 'JPEG 2000' }],
  ['1.2.840.10008.1.2.4.91', { codec: 'openjpeg', label: 'JPEG 2000' }],
  ['1.2.840.10008.1.2.4.201', { codec: 'openjph', label: 'HTJ2K' }],
  ['1.2.840.10008.1.2.4.202', { codec: 'openjph', label: 'HTJ2K' }],
  ['1.2.840.10008.1.2.4.203', { codec: 'openjph', label: 'HTJ2K' }],
]);

const RLE_LOSSLESS = '1.2.840.10008.1.2.5';
const JPEG_EXTENDED = '1.2.840.10008.1.2.4.51';
/** Decoded by dcmtk's IJG JPEG (dcmjs-codecs): lossless, and Extended beyond 8 bits. */
const DCMTK_JPEG: ReadonlyMap<string, string> = new Map([
  [JPEG_EXTENDED, 'JPEG Extended'],
  ['1.2.840.10008.1.2.4.57', 'JPEG lossless'],
  ['1.2.840.10008.1.2.4.70', 'JPEG lossless'],
]);

/**
 * Which JPEG 2000 decoder to use: 'native' is the system's OpenJPEG (libopenjp2) on every core,
 * 'wasm' the bundled single-threaded build, 'auto' native when the library loads.
 */
export type J2kDecoderChoice = 'auto' | 'native' | 'wasm';

let j2kDecoder: 'native' | 'wasm' | undefined;

/**
 * Sets this thread's JPEG 2000 decoder, and returns which one it is. Throws CONFIG_INVALID for
 * 'native' when libopenjp2 cannot be loaded. Until called, the choice is 'auto'.
 */
export function useJ2kDecoder(choice: J2kDecoderChoice): 'native' | 'wasm' {
  const available = choice !== 'wasm' && nativeOpenJpegAvailable();
  if (choice === 'native' && !available) {
    throw new EtlError('CONFIG_INVALID', 'j2kDecoder is native, but libopenjp2 cannot be loaded', {
      hint: 'install OpenJPEG (apt-get install libopenjp2-7, brew install openjpeg) or use --j2k-decoder auto',
    });
  }
  j2kDecoder = available ? 'native' : 'wasm';
  return j2kDecoder;
}

const READY: Promise<void> = Promise.resolve();

/**
 * Starts the codecs that cannot start synchronously (dcmjs-codecs), once per thread; idempotent.
 * Every thread that decodes JPEG Extended or JPEG lossless awaits it before its first frame.
 * Given a transfer syntax UID, starts only what that syntax needs (nothing for every other
 * one, whose codecs load synchronously on first use), so a thread pays for no codec it does
 * not decode.
 */
export function prepareCodecs(syntax?: string): Promise<void> {
  return syntax === undefined || DCMTK_JPEG.has(syntax) ? prepareDcmtkJpeg() : READY;
}

/** Bits Allocated 8 and 16 for every codec; RLE Lossless carries 32-bit samples too. */
export function decodesBitsAllocated(syntax: string, bitsAllocated: number): boolean {
  return (
    bitsAllocated === 8 || bitsAllocated === 16 || (bitsAllocated === 32 && syntax === RLE_LOSSLESS)
  );
}

/**
 * Decodes one encapsulated frame of `syntax` into the samples the native path would hold.
 * Throws DICOM_INVALID for a codestream that does not decode or does not match the header.
 */
export function decodeFrame(syntax: string, frame: Uint8Array, info: FrameInfo): DecodedFrame {
  if (syntax === RLE_LOSSLESS) return decodeRle(frame, info);
  // 8-bit JPEG Extended is what baseline decoders decode; only 12-bit needs dcmtk's.
  const dcmtk =
    syntax === JPEG_EXTENDED && info.bitsAllocated === 8 ? undefined : DCMTK_JPEG.get(syntax);
  if (dcmtk !== undefined) return decodeDcmtkJpeg(dcmtk, frame, info);
  const entry = CODECS.get(syntax === JPEG_EXTENDED ? JPEG_BASELINE : syntax);
  if (entry === undefined) throw unsupportedTransferSyntax(syntax);
  if (entry.codec === 'openjpeg' && (j2kDecoder ?? useJ2kDecoder('auto')) === 'native') {
    // Sub-sampled components are left to the WASM decoder, whose wrapper converts them.
    const decoded = decodeJ2kNative(entry.label, frame, info);
    if (decoded !== undefined) return decoded;
  }
  const codestream =
    entry.codec === 'libjpeg-turbo' ? withDicomColourSpace(frame, info.photometric) : frame;
  const decoded = decodeWithCodec(entry.codec, entry.label, codestream, info);
  // libjpeg-turbo converts a JPEG's YCbCr to RGB on the way out.
  return entry.codec === 'libjpeg-turbo' && info.samplesPerPixel === 3
    ? { ...decoded, photometric: 'RGB' }
    : decoded;
}
