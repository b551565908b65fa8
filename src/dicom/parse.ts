import { inflateRawSync } from 'node:zlib';
import { createRequire } from 'node:module';
import type dicomParserModule from 'dicom-parser';
import type { DataSet } from 'dicom-parser';
import { EtlError } from '../domain/errors.js';
import {
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
  lookupTransferSyntax,
  unsupportedTransferSyntax,
  type TransferSyntax,
} from './transfer-syntax.js';

/** A data set whose header was read; the pixel data element is located but not read. */
export interface ParsedDicom {
  dataSet: DataSet;
  transferSyntax: TransferSyntax;
}

// Through require: a CommonJS package imported from an ES module has Node 20 run every file it
// requires through the ES module loader too, which costs ~15 ms more
// in every thread that parses here.
const dicomParser = createRequire(import.meta.url)('dicom-parser') as typeof dicomParserModule;

export const PIXEL_DATA_TAG = 'x7fe00010';

const PREAMBLE_LENGTH = 128;
/** Where the file meta's first element after its group length ends: preamble, DICM, (0002,0000). */
const META_START = PREAMBLE_LENGTH + 4 + 12;
/**
 * Largest inflated data set accepted: a deflated file is a few kB that could claim gigabytes
 * (a zip bomb), so inflation stops here. Deflate is used for small non-image objects and
 * thumbnails in practice; 1 GiB covers any real image.
 */
const MAX_INFLATED_BYTES = 1024 * 1024 * 1024;
const UNDEFINED_LENGTH = 0xffffffff;

/** Explicit VRs with a 4-byte value length after two reserved bytes (PS3.5 7.1.2). */
export const LONG_VRS = [
  ...['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ'],
  ...['SV', 'UC', 'UN', 'UR', 'UT', 'UV'],
];

/** Every VR of PS3.5 6.2: the two letters that open an explicit VR element's value header. */
export const VRS = new Set(
  [
    ...['AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FD', 'FL', 'IS', 'LO', 'LT', 'PN', 'SH', 'SL'],
    ...['SS', 'ST', 'TM', 'UI', 'UL', 'US'],
  ].concat(LONG_VRS),
);

/** A file that ends before its own header or pixel data says it does. */
export function truncated(message: string, cause?: unknown): EtlError {
  return new EtlError('DICOM_TRUNCATED', message, {
    cause,
    hint: 'fetch the file again; the stored copy is incomplete',
  });
}

/** 'x00280010' → '(0028,0010)', the form dcmdump and the standard use. */
export function formatTag(tag: string): string {
  return `(${tag.slice(1, 5)},${tag.slice(5, 9)})`.toUpperCase();
}

function hasPart10Prefix(bytes: Uint8Array): boolean {
  return (
    bytes.length >= PREAMBLE_LENGTH + 4 &&
    bytes[128] === 0x44 &&
    bytes[129] === 0x49 &&
    bytes[130] === 0x43 &&
    bytes[131] === 0x4d
  );
}

function uint16At(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] ?? 0) | ((bytes[offset + 1] ?? 0) << 8);
}

function uint32At(bytes: Uint8Array, offset: number): number {
  return (uint16At(bytes, offset) + uint16At(bytes, offset + 2) * 0x10000) >>> 0;
}

/**
 * Some PACS store the bare data set, without preamble or file meta. We accept one only when it
 * unmistakably starts with a group-0008 element whose value fits in the file and is followed
 * by an element of group 0008 or later, so random bytes that start with 08 00 stay NOT_DICOM.
 */
function bareDatasetSyntax(bytes: Uint8Array): string | undefined {
  if (bytes.length < 8 || uint16At(bytes, 0) !== 0x0008) return undefined;
  const vr = String.fromCharCode(bytes[4] ?? 0, bytes[5] ?? 0);
  let uid: string;
  let end: number;
  if (VRS.has(vr)) {
    uid = EXPLICIT_VR_LITTLE_ENDIAN;
    end = LONG_VRS.includes(vr) ? 12 + uint32At(bytes, 8) : 8 + uint16At(bytes, 6);
  } else {
    uid = IMPLICIT_VR_LITTLE_ENDIAN;
    end = 8 + uint32At(bytes, 4);
  }
  if (end > bytes.length) return undefined;
  if (end + 2 <= bytes.length && uint16At(bytes, end) < 0x0008) return undefined;
  return uid;
}

/** dicom-parser throws strings, Errors, and `{ exception, dataSet }` wrappers. */
function unwrap(error: unknown): { detail: string; partial: DataSet | undefined } {
  if (typeof error === 'object' && error !== null && 'exception' in error) {
    const inner = unwrap(error.exception);
    const partial = 'dataSet' in error ? (error.dataSet as DataSet) : undefined;
    return { detail: inner.detail, partial };
  }
  const detail = error instanceof Error ? error.message : String(error);
  return { detail: detail.replace(/^dicomParser[.:]\s*/, ''), partial: undefined };
}

/** Where parsing stopped, for the message: the last element read completely. */
function lastElementBefore(partial: DataSet | undefined): string {
  if (partial === undefined) return '';
  let last: { tag: string; dataOffset: number } | undefined;
  for (const element of Object.values(partial.elements)) {
    if (last === undefined || element.dataOffset > last.dataOffset) last = element;
  }
  return last === undefined ? '' : ` after element ${formatTag(last.tag)}`;
}

function parseFailure(error: unknown, bytes: Uint8Array, where: string): EtlError {
  const { detail, partial } = unwrap(error);
  if (/position' cannot be greater than or equal/.test(detail)) {
    return truncated(
      `the ${where} runs past the end of the file (byte ${bytes.length})${lastElementBefore(partial)}`,
      error,
    );
  }
  // An item or sequence whose declared length reaches past the end of the file.
  if (/maxPosition/.test(detail)) {
    return truncated(
      `file ends at byte ${bytes.length} inside a sequence of the ${where}${lastElementBefore(partial)}`,
      error,
    );
  }
  // dicom-parser's bounds checks are the only way it tells a file that ends too early.
  if (/past end|overread|overrun/.test(detail)) {
    return truncated(
      `file ends at byte ${bytes.length} inside the ${where}${lastElementBefore(partial)} (${detail})`,
      error,
    );
  }
  const message = `malformed ${where}${lastElementBefore(partial)}: ${detail}`;
  return new EtlError('DICOM_INVALID', message, { cause: error });
}

function readTransferSyntaxUid(bytes: Uint8Array): string {
  let meta: DataSet;
  try {
    meta = dicomParser.readPart10Header(bytes);
  } catch (error) {
    throw parseFailure(error, bytes, 'file meta information');
  }
  const element = meta.elements.x00020010;
  if (element === undefined || element.length === 0) {
    // The group length says where the meta ends: past the end of the file, the file was cut;
    // within it, the meta is complete and simply lacks the UID.
    const lengthElement = meta.elements.x00020000;
    const groupLength =
      lengthElement !== undefined && lengthElement.dataOffset + 4 <= bytes.length
        ? uint32At(bytes, lengthElement.dataOffset)
        : undefined;
    if (groupLength === undefined || META_START + groupLength > bytes.length) {
      throw truncated(`file ends at byte ${bytes.length} inside the file meta information`);
    }
    throw new EtlError(
      'DICOM_INVALID',
      'file meta information lacks Transfer Syntax UID (0002,0010)',
    );
  }
  if (element.dataOffset + element.length > bytes.length) {
    throw truncated(`file ends at byte ${bytes.length} inside Transfer Syntax UID (0002,0010)`);
  }
  return (meta.string('x00020010') ?? '').replace(/\0+$/, '');
}

/**
 * Some writers declare an explicit VR transfer syntax and write the data set in implicit VR;
 * read as explicit, its lengths are garbage and it looks cut short. Naming the real problem
 * beats a misleading DICOM_TRUNCATED.
 */
function checkExplicitVr(bytes: Uint8Array, syntaxName: string): void {
  // Only where the meta starts with its group length, (0002,0000), as PS3.10 requires.
  if (uint16At(bytes, 132) !== 0x0002 || uint16At(bytes, 134) !== 0x0000) return;
  const groupLength = uint32At(bytes, META_START - 4);
  const start = META_START + groupLength;
  if (start + 6 > bytes.length) return;
  const vr = String.fromCharCode(bytes[start + 4] ?? 0, bytes[start + 5] ?? 0);
  if (!VRS.has(vr)) {
    throw new EtlError(
      'DICOM_INVALID',
      `the data set is written in implicit VR although its transfer syntax (${syntaxName}) is explicit VR`,
      { hint: 'rewrite the file with a correct transfer syntax (e.g. dcmconv, gdcmconv)' },
    );
  }
}

/**
 * Where the data set starts, when the file meta has its group length and the data set's first
 * element is of group 0000 or 0001; undefined otherwise (the usual case).
 */
function illegalGroupAfterMeta(bytes: Uint8Array): number | undefined {
  if (uint16At(bytes, 132) !== 0x0002 || uint16At(bytes, 134) !== 0x0000) return undefined;
  const start = META_START + uint32At(bytes, META_START - 4);
  if (start + 8 > bytes.length) return undefined;
  return uint16At(bytes, start) < 0x0002 ? start : undefined;
}

/** Lengths dicom-parser skipped over without checking them against the end of the file. */
function checkExtents(dataSet: DataSet, bytes: Uint8Array): void {
  for (const element of Object.values(dataSet.elements)) {
    if (element.tag === PIXEL_DATA_TAG || element.length === UNDEFINED_LENGTH) continue;
    if (element.dataOffset + element.length > bytes.length) {
      throw truncated(
        `element ${formatTag(element.tag)} declares ${element.length} bytes at offset ${element.dataOffset}, but the file ends at byte ${bytes.length}`,
      );
    }
  }
}

/**
 * Reads the header of a DICOM file up to the Pixel Data element, which is located but not read:
 * the pixel decoder takes it from there, so a 15 MB CR costs a few hundred header elements.
 * Throws NOT_DICOM, DICOM_TRUNCATED, DICOM_INVALID, or UNSUPPORTED_IMAGE for an unknown
 * transfer syntax. A deflated data set is inflated first; `dataSet.byteArray` is then the
 * inflated file, not `bytes`. A big endian data set is read as such by dicom-parser; its pixel
 * samples stay big endian in the bytes (the pixel reader swaps them).
 */
export function parseDicom(bytes: Uint8Array): ParsedDicom {
  const part10 = hasPart10Prefix(bytes);
  const bareUid = part10 ? undefined : bareDatasetSyntax(bytes);
  if (!part10 && bareUid === undefined) {
    throw new EtlError(
      'NOT_DICOM',
      `no "DICM" prefix at byte 128 and no DICOM data set at byte 0 (${bytes.length} bytes)`,
    );
  }
  const uid = bareUid ?? readTransferSyntaxUid(bytes);
  const transferSyntax = lookupTransferSyntax(uid);
  const encoding = transferSyntax?.encoding;
  if (transferSyntax === undefined) throw unsupportedTransferSyntax(uid);
  if (part10 && encoding === 'explicit-le') checkExplicitVr(bytes, transferSyntax.name);
  // dicom-parser reads the file meta until an element beyond group 0002, so a data set that
  // opens with (illegal) group 0000 or 0001 elements would be swallowed into the meta: read it
  // as a bare data set from where the meta's group length says the meta ends.
  const afterMeta = part10 ? illegalGroupAfterMeta(bytes) : undefined;
  const source = afterMeta === undefined ? bytes : bytes.subarray(afterMeta);
  const explicitUid = bareUid ?? (afterMeta === undefined ? undefined : uid);
  let dataSet: DataSet;
  try {
    dataSet = dicomParser.parseDicom(source, {
      untilTag: PIXEL_DATA_TAG,
      ...(explicitUid === undefined ? {} : { TransferSyntaxUID: explicitUid }),
      ...(encoding === 'deflated' ? { inflater: inflateDataset } : {}),
    });
  } catch (error) {
    if (error instanceof EtlError) throw error;
    throw parseFailure(error, source, 'data set');
  }
  checkExtents(dataSet, dataSet.byteArray);
  return { dataSet, transferSyntax };
}

/**
 * Deflated Explicit VR Little Endian (PS3.5 A.5): everything after the file meta is one raw
 * deflate stream of an explicit VR little endian data set. Returns the file meta followed by
 * the inflated data set, which dicom-parser then reads (and the pixel reader uses) as is.
 */
function inflateDataset(bytes: Uint8Array, position: number): Uint8Array {
  let inflated: Buffer;
  try {
    inflated = inflateRawSync(bytes.subarray(position), { maxOutputLength: MAX_INFLATED_BYTES });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new EtlError(
        'DICOM_INVALID',
        `the deflated data set inflates to more than ${MAX_INFLATED_BYTES} bytes`,
        { cause: error },
      );
    }
    if (code === 'Z_BUF_ERROR') {
      throw truncated(`the deflated data set ends early (file of ${bytes.length} bytes)`, error);
    }
    throw new EtlError(
      'DICOM_INVALID',
      `the deflated data set does not inflate: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const whole = new Uint8Array(position + inflated.length);
  whole.set(bytes.subarray(0, position));
  whole.set(inflated, position);
  return whole;
}
