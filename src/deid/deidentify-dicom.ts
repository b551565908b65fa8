import { part10Prefix } from '../dicom/writer.js';
import { EtlError } from '../domain/errors.js';
import { LONG_VRS, parseDicom } from '../dicom/parse.js';
import { shiftDa, shiftDt } from './date-shift.js';
import {
  ITEM,
  ITEM_END,
  readElementTree,
  SEQUENCE_END,
  type DicomNode,
} from '../dicom/element-tree.js';
import { elementAction, type ProfileOverrides } from './profile.js';
import { PROFILE_EDITION } from './profile-table.js';
import { Pseudonymizer } from './pseudonyms.js';
import { noFacts, scrubText } from './report-scrubber.js';
import type { PhiFacts, PseudonymPair } from '../domain/deid.js';

/**
 * De-identifies one DICOM file: PS3.15 Basic Application Level Confidentiality Profile with the
 * Retain Longitudinal Temporal Information with Modified Dates and Clean Descriptors options
 * (src/deid/profile-table.ts), pseudonyms and date shifts from one secret. The data set is
 * rewritten element by element: kept elements are copied byte for byte (encapsulated pixel data
 * included), sequences are rewritten recursively with undefined lengths, and the file meta is
 * regenerated for the new SOP Instance UID.
 */

export interface DeidOptions {
  /** The key every pseudonym and date shift derives from. */
  secret: string;
  /** Tags as 8 hex digits, e.g. "00101010" (--deid-keep, --deid-remove). */
  keep: readonly string[];
  remove: readonly string[];
}

export interface DeidentifiedDicom {
  bytes: Uint8Array;
  /** What the original header said, for scrubbing the study's report (never uploaded). */
  facts: PhiFacts;
  /** Real → pseudonym pairs this file used, for the data steward's map. */
  pseudonyms: PseudonymPair[];
}

/** The options a de-identified file declares (CID 7050), in De-identification Method Code Sequence. */
export const DEID_METHOD_CODES = [
  { code: '113100', meaning: 'Basic Application Confidentiality Profile' },
  { code: '113107', meaning: 'Retain Longitudinal Temporal Information Modified Dates Option' },
  { code: '113105', meaning: 'Clean Descriptors Option' },
] as const;

const DEID_METHOD = `DICOM PS3.15 ${PROFILE_EDITION} E.1-1 Basic Profile`;

export const DEID_PROFILE_NAME = `Basic Application Level Confidentiality Profile, DICOM PS3.15 Annex E (Table E.1-1, edition ${PROFILE_EDITION})`;

const PATIENT_ID = 0x00100020;
const ACCESSION_NUMBER = 0x00080050;
const PATIENT_AGE = 0x00101010;
const SOP_CLASS_UID = 0x00080016;
const SOP_INSTANCE_UID = 0x00080018;

/** Header attributes whose values are looked for in the report text, by kind. */
const FACT_TAGS: Record<Exclude<keyof PhiFacts, 'names' | 'dateShiftDays'>, readonly number[]> = {
  ids: [
    PATIENT_ID,
    0x00101000, // Other Patient IDs
    ACCESSION_NUMBER,
    0x00200010, // Study ID
    0x00380010, // Admission ID
    0x00401001, // Requested Procedure ID
    0x00400253, // Performed Procedure Step ID
    0x00400009, // Scheduled Procedure Step ID
    0x00402016, // Placer Order Number
    0x00402017, // Filler Order Number
    0x00101090, // Medical Record Locator
    0x00380060, // Service Episode ID
    0x00120040, // Clinical Trial Subject ID
  ],
  institutions: [0x00080080, 0x00081040, 0x00102299, 0x0040a027, 0x00404036],
  addresses: [0x00080081, 0x00101040, 0x00080092, 0x00401102, 0x4008011a],
  phones: [0x00102154, 0x00080094, 0x00401103, 0x00402010],
};

const FACT_KIND = new Map<number, keyof typeof FACT_TAGS>();
for (const [kind, tags] of Object.entries(FACT_TAGS) as [keyof typeof FACT_TAGS, number[]][]) {
  for (const tag of tags) FACT_KIND.set(tag, kind);
}

/** VRs a dummy value (D) is written in as text; any other VR gets a zero-length value. */
const DUMMY_TEXT_VRS: ReadonlySet<string> = new Set(['PN', 'LO', 'SH', 'ST', 'LT', 'UT']);

/** Replaced elements are ASCII or the original's own bytes, so latin1 round-trips either. */
const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');

function textValue(bytes: Uint8Array, node: DicomNode): string {
  return latin1(bytes.subarray(node.valueStart, node.valueEnd)).replace(/[\0 ]+$/, '');
}

function tagBytes(tag: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt16LE(tag >>> 16, 0);
  out.writeUInt16LE(tag & 0xffff, 2);
  return out;
}

function header(tag: number, vr: string | undefined, length: number, explicit: boolean): Buffer {
  if (!explicit || vr === undefined) {
    const out = Buffer.alloc(8);
    tagBytes(tag).copy(out);
    out.writeUInt32LE(length >>> 0, 4);
    return out;
  }
  const long = LONG_VRS.includes(vr);
  const out = Buffer.alloc(long ? 12 : 8);
  tagBytes(tag).copy(out);
  out.write(vr, 4, 'latin1');
  if (long) out.writeUInt32LE(length >>> 0, 8);
  else out.writeUInt16LE(length, 6);
  return out;
}

function textElement(tag: number, vr: string | undefined, text: string, explicit: boolean): Buffer {
  let value = Buffer.from(text, 'latin1');
  if (value.length % 2 === 1)
    value = Buffer.concat([value, Buffer.from(vr === 'UI' ? [0] : [0x20])]);
  return Buffer.concat([header(tag, vr, value.length, explicit), value]);
}

function sequenceElement(
  tag: number,
  vr: string | undefined,
  items: readonly Buffer[][],
  explicit: boolean,
): Buffer {
  const chunks: Buffer[] = [header(tag, vr ?? 'SQ', 0xffffffff, explicit)];
  for (const item of items) {
    chunks.push(
      header(ITEM, undefined, 0xffffffff, false),
      ...item,
      header(ITEM_END, undefined, 0, false),
    );
  }
  chunks.push(header(SEQUENCE_END, undefined, 0, false));
  return Buffer.concat(chunks);
}

/** Ages above 89 become one bucket, 090Y (HIPAA Safe Harbor: "90 or older"). */
function bucketAge(age: string): string {
  const match = /^(\d{3})Y$/.exec(age);
  return match !== null && Number(match[1]) > 89 ? '090Y' : age;
}

class Rewriter {
  readonly facts: PhiFacts = noFacts();
  readonly pseudonyms = new Map<string, PseudonymPair>();

  constructor(
    private readonly bytes: Uint8Array,
    private readonly pseudo: Pseudonymizer,
    private readonly overrides: ProfileOverrides,
  ) {}

  /** First pass: what the header says about people, places and identifiers. */
  collect(nodes: readonly DicomNode[]): void {
    for (const node of nodes) {
      if (node.items !== undefined) {
        for (const item of node.items) this.collect(item);
        continue;
      }
      const action = elementAction(node.tag, node.vr, this.overrides);
      const kind = FACT_KIND.get(node.tag);
      if (action.vr === 'PN' || kind !== undefined) {
        const values = textValue(this.bytes, node)
          .split('\\')
          .map((value) => value.trim())
          .filter((value) => value !== '');
        (action.vr === 'PN' ? this.facts.names : this.facts[kind ?? 'ids']).push(...values);
      }
    }
  }

  #remember(kind: 'patient' | 'accession' | 'uid', real: string, pseudonym: string): string {
    this.pseudonyms.set(`${kind}\0${real}`, { kind, real, pseudonym });
    return pseudonym;
  }

  /** Second pass: the rewritten elements of one data set (or item). */
  rewrite(nodes: readonly DicomNode[], explicit: boolean): Buffer[] {
    const out: Buffer[] = [];
    for (const node of nodes) {
      const chunk = this.element(node, explicit);
      if (chunk !== undefined) out.push(chunk);
    }
    return out;
  }

  private element(node: DicomNode, explicit: boolean): Buffer | undefined {
    const { tag } = node;
    const action = elementAction(tag, node.vr, this.overrides);
    const vr = node.vr ?? action.vr;
    const original = () => Buffer.from(this.bytes.subarray(node.start, node.end));
    const days = this.facts.dateShiftDays ?? 0;
    if (action.code === 'X') return undefined;
    if (node.items !== undefined) {
      // Kept by the user: as it is. Zeroed or dummied: empty. Otherwise cleaned recursively.
      if (action.reason === '--deid-keep') return original();
      if (action.code === 'Z' || action.code === 'D') return header(tag, vr, 0, explicit);
      const itemsExplicit = explicit && node.implicitItems !== true;
      return sequenceElement(
        tag,
        node.vr,
        node.items.map((item) => this.rewrite(item, itemsExplicit)),
        explicit,
      );
    }
    if (node.encapsulated === true) return original();
    const text = () => textValue(this.bytes, node);
    if (tag === PATIENT_ID || tag === ACCESSION_NUMBER) {
      if (action.code === 'K') return original();
      const real = text();
      if (real === '') return header(tag, vr, 0, explicit);
      const kind = tag === PATIENT_ID ? 'patient' : 'accession';
      return textElement(
        tag,
        vr,
        this.#remember(kind, real, this.pseudo.pseudonym(kind, real)),
        explicit,
      );
    }
    switch (action.code) {
      case 'K':
        return tag === PATIENT_AGE ? textElement(tag, vr, bucketAge(text()), explicit) : original();
      case 'Z':
        return header(tag, vr, 0, explicit);
      case 'D':
        return vr !== undefined && DUMMY_TEXT_VRS.has(vr)
          ? textElement(tag, vr, 'ANONYMIZED', explicit)
          : header(tag, vr, 0, explicit);
      case 'U': {
        const uids = text()
          .split('\\')
          .map((uid) => uid.replace(/\0/g, '').trim())
          .map((uid) => (uid === '' ? '' : this.#remember('uid', uid, this.pseudo.uid(uid))));
        return textElement(tag, vr ?? 'UI', uids.join('\\'), explicit);
      }
      case 'C': {
        if (vr === 'DA') {
          const values = text()
            .split('\\')
            .map((value) => shiftDa(value, days));
          return textElement(tag, vr, values.join('\\'), explicit);
        }
        if (vr === 'DT') {
          const values = text()
            .split('\\')
            .map((value) => shiftDt(value, days));
          return textElement(tag, vr, values.join('\\'), explicit);
        }
        if (vr === 'TM') return original();
        return textElement(tag, vr, scrubText(text(), this.facts).text, explicit);
      }
    }
  }
}

/** The elements every de-identified file gets, replacing any the original had. */
function markers(explicit: boolean): Map<number, Buffer> {
  const code = (value: string, meaning: string) => [
    textElement(0x00080100, 'SH', value, explicit),
    textElement(0x00080102, 'SH', 'DCM', explicit),
    textElement(0x00080104, 'LO', meaning, explicit),
  ];
  return new Map([
    [0x00120062, textElement(0x00120062, 'CS', 'YES', explicit)],
    [0x00120063, textElement(0x00120063, 'LO', DEID_METHOD, explicit)],
    [
      0x00120064,
      sequenceElement(
        0x00120064,
        'SQ',
        DEID_METHOD_CODES.map((entry) => code(entry.code, entry.meaning)),
        explicit,
      ),
    ],
    // Longitudinal Temporal Information Modified: the dates were shifted (E.3.6).
    [0x00280303, textElement(0x00280303, 'CS', 'MODIFIED', explicit)],
  ]);
}

function unsupported(message: string): EtlError {
  return new EtlError('DEID_UNSUPPORTED', message, {
    hint: 'convert the file to explicit VR little endian (dcmconv +te) at the source, or leave it out of the selection',
  });
}

/**
 * Returns the de-identified file, the header facts the report scrubber needs and the
 * pseudonyms used. Throws what parseDicom throws for a damaged file, and DEID_UNSUPPORTED for a
 * deflated or big endian data set (which this rewriter does not write).
 */
export function deidentifyDicom(bytes: Uint8Array, options: DeidOptions): DeidentifiedDicom {
  const { dataSet, transferSyntax } = parseDicom(bytes);
  // The bytes the element offsets refer to: the file, or the data set alone when the parser had
  // to read it apart from the file meta. The meta is written anew below either way.
  const source = dataSet.byteArray;
  if (transferSyntax.encoding === 'deflated' || transferSyntax.encoding === 'explicit-be') {
    throw unsupported(`cannot de-identify a data set in ${transferSyntax.name}`);
  }
  // A bare data set's meta holds only the transfer syntax dicom-parser was told, at no offset.
  const metaEnds = Object.values(dataSet.elements)
    .filter((element) => element.tag.startsWith('x0002') && element.dataOffset !== undefined)
    .map((element) => element.dataOffset + element.length);
  const explicit = transferSyntax.encoding === 'explicit-le';
  // After the file meta information, or at 0 for a bare data set.
  const start = metaEnds.length === 0 ? 0 : Math.max(...metaEnds);
  const nodes = readElementTree(source, start, explicit);
  const overrides: ProfileOverrides = {
    keep: new Set(options.keep.map((tag) => parseInt(tag, 16))),
    remove: new Set(options.remove.map((tag) => parseInt(tag, 16))),
  };
  const pseudo = new Pseudonymizer(options.secret);
  const rewriter = new Rewriter(source, pseudo, overrides);
  rewriter.collect(nodes);
  const patient = nodes.find((node) => node.tag === PATIENT_ID);
  rewriter.facts.dateShiftDays = pseudo.dateShiftDays(
    patient === undefined ? '' : textValue(source, patient),
  );
  const added = markers(explicit);
  const chunks: Buffer[] = [];
  const pending = [...added.keys()].sort((a, b) => a - b);
  for (const node of nodes) {
    while (pending.length > 0 && (pending[0] ?? 0) < node.tag) {
      chunks.push(added.get(pending.shift() ?? 0) as Buffer);
    }
    if (added.has(node.tag)) continue;
    chunks.push(...rewriter.rewrite([node], explicit));
  }
  for (const tag of pending) chunks.push(added.get(tag) as Buffer);

  const uidOf = (tag: number) => {
    const node = nodes.find((candidate) => candidate.tag === tag);
    return node === undefined ? '' : textValue(source, node).replace(/\0/g, '');
  };
  const sopInstanceUid = uidOf(SOP_INSTANCE_UID);
  const sopClassUid = uidOf(SOP_CLASS_UID);
  if (sopInstanceUid === '' || sopClassUid === '') {
    throw new EtlError('DICOM_INVALID', 'the data set lacks SOP Class UID or SOP Instance UID');
  }
  const prefix = part10Prefix({
    sopClassUid,
    sopInstanceUid: pseudo.uid(sopInstanceUid),
    transferSyntaxUid: transferSyntax.uid,
  });
  return {
    bytes: new Uint8Array(Buffer.concat([prefix, ...chunks])),
    facts: rewriter.facts,
    pseudonyms: [...rewriter.pseudonyms.values()],
  };
}
