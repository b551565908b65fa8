import { EtlError } from '../../domain/errors.js';

/**
 * The one contract every codec meets: the header facts of a frame in, its samples out, exactly
 * as the native path would hold them (little endian, Bits Allocated wide, stored values with
 * Bits Stored significant), so the LUT stage never knows a frame was compressed.
 */

export interface FrameInfo {
  rows: number;
  columns: number;
  bitsAllocated: 8 | 16 | 32;
  bitsStored: number;
  /** Pixel Representation 1. */
  signed: boolean;
  samplesPerPixel: number;
  /** The DICOM Photometric Interpretation, which says what the compressed components are. */
  photometric?: string;
}

export interface DecodedFrame {
  samples: Uint8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;
  samplesPerPixel: number;
  /** Colour planes one after another (Planar Configuration 1) rather than interleaved. */
  planar?: boolean;
  /** Set when decoding changed the colour space, e.g. a JPEG decoder's YBR → RGB. */
  photometric?: string;
}

/** What a decoder says it decoded: size, components and bits per sample. */
export interface DecodedShape {
  width: number;
  height: number;
  components: number;
  bitsPerSample: number;
}

/**
 * A decoder's image against the DICOM header: the same size and samples per pixel, and samples
 * wider than 8 bits exactly when Bits Allocated is 16. Throws DICOM_INVALID naming both.
 */
export function checkDecodedShape(label: string, found: DecodedShape, info: FrameInfo): void {
  if (
    found.width !== info.columns ||
    found.height !== info.rows ||
    found.components !== info.samplesPerPixel
  ) {
    throw new EtlError(
      'DICOM_INVALID',
      `${label} frame is ${found.width}×${found.height}×${found.components}, the header says ${info.columns}×${info.rows}×${info.samplesPerPixel}`,
    );
  }
  if (found.bitsPerSample > 8 !== (info.bitsAllocated === 16)) {
    throw new EtlError(
      'DICOM_INVALID',
      `${label} frame has ${found.bitsPerSample}-bit samples, but Bits Allocated is ${info.bitsAllocated}`,
    );
  }
}
