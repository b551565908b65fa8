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
