import { EtlError } from '../domain/errors.js';
import { LONG_VRS, truncated, VRS } from './parse.js';

/**
 * The element stream of a little endian data set as a tree of byte ranges, for a rewriter that
 * copies what it keeps byte for byte: sequences and items of defined or undefined length,
 * encapsulated pixel data as one opaque range (its fragments are never looked into).
 */

export interface DicomNode {
  /** (group << 16 | element) >>> 0. */
  tag: number;
  /** The VR as written (explicit VR); undefined in an implicit VR data set. */
  vr: string | undefined;
  /** Offsets in the file: header start, value start, value end, element end (after delimiters). */
  start: number;
  valueStart: number;
  valueEnd: number;
  end: number;
  /** The items of a sequence, each a list of elements; undefined for any other element. */
  items?: DicomNode[][];
  /** Items of this sequence are implicit VR (a UN sequence of undefined length, PS3.5 6.2.2). */
  implicitItems?: boolean;
  /** Encapsulated pixel data: copied as it is. */
  encapsulated?: boolean;
}

const UNDEFINED = 0xffffffff;
export const ITEM = 0xfffee000;
export const ITEM_END = 0xfffee00d;
export const SEQUENCE_END = 0xfffee0dd;
const PIXEL_DATA = 0x7fe00010;

function u16(bytes: Uint8Array, at: number): number {
  return (bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8);
}

function u32(bytes: Uint8Array, at: number): number {
  return (u16(bytes, at) + u16(bytes, at + 2) * 0x10000) >>> 0;
}

function tagAt(bytes: Uint8Array, at: number): number {
  return ((u16(bytes, at) << 16) | u16(bytes, at + 2)) >>> 0;
}

function hexTag(tag: number): string {
  const hex = tag.toString(16).toUpperCase().padStart(8, '0');
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}

function need(bytes: Uint8Array, at: number, count: number, what: string): void {
  if (at + count > bytes.length) {
    throw truncated(`file ends at byte ${bytes.length} inside ${what} at offset ${at}`);
  }
}

class Reader {
  constructor(private readonly bytes: Uint8Array) {}

  /** Elements from `at` up to `end`, or up to an item delimiter when `inItem` (undefined length). */
  elements(at: number, end: number, explicit: boolean, inItem: boolean): [DicomNode[], number] {
    const nodes: DicomNode[] = [];
    let position = at;
    while (position < end) {
      need(this.bytes, position, 8, 'an element header');
      const tag = tagAt(this.bytes, position);
      if (tag === ITEM_END) {
        if (inItem) return [nodes, position + 8];
        throw new EtlError('DICOM_INVALID', `item delimiter outside an item at offset ${position}`);
      }
      const node = this.element(position, explicit, tag);
      nodes.push(node);
      position = node.end;
    }
    if (inItem) throw truncated(`file ends at byte ${end} inside an item of undefined length`);
    if (position > end) {
      throw new EtlError('DICOM_INVALID', `an element runs past the end of its item at ${end}`);
    }
    return [nodes, position];
  }

  private element(start: number, explicit: boolean, tag: number): DicomNode {
    const bytes = this.bytes;
    let vr: string | undefined;
    let length: number;
    let header: number;
    if (explicit && tag >>> 16 !== 0xfffe) {
      vr = String.fromCharCode(bytes[start + 4] ?? 0, bytes[start + 5] ?? 0);
      if (!VRS.has(vr)) {
        throw new EtlError(
          'DICOM_INVALID',
          `element ${hexTag(tag)} at offset ${start} has no valid VR (${JSON.stringify(vr)})`,
        );
      }
      if (LONG_VRS.includes(vr)) {
        need(bytes, start, 12, `element ${hexTag(tag)}`);
        length = u32(bytes, start + 8);
        header = 12;
      } else {
        length = u16(bytes, start + 6);
        header = 8;
      }
    } else {
      length = u32(bytes, start + 4);
      header = 8;
    }
    const valueStart = start + header;
    if (tag === PIXEL_DATA && length === UNDEFINED) {
      const end = this.encapsulatedEnd(valueStart);
      return { tag, vr, start, valueStart, valueEnd: end - 8, end, encapsulated: true };
    }
    const implicitSequence =
      vr === undefined && length !== UNDEFINED && length >= 8 && tagAt(bytes, valueStart) === ITEM;
    if (vr === 'SQ' || length === UNDEFINED || implicitSequence) {
      // A UN element of undefined length is a sequence encoded in implicit VR (PS3.5 6.2.2).
      const itemsExplicit = explicit && vr !== 'UN';
      const [items, valueEnd, end] = this.items(valueStart, length, itemsExplicit);
      return {
        tag,
        vr,
        start,
        valueStart,
        valueEnd,
        end,
        items,
        ...(itemsExplicit === explicit ? {} : { implicitItems: true }),
      };
    }
    const end = valueStart + length;
    need(bytes, valueStart, length, `the value of ${hexTag(tag)}`);
    return { tag, vr, start, valueStart, valueEnd: end, end };
  }

  private items(
    valueStart: number,
    length: number,
    explicit: boolean,
  ): [DicomNode[][], number, number] {
    const bytes = this.bytes;
    const defined = length !== UNDEFINED;
    const limit = defined ? valueStart + length : bytes.length;
    if (defined) need(bytes, valueStart, length, 'a sequence');
    const items: DicomNode[][] = [];
    let position = valueStart;
    for (;;) {
      if (defined && position >= limit) return [items, limit, limit];
      need(bytes, position, 8, 'a sequence');
      const tag = tagAt(bytes, position);
      if (tag === SEQUENCE_END && !defined) return [items, position, position + 8];
      if (tag !== ITEM) {
        throw new EtlError(
          'DICOM_INVALID',
          `expected an item in a sequence at offset ${position}, found ${hexTag(tag)}`,
        );
      }
      const itemLength = u32(bytes, position + 4);
      const [nodes, next] =
        itemLength === UNDEFINED
          ? this.elements(position + 8, limit, explicit, true)
          : this.elements(position + 8, position + 8 + itemLength, explicit, false);
      items.push(nodes);
      position = next;
    }
  }

  /** Past the sequence delimiter that closes encapsulated pixel data. */
  private encapsulatedEnd(at: number): number {
    let position = at;
    for (;;) {
      need(this.bytes, position, 8, 'encapsulated pixel data');
      const tag = tagAt(this.bytes, position);
      if (tag === SEQUENCE_END) return position + 8;
      if (tag !== ITEM) {
        throw new EtlError(
          'DICOM_INVALID',
          `expected a fragment in encapsulated pixel data at offset ${position}, found ${hexTag(tag)}`,
        );
      }
      position += 8 + u32(this.bytes, position + 4);
    }
  }
}

/** Reads the data set between `start` and the end of `bytes` as a tree of elements. */
export function readElementTree(bytes: Uint8Array, start: number, explicit: boolean): DicomNode[] {
  return new Reader(bytes).elements(start, bytes.length, explicit, false)[0];
}
