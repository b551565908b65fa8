import type { DataSet, Element } from 'dicom-parser';
import { EtlError } from '../domain/errors.js';
import { formatTag } from '../dicom/parse.js';

/**
 * A lookup table as PS3.3 C.11.1.1.1 describes it (Modality LUT, VOI LUT, palette colour): the
 * entry for input x is entries[x − first], clamped to the first and last entries outside the
 * table.
 */
export interface LutTable {
  /** Input value mapped to the first entry. */
  first: number;
  entries: Uint16Array;
  /** Bits per entry (LUT Descriptor value 3): the output range is 0..2^bits − 1. */
  bits: number;
}

function invalid(message: string): EtlError {
  return new EtlError('DICOM_INVALID', message);
}

function words(dataSet: DataSet, element: Element): Uint16Array {
  const { byteArray } = dataSet;
  const count = element.length >>> 1;
  const out = new Uint16Array(count);
  for (let i = 0, at = element.dataOffset; i < count; i += 1, at += 2) {
    out[i] = byteArray[at]! | (byteArray[at + 1]! << 8);
  }
  return out;
}

/**
 * LUT Descriptor: number of entries (0 means 65536), first input value mapped, bits per entry.
 * The first value is US or SS by what the input can be; implicit VR cannot tell, so the caller
 * says whether a negative input is possible (`signedInput`) and the value is read as such.
 */
export function readDescriptor(
  dataSet: DataSet,
  tag: string,
  name: string,
  signedInput: boolean,
): { count: number; first: number; bits: number } | undefined {
  const element = dataSet.elements[tag];
  if (element === undefined || element.length === 0) return undefined;
  if (element.length !== 6) {
    throw invalid(`${name} ${formatTag(tag)} has ${element.length} bytes, expected 6`);
  }
  const [count, rawFirst, bits] = words(dataSet, element) as unknown as [number, number, number];
  const signed = element.vr === 'SS' || (element.vr !== 'US' && signedInput);
  const first = signed && rawFirst >= 0x8000 ? rawFirst - 0x10000 : rawFirst;
  if (bits < 1 || bits > 16) throw invalid(`${name} ${formatTag(tag)} has ${bits} bits per entry`);
  return { count: count === 0 ? 65536 : count, first, bits };
}

/**
 * LUT Data: 16-bit words, one entry each. 8-bit entries may also come packed two per word (the
 * form PS3.3 C.7.6.3.1.5 asks of palettes): a table exactly half as long as it should be is read
 * that way.
 */
export function readEntries(
  dataSet: DataSet,
  tag: string,
  name: string,
  descriptor: { count: number; bits: number },
): Uint16Array {
  const element = dataSet.elements[tag];
  if (element === undefined || element.length === 0) {
    throw invalid(`${name} ${formatTag(tag)} is missing`);
  }
  const { count, bits } = descriptor;
  const raw = words(dataSet, element);
  if (bits <= 8 && raw.length * 2 >= count && raw.length < count) {
    const bytes = dataSet.byteArray.subarray(element.dataOffset, element.dataOffset + count);
    return Uint16Array.from(bytes);
  }
  if (raw.length < count) {
    throw invalid(`${name} ${formatTag(tag)} has ${raw.length} entries, ${count} expected`);
  }
  const mask = 2 ** bits - 1;
  return raw.subarray(0, count).map((value) => value & mask);
}

/** A LUT from a (Modality or VOI) LUT Sequence item; undefined when the item has no descriptor. */
export function readLutItem(
  item: DataSet,
  name: string,
  signedInput: boolean,
): LutTable | undefined {
  const descriptor = readDescriptor(item, 'x00283002', `${name} LUT Descriptor`, signedInput);
  if (descriptor === undefined) return undefined;
  const entries = readEntries(item, 'x00283006', `${name} LUT Data`, descriptor);
  return { first: descriptor.first, entries, bits: descriptor.bits };
}

/** The data sets of a sequence's items; an empty list when the sequence is absent. */
export function sequenceItems(dataSet: DataSet, tag: string): DataSet[] {
  const items = dataSet.elements[tag]?.items ?? [];
  return items.flatMap((item) => (item.dataSet === undefined ? [] : [item.dataSet]));
}
