import { EtlError } from '../../domain/errors.js';
import type { DecodedFrame, FrameInfo } from './frame.js';

/**
 * RLE Lossless (PS3.5 Annex G): a 64-byte header of up to 15 segment offsets, then one PackBits
 * segment per byte plane, most significant byte of each sample first, sample by sample (Bits
 * Allocated 8, 16 or 32: one, two or four segments per sample, so at most 12 for colour). The
 * planes are reassembled into native-order samples, so a colour image comes out planar.
 */

const HEADER_LENGTH = 64;
const MAX_SEGMENTS = 15;

function invalid(message: string): EtlError {
  return new EtlError('DICOM_INVALID', message);
}

/** Unpacks one segment into `plane`; a segment that decodes short or long is malformed. */
function unpackSegment(source: Uint8Array, plane: Uint8Array, segment: number): void {
  let read = 0;
  let written = 0;
  while (written < plane.length && read < source.length) {
    const control = source[read++]!;
    if (control < 0x80) {
      const count = control + 1;
      if (read + count > source.length || written + count > plane.length) {
        throw invalid(`RLE segment ${segment + 1} has a literal run past its end`);
      }
      plane.set(source.subarray(read, read + count), written);
      read += count;
      written += count;
    } else if (control > 0x80) {
      const count = 257 - control;
      if (read >= source.length || written + count > plane.length) {
        throw invalid(`RLE segment ${segment + 1} has a replicate run past its end`);
      }
      plane.fill(source[read++]!, written, written + count);
      written += count;
    }
    // 0x80 is a no-op by definition (PS3.5 G.3.1).
  }
  if (written < plane.length) {
    throw invalid(
      `RLE segment ${segment + 1} decodes to ${written} bytes, ${plane.length} expected`,
    );
  }
}

export function decodeRle(bytes: Uint8Array, info: FrameInfo): DecodedFrame {
  const bytesPerSample = info.bitsAllocated / 8;
  const expected = info.samplesPerPixel * bytesPerSample;
  if (bytes.length < HEADER_LENGTH) {
    throw invalid(`RLE frame has ${bytes.length} bytes, shorter than its 64-byte header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const segments = view.getUint32(0, true);
  if (segments !== expected || segments > MAX_SEGMENTS) {
    throw invalid(
      `RLE header declares ${segments} segments, ${expected} expected for ${info.samplesPerPixel} samples of ${info.bitsAllocated} bits`,
    );
  }
  const offsets = Array.from({ length: segments }, (_, i) => view.getUint32(4 + i * 4, true));
  offsets.forEach((offset, i) => {
    const previous = i === 0 ? HEADER_LENGTH : offsets[i - 1]!;
    if (offset < previous || offset > bytes.length) {
      throw invalid(
        `RLE segment ${i + 1} offset ${offset} is outside ${previous}..${bytes.length}`,
      );
    }
  });
  const pixels = info.rows * info.columns;
  const plane = new Uint8Array(pixels);
  const out = new Uint8Array(pixels * expected);
  for (let segment = 0; segment < segments; segment++) {
    const end = offsets[segment + 1] ?? bytes.length;
    unpackSegment(bytes.subarray(offsets[segment], end), plane, segment);
    const sample = Math.floor(segment / bytesPerSample);
    // Segments carry the most significant byte first; samples are stored little endian.
    const byte = bytesPerSample - 1 - (segment % bytesPerSample);
    const base = sample * pixels * bytesPerSample + byte;
    for (let i = 0; i < pixels; i++) out[base + i * bytesPerSample] = plane[i]!;
  }
  const count = pixels * info.samplesPerPixel;
  const samples =
    bytesPerSample === 1
      ? out
      : bytesPerSample === 2
        ? info.signed
          ? new Int16Array(out.buffer, 0, count)
          : new Uint16Array(out.buffer, 0, count)
        : info.signed
          ? new Int32Array(out.buffer, 0, count)
          : new Uint32Array(out.buffer, 0, count);
  return { samples, samplesPerPixel: info.samplesPerPixel, planar: info.samplesPerPixel > 1 };
}
