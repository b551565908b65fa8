import { EtlError } from '../domain/errors.js';

/**
 * A DICOM Part 10 writer for the sample PACS. It writes only what the generator needs (little
 * endian, uncompressed, defined-length sequences) but writes it strictly, so that dcmdump and
 * pydicom read every file without a warning: the sample data is the reference the parser and
 * renderer are tested against, and a sloppy file would hide their bugs.
 */

export type DicomVR =
  | 'AE'
  | 'AS'
  | 'CS'
  | 'DA'
  | 'DS'
  | 'DT'
  | 'IS'
  | 'LO'
  | 'LT'
  | 'PN'
  | 'SH'
  | 'ST'
  | 'TM'
  | 'UI'
  | 'UL'
  | 'US'
  | 'SS'
  | 'OB'
  | 'OW'
  | 'SQ'
  | 'UT'
  | 'FD'
  | 'FL';

export interface DicomElement {
  /** (group << 16) | element, e.g. 0x00280010 for Rows. */
  tag: number;
  vr: DicomVR;
  value:
    | string
    | number
    | readonly (string | number)[]
    | Uint8Array
    | Uint16Array
    | Int16Array
    | readonly (readonly DicomElement[])[];
}

export type TransferSyntax = 'implicit-le' | 'explicit-le';

export const TRANSFER_SYNTAX_UID: Record<TransferSyntax, string> = {
  'implicit-le': '1.2.840.10008.1.2',
  'explicit-le': '1.2.840.10008.1.2.1',
};

export interface Part10Dataset {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntax: TransferSyntax;
  /** Any order; written sorted by tag. SOP Class/Instance UID are added from the fields above. */
  elements: readonly DicomElement[];
}

/** A UUID-derived root of our own (ISO/IEC 9834-8), so no registered org root is needed. */
const IMPLEMENTATION_CLASS_UID = '2.25.44404980798088542624604859967327953077';
const IMPLEMENTATION_VERSION_NAME = 'EDEN_ETL_1';

const SOP_CLASS_UID_TAG = 0x00080016;
const SOP_INSTANCE_UID_TAG = 0x00080018;
const SPECIFIC_CHARACTER_SET_TAG = 0x00080005;
const ITEM_TAG = 0xfffee000;

/** Explicit VR LE gives these VRs a 4-byte length after two reserved bytes (PS3.5 7.1.2). */
const LONG_LENGTH_VRS: ReadonlySet<DicomVR> = new Set(['OB', 'OW', 'SQ', 'UT']);

/** Maximum length in characters per value (PS3.5 6.2); PN is checked per component group. */
const MAX_CHARS: Partial<Record<DicomVR, number>> = {
  AE: 16,
  AS: 4,
  CS: 16,
  DA: 8,
  DS: 16,
  DT: 26,
  IS: 12,
  LO: 64,
  LT: 10240,
  PN: 64,
  SH: 16,
  ST: 1024,
  TM: 14,
  UI: 64,
};

/** Text VRs whose single value may contain a backslash and cannot be multi-valued. */
const SINGLE_VALUED_TEXT: ReadonlySet<DicomVR> = new Set(['LT', 'ST', 'UT']);

const VALUE_PATTERN: Partial<Record<DicomVR, { pattern: RegExp; expected: string }>> = {
  AS: { pattern: /^\d{3}[DWMY]$/, expected: 'nnnD, nnnW, nnnM or nnnY' },
  CS: { pattern: /^[A-Z0-9 _]*$/, expected: 'upper-case letters, digits, space, underscore' },
  DA: { pattern: /^\d{8}$/, expected: 'YYYYMMDD' },
  DS: {
    pattern: /^ *[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)? *$/,
    expected: 'a decimal string such as -1024 or 0.7031',
  },
  IS: { pattern: /^ *[+-]?\d+ *$/, expected: 'an integer string' },
  TM: { pattern: /^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$/, expected: 'HHMMSS.FFFFFF' },
  UI: { pattern: /^(0|[1-9]\d*)(\.(0|[1-9]\d*))*$/, expected: 'dot-separated digits' },
  DT: { pattern: /^\d{4}(\d{2}){0,5}(\.\d{1,6})?([+-]\d{4})?$/, expected: 'YYYYMMDDHHMMSS' },
};

const BINARY_RANGE: Partial<Record<DicomVR, { min: number; max: number; integer: boolean }>> = {
  US: { min: 0, max: 0xffff, integer: true },
  SS: { min: -0x8000, max: 0x7fff, integer: true },
  UL: { min: 0, max: 0xffffffff, integer: true },
  FL: { min: -3.4028234663852886e38, max: 3.4028234663852886e38, integer: false },
  FD: { min: -Number.MAX_VALUE, max: Number.MAX_VALUE, integer: false },
};

const BINARY_SIZE: Partial<Record<DicomVR, number>> = { US: 2, SS: 2, UL: 4, FL: 4, FD: 8 };

function formatTag(tag: number): string {
  const hex = (tag >>> 0).toString(16).toUpperCase().padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}

function invalid(tag: number, vr: DicomVR, message: string): EtlError {
  return new EtlError('INTERNAL', `DICOM element ${formatTag(tag)} ${vr}: ${message}`, {
    subject: formatTag(tag),
    hint: 'fix the element passed to writePart10',
  });
}

/** DS holds at most 16 characters, so long fractions are rounded rather than truncated. */
function formatDecimal(tag: number, value: number): string {
  if (!Number.isFinite(value))
    throw invalid(tag, 'DS', `received ${value}, expected a finite number`);
  const plain = String(value);
  if (plain.length <= 16) return plain;
  for (let precision = 15; precision >= 1; precision -= 1) {
    const rounded = String(Number(value.toPrecision(precision)));
    if (rounded.length <= 16) return rounded;
  }
  throw invalid(tag, 'DS', `received ${value}, which does not fit in 16 characters`);
}

function formatTextValue(tag: number, vr: DicomVR, value: string | number): string {
  if (typeof value === 'number') {
    if (vr === 'DS') return formatDecimal(tag, value);
    if (vr === 'IS') {
      if (!Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) {
        throw invalid(tag, vr, `received ${value}, expected a 32-bit signed integer`);
      }
      return String(value);
    }
    throw invalid(tag, vr, `received the number ${value}, expected a string`);
  }
  return value;
}

function checkTextValue(tag: number, vr: DicomVR, text: string, multiValued: boolean): void {
  if (multiValued && text.includes('\\')) {
    throw invalid(tag, vr, `value ${JSON.stringify(text)} contains "\\", the value delimiter`);
  }
  const rule = VALUE_PATTERN[vr];
  if (rule !== undefined && !rule.pattern.test(text)) {
    throw invalid(tag, vr, `received ${JSON.stringify(text)}, expected ${rule.expected}`);
  }
  const max = MAX_CHARS[vr];
  const lengths = vr === 'PN' ? text.split('=').map((group) => group.length) : [text.length];
  if (max !== undefined && lengths.some((length) => length > max)) {
    throw invalid(
      tag,
      vr,
      `value ${JSON.stringify(text.slice(0, 40))}… is ${text.length} characters, max ${max}`,
    );
  }
  const integer = Number(text.trim());
  if (vr === 'IS' && (integer < -(2 ** 31) || integer >= 2 ** 31)) {
    throw invalid(tag, vr, `received ${JSON.stringify(text)}, expected a 32-bit signed integer`);
  }
}

function isTextVr(vr: DicomVR): boolean {
  return BINARY_SIZE[vr] === undefined && vr !== 'OB' && vr !== 'OW' && vr !== 'SQ';
}

interface EncodeContext {
  explicit: boolean;
  /** Whether the data set declares UTF-8; without it, non-ASCII text would be mis-decoded. */
  utf8: boolean;
}

function encodeText(element: DicomElement, context: EncodeContext): Uint8Array {
  const { tag, vr, value } = element;
  let values: (string | number)[];
  if (typeof value === 'string' || typeof value === 'number') values = [value];
  else if (
    Array.isArray(value) &&
    value.every((v) => typeof v === 'string' || typeof v === 'number')
  )
    values = value;
  else throw invalid(tag, vr, 'expected a string, a number or an array of them');
  if (values.length > 1 && SINGLE_VALUED_TEXT.has(vr)) {
    throw invalid(tag, vr, `received ${values.length} values, expected one`);
  }
  const texts = values.map((v) => formatTextValue(tag, vr, v));
  for (const text of texts) checkTextValue(tag, vr, text, !SINGLE_VALUED_TEXT.has(vr));
  const joined = texts.join('\\');
  // eslint-disable-next-line no-control-regex -- ASCII is exactly the range checked here
  if (!context.utf8 && /[^\x00-\x7f]/.test(joined)) {
    throw invalid(
      tag,
      vr,
      `value ${JSON.stringify(joined.slice(0, 40))} is not ASCII; add SpecificCharacterSet (0008,0005) "ISO_IR 192"`,
    );
  }
  const bytes = Buffer.from(joined, 'utf8');
  if (bytes.length % 2 === 0) return bytes;
  const padded = Buffer.alloc(bytes.length + 1, vr === 'UI' ? 0 : 0x20);
  bytes.copy(padded);
  return padded;
}

function encodeBinaryNumbers(element: DicomElement): Uint8Array {
  const { tag, vr, value } = element;
  const size = BINARY_SIZE[vr];
  const range = BINARY_RANGE[vr];
  if (size === undefined || range === undefined) throw invalid(tag, vr, 'not a binary number VR');
  const values =
    typeof value === 'number'
      ? [value]
      : Array.isArray(value) && value.every((v) => typeof v === 'number')
        ? value
        : undefined;
  if (values === undefined) throw invalid(tag, vr, 'expected a number or an array of numbers');
  const out = Buffer.alloc(values.length * size);
  values.forEach((v, index) => {
    if (
      !Number.isFinite(v) ||
      v < range.min ||
      v > range.max ||
      (range.integer && !Number.isInteger(v))
    ) {
      throw invalid(
        tag,
        vr,
        `received ${v}, expected ${range.integer ? 'an integer' : 'a number'} in [${range.min}, ${range.max}]`,
      );
    }
    const offset = index * size;
    if (vr === 'US') out.writeUInt16LE(v, offset);
    else if (vr === 'SS') out.writeInt16LE(v, offset);
    else if (vr === 'UL') out.writeUInt32LE(v, offset);
    else if (vr === 'FL') out.writeFloatLE(v, offset);
    else out.writeDoubleLE(v, offset);
  });
  return out;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function encodeOther(element: DicomElement): Uint8Array {
  const { tag, vr, value } = element;
  if (!(
    value instanceof Uint8Array ||
    value instanceof Uint16Array ||
    value instanceof Int16Array
  )) {
    throw invalid(tag, vr, 'expected a Uint8Array, Uint16Array or Int16Array');
  }
  if (vr === 'OB' && !(value instanceof Uint8Array)) {
    throw invalid(tag, vr, `received a ${value.constructor.name}, expected a Uint8Array for OB`);
  }
  const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof Uint8Array) {
    if (bytes.length % 2 === 0) return bytes;
    if (vr === 'OW')
      throw invalid(tag, vr, `received ${bytes.length} bytes, expected an even count`);
    return Buffer.concat([bytes, Buffer.alloc(1)]);
  }
  // The data is little endian on disk; only a big-endian host must swap, on a copy.
  return LITTLE_ENDIAN_HOST ? bytes : Buffer.from(bytes).swap16();
}

function header(tag: number, vr: DicomVR, length: number, explicit: boolean): Uint8Array {
  const long = !explicit || LONG_LENGTH_VRS.has(vr);
  const out = Buffer.alloc(explicit ? (long ? 12 : 8) : 8);
  out.writeUInt16LE(tag >>> 16, 0);
  out.writeUInt16LE(tag & 0xffff, 2);
  if (!explicit) {
    out.writeUInt32LE(length, 4);
    return out;
  }
  out.write(vr, 4, 'latin1');
  if (long) out.writeUInt32LE(length, 8);
  else if (length > 0xfffe) throw invalid(tag, vr, `value is ${length} bytes, max 65534 for ${vr}`);
  else out.writeUInt16LE(length, 6);
  return out;
}

function checkTags(elements: readonly DicomElement[], where: string): DicomElement[] {
  const sorted = [...elements].sort((a, b) => (a.tag >>> 0) - (b.tag >>> 0));
  for (let index = 0; index < sorted.length; index += 1) {
    const element = sorted[index] as DicomElement;
    const { tag, vr } = element;
    if (!Number.isInteger(tag) || tag < 0 || tag > 0xffffffff) {
      throw new EtlError('INTERNAL', `DICOM tag ${String(tag)} in ${where} is not a 32-bit tag`);
    }
    const group = tag >>> 16;
    if (group === 0x0002 || group === 0xfffe) {
      throw invalid(
        tag,
        vr,
        `group ${group.toString(16).padStart(4, '0')} is written by the writer itself`,
      );
    }
    if ((tag & 0xffff) === 0) {
      throw invalid(tag, vr, 'group length elements are retired in data sets; leave them out');
    }
    if (index > 0 && (sorted[index - 1] as DicomElement).tag === tag) {
      throw invalid(tag, vr, `appears twice in ${where}`);
    }
  }
  return sorted;
}

function encodeElement(element: DicomElement, context: EncodeContext): Uint8Array[] {
  const { tag, vr, value } = element;
  if (vr === 'SQ') {
    if (!Array.isArray(value) || !value.every((item) => Array.isArray(item))) {
      throw invalid(tag, vr, 'expected an array of items, each an array of elements');
    }
    const chunks: Uint8Array[] = [];
    for (const [index, item] of (value as readonly (readonly DicomElement[])[]).entries()) {
      const itemChunks = encodeElements(
        checkTags(item, `item ${index + 1} of ${formatTag(tag)}`),
        context,
      );
      const itemLength = itemChunks.reduce((sum, chunk) => sum + chunk.length, 0);
      chunks.push(header(ITEM_TAG, 'SQ', itemLength, false), ...itemChunks);
    }
    const length = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    return [header(tag, vr, length, context.explicit), ...chunks];
  }
  const body =
    vr === 'OB' || vr === 'OW'
      ? encodeOther(element)
      : isTextVr(vr)
        ? encodeText(element, context)
        : encodeBinaryNumbers(element);
  return [header(tag, vr, body.length, context.explicit), body];
}

function encodeElements(sorted: readonly DicomElement[], context: EncodeContext): Uint8Array[] {
  return sorted.flatMap((element) => encodeElement(element, context));
}

/** What the file meta information says of the data set that follows it. */
export interface FileMetaIdentity {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
}

/**
 * The preamble, "DICM" and the file meta information (PS3.10 7.1) for a data set, with its
 * group length. The de-identifier writes the meta of its rewritten files with it.
 */
export function part10Prefix(identity: FileMetaIdentity): Uint8Array {
  const context: EncodeContext = { explicit: true, utf8: false };
  const body = encodeElements(
    [
      { tag: 0x00020001, vr: 'OB', value: new Uint8Array([0, 1]) },
      { tag: 0x00020002, vr: 'UI', value: identity.sopClassUid },
      { tag: 0x00020003, vr: 'UI', value: identity.sopInstanceUid },
      { tag: 0x00020010, vr: 'UI', value: identity.transferSyntaxUid },
      { tag: 0x00020012, vr: 'UI', value: IMPLEMENTATION_CLASS_UID },
      { tag: 0x00020013, vr: 'SH', value: IMPLEMENTATION_VERSION_NAME },
    ],
    context,
  );
  const length = body.reduce((sum, chunk) => sum + chunk.length, 0);
  const preamble = new Uint8Array(132);
  preamble.set([0x44, 0x49, 0x43, 0x4d], 128);
  return Buffer.concat([
    preamble,
    ...encodeElement({ tag: 0x00020000, vr: 'UL', value: length }, context),
    ...body,
  ]);
}

function withSopIdentity(dataset: Part10Dataset): DicomElement[] {
  const identity: [number, string][] = [
    [SOP_CLASS_UID_TAG, dataset.sopClassUid],
    [SOP_INSTANCE_UID_TAG, dataset.sopInstanceUid],
  ];
  const elements = [...dataset.elements];
  for (const [tag, uid] of identity) {
    const given = elements.find((element) => element.tag === tag);
    if (given === undefined) elements.push({ tag, vr: 'UI', value: uid });
    else if (given.value !== uid) {
      throw invalid(
        tag,
        'UI',
        `received ${JSON.stringify(given.value)}, expected ${uid} as in the file meta`,
      );
    }
  }
  return elements;
}

/** Serializes one data set as a DICOM Part 10 file (preamble, DICM, file meta, data set). */
export function writePart10(dataset: Part10Dataset): Uint8Array {
  if (!(dataset.transferSyntax in TRANSFER_SYNTAX_UID)) {
    throw new EtlError(
      'INTERNAL',
      `transfer syntax ${JSON.stringify(dataset.transferSyntax)} is not one of ${Object.keys(TRANSFER_SYNTAX_UID).join(', ')}`,
    );
  }
  const sorted = checkTags(withSopIdentity(dataset), 'the data set');
  const charset = sorted.find((element) => element.tag === SPECIFIC_CHARACTER_SET_TAG)?.value;
  const context: EncodeContext = {
    explicit: dataset.transferSyntax === 'explicit-le',
    utf8: charset === 'ISO_IR 192',
  };
  const prefix = part10Prefix({
    sopClassUid: dataset.sopClassUid,
    sopInstanceUid: dataset.sopInstanceUid,
    transferSyntaxUid: TRANSFER_SYNTAX_UID[dataset.transferSyntax],
  });
  return Buffer.concat([prefix, ...encodeElements(sorted, context)]);
}
