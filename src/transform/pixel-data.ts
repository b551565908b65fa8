import type { DataSet, Element } from 'dicom-parser';
import { EtlError } from '../domain/errors.js';
import { readInteger, readString, readUint16 } from '../dicom/attributes.js';
import { formatTag, PIXEL_DATA_TAG, truncated, type ParsedDicom } from '../dicom/parse.js';
import { decodeFrame, decodesBitsAllocated } from './codecs/decode-frame.js';
import { readEncapsulated } from './codecs/encapsulated.js';
import { unsupportedTransferSyntax } from '../dicom/transfer-syntax.js';

/**
 * One frame of stored values, still packed as in the file: the LUT stage reads the samples
 * straight from these bytes, so native pixel data is never copied (1-bit data excepted, which is
 * unpacked to a byte per pixel). A decoder for a compressed syntax produces the same shape from
 * its output buffer. Colour frames hold Samples per Pixel samples per pixel, in the image's
 * planar configuration (YBR_FULL_422: two luma samples and one Cb, Cr pair per pixel pair).
 */
export interface StoredFrame {
  /** The frame's samples, little endian; may start at any byte offset. */
  data: Uint8Array;
  pixelCount: number;
  bitsAllocated: 8 | 16 | 32;
  bitsStored: number;
  highBit: number;
  /** Pixel Representation 1: two's complement in BitsStored bits. */
  signed: boolean;
  /** Set when a decoder changed the colour layout, e.g. a JPEG decoder's YBR_FULL_422 → RGB. */
  photometric?: Photometric;
  planarConfiguration?: 0 | 1;
}

export type Photometric =
  | 'MONOCHROME1'
  | 'MONOCHROME2'
  | 'RGB'
  | 'YBR_FULL'
  | 'YBR_FULL_422'
  | 'YBR_ICT'
  | 'YBR_RCT'
  | 'PALETTE COLOR';

const PHOTOMETRICS: readonly Photometric[] = [
  'MONOCHROME1',
  'MONOCHROME2',
  'RGB',
  'YBR_FULL',
  'YBR_FULL_422',
  'YBR_ICT',
  'YBR_RCT',
  'PALETTE COLOR',
];

export interface PixelImage {
  rows: number;
  columns: number;
  photometric: Photometric;
  samplesPerPixel: 1 | 3;
  /** Planar Configuration: 0 = R1G1B1R2…, 1 = all R, then all G, then all B. */
  planarConfiguration: 0 | 1;
  /** Bits Allocated as in the file (1, 8, 16 or 32). */
  bitsAllocated: number;
  /** Number of Frames. */
  frames: number;
  /** Frame `index` (0-based), read on demand so frames can be rendered one at a time. */
  frame(index: number): StoredFrame;
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

// Storage SOP classes that are never a picture (PS3.4 Annex B), even when a producer put a Pixel
// Data element in one: SR and KOS, presentation states, encapsulated documents, raw data and
// registrations, waveforms, RT structure sets, plans and treatment records.
const NON_IMAGE_CLASSES: readonly [RegExp, string][] = [
  [/^1\.2\.840\.10008\.5\.1\.4\.1\.1\.88\.59$/, 'key object selection'],
  [/^1\.2\.840\.10008\.5\.1\.4\.1\.1\.88\.\d+$/, 'structured report'],
  [/^1\.2\.840\.10008\.5\.1\.4\.1\.1\.11\.\d+$/, 'presentation state'],
  [/^1\.2\.840\.10008\.5\.1\.4\.1\.1\.104\.\d+$/, 'encapsulated document'],
  [/^1\.2\.840\.10008\.5\.1\.4\.1\.1\.66(\.[1235])?$/, 'raw data or registration'],
  [/^1\.2\.840\.10008\.5\.1\.4\.1\.1\.67$/, 'real world value mapping'],
  [/^1\.2\.840\.10008\.5\.1\.4\.1\.1\.9\.\d+(\.\d+)?$/, 'waveform'],
  [/^1\.2\.840\.10008\.5\.1\.4\.1\.1\.481\.(3|5|8|9)$/, 'RT structure set or plan'],
  [/^1\.2\.840\.10008\.5\.1\.4\.1\.1\.481\.(4|6|7)$/, 'RT treatment record'],
];

function nonImageKind(uid: string | undefined): string | undefined {
  if (uid === undefined) return undefined;
  return NON_IMAGE_CLASSES.find(([pattern]) => pattern.test(uid))?.[1];
}

function describeObject(parsed: ParsedDicom): string {
  const modality = readString(parsed.dataSet, 'x00080060');
  const sopClass = readString(parsed.dataSet, 'x00080016') ?? 'unknown';
  return `${modality === undefined ? '' : `${modality} `}object, SOP Class ${sopClass}`;
}

function pixelDataElement(parsed: ParsedDicom): Element {
  const { dataSet } = parsed;
  const sopClass = readString(dataSet, 'x00080016');
  const kind = nonImageKind(sopClass);
  if (kind !== undefined) {
    throw new EtlError('NOT_AN_IMAGE', `this ${describeObject(parsed)} is a ${kind}, not an image`);
  }
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
  if (sopClass !== undefined && isImageStorageClass(sopClass)) {
    throw truncated(
      `file ends at byte ${dataSet.byteArray.length} before Pixel Data (7FE0,0010), though its SOP Class ${sopClass} is an image`,
    );
  }
  throw new EtlError('NOT_AN_IMAGE', `no Pixel Data (7FE0,0010) in this ${describeObject(parsed)}`);
}

interface ColourModel {
  photometric: Photometric;
  samplesPerPixel: 1 | 3;
  planarConfiguration: 0 | 1;
}

function readColourModel(parsed: ParsedDicom): ColourModel {
  const { dataSet } = parsed;
  const samples = readUint16(dataSet, 'x00280002', 'Samples per Pixel') ?? 1;
  // Without Photometric Interpretation, a one-sample image is taken for what it nearly always is.
  const value = readString(dataSet, 'x00280004') ?? (samples === 1 ? 'MONOCHROME2' : '');
  const photometric = PHOTOMETRICS.find((known) => known === value);
  if (photometric === undefined) {
    throw unsupported(
      `Photometric Interpretation ${value || 'missing'} is not supported (${samples} samples per pixel)`,
    );
  }
  const expected = photometric.startsWith('MONO') || photometric === 'PALETTE COLOR' ? 1 : 3;
  if (samples !== expected) {
    throw invalid(
      `Samples per Pixel ${samples} does not fit ${photometric} (${expected} expected)`,
    );
  }
  const planar =
    expected === 3 ? (readUint16(dataSet, 'x00280006', 'Planar Configuration') ?? 0) : 0;
  if (planar !== 0 && planar !== 1)
    throw invalid(`Planar Configuration ${planar} is neither 0 nor 1`);
  return { photometric, samplesPerPixel: expected, planarConfiguration: planar };
}

interface SampleBits {
  bitsAllocated: 1 | 8 | 16 | 32;
  bitsStored: number;
  highBit: number;
  signed: boolean;
}

function readBits(parsed: ParsedDicom): SampleBits {
  const { dataSet } = parsed;
  const allocated = requiredUint16(dataSet, 'x00280100', 'Bits Allocated');
  if (allocated !== 1 && allocated !== 8 && allocated !== 16 && allocated !== 32) {
    const message = `Bits Allocated ${allocated} is not supported (1, 8, 16 or 32)`;
    throw allocated === 64 ? unsupported(message) : invalid(message);
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

/** Samples per frame: YBR_FULL_422 stores one Cb, Cr pair per two pixels (PS3.3 C.7.6.3.1.2). */
function samplesPerFrame(pixelCount: number, model: ColourModel): number {
  return model.photometric === 'YBR_FULL_422' ? pixelCount * 2 : pixelCount * model.samplesPerPixel;
}

/** Bit-packed frames follow each other without padding, so frame k may start mid-byte. */
function unpackBits(bytes: Uint8Array, firstBit: number, count: number): Uint8Array {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i += 1) {
    const bit = firstBit + i;
    out[i] = (bytes[bit >>> 3]! >>> (bit & 7)) & 1;
  }
  return out;
}

/**
 * Reads the Image Pixel module; frames are read on demand. Checks, in this order: that this is
 * an image at all (NOT_AN_IMAGE), that we can decode its transfer syntax and photometric
 * interpretation (UNSUPPORTED_IMAGE), that the header is consistent (DICOM_INVALID), and that
 * the file holds every frame the header promises (DICOM_TRUNCATED).
 */
export function readImage(parsed: ParsedDicom): PixelImage {
  const element = pixelDataElement(parsed);
  const { dataSet, transferSyntax } = parsed;
  if (transferSyntax.pixels === undefined) throw unsupportedTransferSyntax(transferSyntax.uid);
  const model = readColourModel(parsed);
  const { rows, columns } = readSize(parsed);
  const bits = readBits(parsed);
  const frames = readInteger(dataSet, 'x00280008', 'Number of Frames') ?? 1;
  if (frames < 1) throw invalid(`Number of Frames ${frames} is less than 1`);
  if (bits.bitsAllocated === 1 && model.samplesPerPixel !== 1) {
    throw invalid(`Bits Allocated 1 with ${model.photometric}`);
  }
  if (transferSyntax.pixels === 'encapsulated') {
    return readEncapsulatedImage(parsed, element, { rows, columns, frames, model, bits });
  }
  if (model.photometric === 'YBR_FULL_422' && columns % 2 !== 0) {
    throw invalid(`YBR_FULL_422 image has an odd number of columns (${columns})`);
  }
  if (element.hadUndefinedLength === true) {
    throw invalid(`Pixel Data has undefined length (encapsulated) under ${transferSyntax.name}`);
  }
  const bytes = dataSet.byteArray;
  const available = Math.min(element.length, bytes.length - element.dataOffset);
  const pixelCount = rows * columns;
  const frameSamples = samplesPerFrame(pixelCount, model);
  const frameBits = frameSamples * bits.bitsAllocated;
  const expected = Math.ceil((frameBits * frames) / 8);
  if (available < expected) {
    const shape = `${columns}×${rows}×${bits.bitsAllocated}-bit${frames > 1 ? ` × ${frames} frames` : ''}`;
    throw truncated(`pixel data has ${available} bytes, ${expected} expected for ${shape}`);
  }
  const pixels = bytes.subarray(element.dataOffset, element.dataOffset + expected);
  const bigEndian = transferSyntax.encoding === 'explicit-be';
  const frame = (index: number): StoredFrame => {
    if (!Number.isInteger(index) || index < 0 || index >= frames) {
      throw new EtlError('INTERNAL', `frame index ${index} is outside 0..${frames - 1}`);
    }
    if (bits.bitsAllocated === 1) {
      const data = unpackBits(pixels, index * frameBits, frameSamples);
      return { data, pixelCount, bitsAllocated: 8, bitsStored: 1, highBit: 0, signed: false };
    }
    const frameBytes = frameBits / 8;
    const stored = pixels.subarray(index * frameBytes, (index + 1) * frameBytes);
    const data = bigEndian ? toLittleEndian(stored, bits.bitsAllocated) : stored;
    return { data, pixelCount, ...bits, bitsAllocated: bits.bitsAllocated };
  };
  return { rows, columns, ...model, bitsAllocated: bits.bitsAllocated, frames, frame };
}

/**
 * Compressed pixel data: the fragments are indexed once, and each frame is decoded only when
 * asked for, into the same little-endian stored values the native path reads, so the LUT and
 * colour stages never know the frame was compressed.
 */
function readEncapsulatedImage(
  parsed: ParsedDicom,
  element: Element,
  image: {
    rows: number;
    columns: number;
    frames: number;
    model: ReturnType<typeof readColourModel>;
    bits: ReturnType<typeof readBits>;
  },
): PixelImage {
  const { dataSet, transferSyntax } = parsed;
  const { rows, columns, frames, model, bits } = image;
  if (element.hadUndefinedLength !== true) {
    throw invalid(
      `Pixel Data has a defined length (native) under the encapsulated ${transferSyntax.name}`,
    );
  }
  const bitsAllocated = bits.bitsAllocated;
  if (bitsAllocated === 1 || !decodesBitsAllocated(transferSyntax.uid, bitsAllocated)) {
    throw new EtlError(
      'UNSUPPORTED_IMAGE',
      `Bits Allocated ${bitsAllocated} is not supported under ${transferSyntax.name}`,
    );
  }
  const encapsulated = readEncapsulated(dataSet.byteArray, element.dataOffset, frames);
  const info = {
    rows,
    columns,
    bitsAllocated,
    bitsStored: bits.bitsStored,
    signed: bits.signed,
    samplesPerPixel: model.samplesPerPixel,
    photometric: model.photometric,
  };
  const frame = (index: number): StoredFrame => {
    if (!Number.isInteger(index) || index < 0 || index >= frames) {
      throw new EtlError('INTERNAL', `frame index ${index} is outside 0..${frames - 1}`);
    }
    const decoded = decodeFrame(transferSyntax.uid, encapsulated.frame(index), info);
    const { samples } = decoded;
    // JPEG 2000 decoders undo the multiple-component transform that YBR_ICT / YBR_RCT declare.
    const reversedTransform = model.photometric === 'YBR_ICT' || model.photometric === 'YBR_RCT';
    const photometric = reversedTransform
      ? 'RGB'
      : PHOTOMETRICS.find((name) => name === decoded.photometric);
    return {
      data: new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength),
      pixelCount: rows * columns,
      ...bits,
      bitsAllocated,
      ...(photometric === undefined ? {} : { photometric }),
      ...(decoded.planar === undefined ? {} : { planarConfiguration: decoded.planar ? 1 : 0 }),
    };
  };
  return { rows, columns, ...model, bitsAllocated, frames, frame };
}

/**
 * Explicit VR Big Endian (retired, still in old archives) stores OW samples most significant
 * byte first; the LUT stage reads little endian, so a frame gets a swapped copy.
 */
function toLittleEndian(stored: Uint8Array, bitsAllocated: number): Uint8Array {
  if (bitsAllocated <= 8) return stored;
  const width = bitsAllocated / 8;
  const swapped = new Uint8Array(stored.length);
  for (let at = 0; at + width <= stored.length; at += width) {
    for (let byte = 0; byte < width; byte += 1) swapped[at + byte] = stored[at + width - 1 - byte]!;
  }
  return swapped;
}
