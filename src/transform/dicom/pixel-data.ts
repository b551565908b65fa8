import type { DataSet, Element } from 'dicom-parser';
import { EtlError } from '../../domain/errors.js';
import { readInteger, readString, readUint16 } from './attributes.js';
import { formatTag, PIXEL_DATA_TAG, truncated, type ParsedDicom } from './parse.js';
import { unsupportedTransferSyntax } from './transfer-syntax.js';

/**
 * One frame of grayscale stored values, still packed as in the file: the LUT stage reads the
 * samples straight from these bytes, so native pixel data is never copied. A decoder for a
 * compressed syntax produces the same shape from its output buffer.
 */
export interface StoredFrame {
  /** The frame's samples, little endian, one per pixel; may start at any byte offset. */
  data: Uint8Array;
  pixelCount: number;
  bitsAllocated: 8 | 16;
  bitsStored: number;
  highBit: number;
  /** Pixel Representation 1: two's complement in BitsStored bits. */
  signed: boolean;
}

type Monochrome = 'MONOCHROME1' | 'MONOCHROME2';

export interface GrayImage {
  rows: number;
  columns: number;
  photometric: Monochrome;
  /** Number of Frames; frame 1 is the one in `frame`. */
  frames: number;
  frame: StoredFrame;
}

/** libjpeg's JPEG_MAX_DIMENSION: a larger side cannot be encoded at all. */
const MAX_SIDE = 65500;
/** sharp's default input pixel limit; also bounds what the renderer allocates (1 byte/pixel). */
const MAX_PIXELS = 0x3fff * 0x3fff;

const NO_IMAGE_TAGS: Record<string, string> = {
  x7fe00008: 'Float Pixel Data (7FE0,0008)',
  x7fe00009: 'Double Float Pixel Data (7FE0,0009)',
};

function unsupported(message: string): EtlError {
  return new EtlError('UNSUPPORTED_IMAGE', message);
}

function invalid(message: string): EtlError {
  return new EtlError('DICOM_INVALID', message);
}

function requiredUint16(dataSet: DataSet, tag: string, name: string): number {
  const value = readUint16(dataSet, tag, name);
  if (value === undefined) throw invalid(`${name} ${formatTag(tag)} is missing`);
  return value;
}

// Storage SOP classes whose objects always carry pixels (PS3.4 Annex B): CR, DX/MG/IO, CT,
// US, MR, SC, XA/RF, NM, PET, RT Image, VL. Without pixels, such a file was cut short.
const IMAGE_STORAGE_CLASSES = [
  /^1\.2\.840\.10008\.5\.1\.4\.1\.1\.(1|1\.1|1\.1\.1|1\.2|1\.2\.1|1\.3|1\.3\.1)$/,
  /^1\.2\.840\.10008\.5\.1\.4\.1\.1\.2(\.1|\.2)?$/,
  /^1\.2\.840\.10008\.5\.1\.4\.1\.1\.(3\.1|6\.1|6\.2)$/,
  /^1\.2\.840\.10008\.5\.1\.4\.1\.1\.4(\.1|\.3)?$/,
  /^1\.2\.840\.10008\.5\.1\.4\.1\.1\.7(\.[1-4])?$/,
  /^1\.2\.840\.10008\.5\.1\.4\.1\.1\.12\.[12]$/,
  /^1\.2\.840\.10008\.5\.1\.4\.1\.1\.(20|128|481\.1)$/,
  /^1\.2\.840\.10008\.5\.1\.4\.1\.1\.77\.1\.[1-4](\.1)?$/,
];

function isImageStorageClass(uid: string): boolean {
  return IMAGE_STORAGE_CLASSES.some((pattern) => pattern.test(uid));
}

function describeObject(parsed: ParsedDicom): string {
  const modality = readString(parsed.dataSet, 'x00080060');
  const sopClass = readString(parsed.dataSet, 'x00080016') ?? 'unknown';
  return `${modality === undefined ? '' : `${modality} `}object, SOP Class ${sopClass}`;
}

function pixelDataElement(parsed: ParsedDicom): Element {
  const { dataSet } = parsed;
  const element = dataSet.elements[PIXEL_DATA_TAG];
  if (element !== undefined) return element;
  for (const [tag, name] of Object.entries(NO_IMAGE_TAGS)) {
    if (dataSet.elements[tag] !== undefined) {
      throw unsupported(`${name} is not supported (${describeObject(parsed)})`);
    }
  }
  // An image header without its pixels is a file cut between two elements.
  if (dataSet.elements.x00280010 !== undefined && dataSet.elements.x00280011 !== undefined) {
    throw truncated(
      `file ends at byte ${dataSet.byteArray.length} before Pixel Data (7FE0,0010), though it has Rows and Columns`,
    );
  }
  const sopClass = readString(dataSet, 'x00080016');
  if (sopClass !== undefined && isImageStorageClass(sopClass)) {
    throw truncated(
      `file ends at byte ${dataSet.byteArray.length} before Pixel Data (7FE0,0010), though its SOP Class ${sopClass} is an image`,
    );
  }
  throw new EtlError('NOT_AN_IMAGE', `no Pixel Data (7FE0,0010) in this ${describeObject(parsed)}`);
}

function readPhotometric(parsed: ParsedDicom): Monochrome {
  const { dataSet } = parsed;
  const samples = readUint16(dataSet, 'x00280002', 'Samples per Pixel') ?? 1;
  // Without Photometric Interpretation, a one-sample image is taken for what it nearly always is.
  const photometric = readString(dataSet, 'x00280004') ?? (samples === 1 ? 'MONOCHROME2' : '');
  if (samples !== 1 || (photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2')) {
    throw unsupported(
      `colour images are not supported yet (Photometric Interpretation ${photometric || 'missing'}, ${samples} samples per pixel)`,
    );
  }
  return photometric;
}

function readBits(parsed: ParsedDicom): Omit<StoredFrame, 'data' | 'pixelCount'> {
  const { dataSet } = parsed;
  const allocated = requiredUint16(dataSet, 'x00280100', 'Bits Allocated');
  if (allocated !== 8 && allocated !== 16) {
    const message = `Bits Allocated ${allocated} is not supported (8 or 16)`;
    throw [1, 32, 64].includes(allocated) ? unsupported(message) : invalid(message);
  }
  const stored = readUint16(dataSet, 'x00280101', 'Bits Stored') ?? allocated;
  if (stored < 1 || stored > allocated) {
    throw invalid(`Bits Stored ${stored} is outside 1..${allocated} (Bits Allocated)`);
  }
  const highBit = readUint16(dataSet, 'x00280102', 'High Bit') ?? stored - 1;
  if (highBit < stored - 1 || highBit >= allocated) {
    throw invalid(
      `High Bit ${highBit} is outside ${stored - 1}..${allocated - 1} for Bits Stored ${stored}`,
    );
  }
  const representation = readUint16(dataSet, 'x00280103', 'Pixel Representation') ?? 0;
  if (representation !== 0 && representation !== 1) {
    throw invalid(`Pixel Representation ${representation} is neither 0 nor 1`);
  }
  return { bitsAllocated: allocated, bitsStored: stored, highBit, signed: representation === 1 };
}

function readSize(parsed: ParsedDicom): { rows: number; columns: number } {
  const { dataSet } = parsed;
  const rows = requiredUint16(dataSet, 'x00280010', 'Rows');
  const columns = requiredUint16(dataSet, 'x00280011', 'Columns');
  if (rows === 0 || columns === 0) throw invalid(`image is ${columns}×${rows} pixels`);
  if (rows > MAX_SIDE || columns > MAX_SIDE || rows * columns > MAX_PIXELS) {
    throw unsupported(
      `image of ${columns}×${rows} pixels is too large (at most ${MAX_SIDE} per side and ${MAX_PIXELS} pixels)`,
    );
  }
  return { rows, columns };
}

/**
 * Reads the Image Pixel module and returns frame 1 as stored values. Checks, in this order: that
 * there is pixel data at all (NOT_AN_IMAGE), that we can decode its transfer syntax and
 * photometric interpretation (UNSUPPORTED_IMAGE), that the header is consistent (DICOM_INVALID),
 * and that the file holds every frame the header promises (DICOM_TRUNCATED).
 */
export function readFirstFrame(parsed: ParsedDicom): GrayImage {
  const element = pixelDataElement(parsed);
  const { dataSet, transferSyntax } = parsed;
  if (transferSyntax.pixels !== 'native') throw unsupportedTransferSyntax(transferSyntax.uid);
  const photometric = readPhotometric(parsed);
  const { rows, columns } = readSize(parsed);
  const bits = readBits(parsed);
  const frames = readInteger(dataSet, 'x00280008', 'Number of Frames') ?? 1;
  if (frames < 1) throw invalid(`Number of Frames ${frames} is less than 1`);

  if (element.hadUndefinedLength === true) {
    throw invalid(`Pixel Data has undefined length (encapsulated) under ${transferSyntax.name}`);
  }
  const bytes = dataSet.byteArray;
  const available = Math.min(element.length, bytes.length - element.dataOffset);
  const pixelCount = rows * columns;
  const frameBytes = pixelCount * (bits.bitsAllocated / 8);
  const expected = frameBytes * frames;
  if (available < expected) {
    const shape = `${columns}×${rows}×${bits.bitsAllocated}-bit${frames > 1 ? ` × ${frames} frames` : ''}`;
    throw truncated(`pixel data has ${available} bytes, ${expected} expected for ${shape}`);
  }
  const data = bytes.subarray(element.dataOffset, element.dataOffset + frameBytes);
  return { rows, columns, photometric, frames, frame: { data, pixelCount, ...bits } };
}
