import { EtlError } from '../../domain/errors.js';

/**
 * Encapsulated Pixel Data (PS3.5 A.4): a Basic Offset Table item, then fragments, then a
 * Sequence Delimitation Item. Every length and offset comes from the file, so each one is checked
 * against the bytes actually present before it is used, and nothing is allocated from a header
 * value: a frame is a view into the file, or the concatenation of fragments that exist.
 */

const ITEM = 0xe000;
const SEQUENCE_DELIMITER = 0xe0dd;
const ITEM_GROUP = 0xfffe;
const ITEM_HEADER = 8;

/** Where one fragment's value lies in the file. */
interface Fragment {
  /** Offset of the item header, which is what offset tables point at. */
  item: number;
  start: number;
  end: number;
}

export interface EncapsulatedPixelData {
  /** Frame `index` (0-based) as one contiguous codestream. */
  frame(index: number): Uint8Array;
  readonly frames: number;
}

/** The Extended Offset Table (7FE0,0001) and its lengths (7FE0,0002), raw OV values. */
export interface ExtendedOffsets {
  offsets: Uint8Array;
  lengths: Uint8Array | undefined;
}

function invalid(message: string): EtlError {
  return new EtlError('DICOM_INVALID', message);
}

function truncated(message: string): EtlError {
  return new EtlError('DICOM_TRUNCATED', message, {
    hint: 'fetch the file again; the stored copy is incomplete',
  });
}

function hex(value: number): string {
  return value.toString(16).toUpperCase().padStart(4, '0');
}

function readItems(
  bytes: Uint8Array,
  dataOffset: number,
): { table: Fragment; fragments: Fragment[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const items: Fragment[] = [];
  let offset = dataOffset;
  for (;;) {
    if (offset + ITEM_HEADER > bytes.length) {
      // A file cut right after its last fragment still holds every frame it has.
      if (offset === bytes.length && items.length > 1) break;
      throw truncated(
        `file ends at byte ${bytes.length} inside encapsulated Pixel Data, before item ${items.length}`,
      );
    }
    const group = view.getUint16(offset, true);
    const element = view.getUint16(offset + 2, true);
    const length = view.getUint32(offset + 4, true);
    if (group === ITEM_GROUP && element === SEQUENCE_DELIMITER) break;
    if (group !== ITEM_GROUP || element !== ITEM) {
      throw invalid(
        `encapsulated Pixel Data has tag (${hex(group)},${hex(element)}) at byte ${offset} where an item (FFFE,E000) belongs`,
      );
    }
    const start = offset + ITEM_HEADER;
    if (length > bytes.length - start) {
      throw truncated(
        `encapsulated Pixel Data item ${items.length} declares ${length} bytes at byte ${start}, but the file ends at byte ${bytes.length}`,
      );
    }
    items.push({ item: offset, start, end: start + length });
    offset = start + length;
  }
  const [table, ...fragments] = items;
  if (table === undefined)
    throw invalid('encapsulated Pixel Data lacks its Basic Offset Table item');
  return { table, fragments };
}

function basicOffsets(bytes: Uint8Array, table: Fragment): number[] {
  const length = table.end - table.start;
  if (length % 4 !== 0) {
    throw invalid(`Basic Offset Table has ${length} bytes, not a multiple of 4`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + table.start, length);
  return Array.from({ length: length / 4 }, (_, i) => view.getUint32(i * 4, true));
}

function extendedOffsets(extended: ExtendedOffsets): number[] {
  const { offsets } = extended;
  if (offsets.length % 8 !== 0) {
    throw invalid(`Extended Offset Table has ${offsets.length} bytes, not a multiple of 8`);
  }
  const view = new DataView(offsets.buffer, offsets.byteOffset, offsets.length);
  return Array.from({ length: offsets.length / 8 }, (_, i) => {
    const value = view.getBigUint64(i * 8, true);
    // Past 2^53 no file can reach it; Number() would silently round it into range.
    return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.POSITIVE_INFINITY : Number(value);
  });
}

/** Codestream signatures a frame starts with: JPEG SOI, JPEG 2000 SOC+SIZ. */
function startsCodestream(bytes: Uint8Array, fragment: Fragment): boolean {
  const [a, b, c, d] = [0, 1, 2, 3].map((i) => bytes[fragment.start + i]);
  return a === 0xff && (b === 0xd8 || (b === 0x4f && c === 0xff && d === 0x51));
}

/** Groups fragments into frames by the table's offsets, each of which must open a fragment. */
function groupByOffsets(
  fragments: Fragment[],
  offsets: number[],
  frames: number,
  name: string,
): Fragment[][] {
  if (offsets.length !== frames) {
    throw invalid(`${name} has ${offsets.length} entries for ${frames} frames`);
  }
  const base = fragments[0]?.item ?? 0;
  const firstFragment = offsets.map((offset, frame) => {
    const index = fragments.findIndex((fragment) => fragment.item - base === offset);
    if (index < 0) {
      throw invalid(`${name} entry ${frame + 1} (${offset}) does not point at a fragment`);
    }
    return index;
  });
  return firstFragment.map((first, frame) => {
    const next = firstFragment[frame + 1] ?? fragments.length;
    if (next <= first) {
      throw invalid(`${name} entries ${frame + 1} and ${frame + 2} are not ascending`);
    }
    return fragments.slice(first, next);
  });
}

/** Without a table, a frame begins at each fragment that opens a codestream (PS3.5 A.4). */
function groupByCodestream(bytes: Uint8Array, fragments: Fragment[], frames: number): Fragment[][] {
  const groups: Fragment[][] = [];
  for (const fragment of fragments) {
    const current = groups.at(-1);
    if (current === undefined || (groups.length < frames && startsCodestream(bytes, fragment))) {
      groups.push([fragment]);
    } else {
      current.push(fragment);
    }
  }
  if (groups.length !== frames) {
    throw invalid(
      `encapsulated Pixel Data has ${fragments.length} fragments and no offset table, but only ${groups.length} of its ${frames} frames could be located`,
    );
  }
  return groups;
}

/** Frames cut by the Extended Offset Table's lengths, which may end inside a fragment list. */
function checkExtendedLengths(groups: Fragment[][], lengths: Uint8Array): void {
  if (lengths.length !== groups.length * 8) {
    throw invalid(
      `Extended Offset Table Lengths has ${lengths.length / 8} entries for ${groups.length} frames`,
    );
  }
  const view = new DataView(lengths.buffer, lengths.byteOffset, lengths.length);
  groups.forEach((group, frame) => {
    const length = view.getBigUint64(frame * 8, true);
    const available = group.reduce((sum, f) => sum + f.end - f.start, 0);
    if (length > BigInt(available)) {
      throw invalid(
        `Extended Offset Table Lengths gives frame ${frame + 1} ${length} bytes, but its fragments hold ${available}`,
      );
    }
  });
}

function frameBytes(bytes: Uint8Array, group: Fragment[]): Uint8Array {
  const [only] = group;
  if (group.length === 1 && only !== undefined) return bytes.subarray(only.start, only.end);
  const total = group.reduce((sum, fragment) => sum + fragment.end - fragment.start, 0);
  const joined = new Uint8Array(total);
  let at = 0;
  for (const fragment of group) {
    joined.set(bytes.subarray(fragment.start, fragment.end), at);
    at += fragment.end - fragment.start;
  }
  return joined;
}

/**
 * Indexes the fragments of encapsulated Pixel Data whose first item header is at `dataOffset`.
 * Frames are located by the Extended Offset Table if given, else the Basic Offset Table, else
 * one frame per fragment, else codestream signatures; the bytes are copied only for a frame that
 * spans several fragments, and only when that frame is asked for.
 */
export function readEncapsulated(
  bytes: Uint8Array,
  dataOffset: number,
  frames: number,
  extended?: ExtendedOffsets,
): EncapsulatedPixelData {
  const { table, fragments } = readItems(bytes, dataOffset);
  if (fragments.length === 0) throw invalid('encapsulated Pixel Data has no fragments');
  let groups: Fragment[][];
  if (extended !== undefined) {
    groups = groupByOffsets(fragments, extendedOffsets(extended), frames, 'Extended Offset Table');
    if (extended.lengths !== undefined) checkExtendedLengths(groups, extended.lengths);
  } else if (table.end > table.start) {
    groups = groupByOffsets(fragments, basicOffsets(bytes, table), frames, 'Basic Offset Table');
  } else if (frames === 1) {
    groups = [fragments];
  } else if (fragments.length === frames) {
    groups = fragments.map((fragment) => [fragment]);
  } else {
    groups = groupByCodestream(bytes, fragments, frames);
  }
  return {
    frames: groups.length,
    frame(index) {
      const group = groups[index];
      if (group === undefined) {
        throw invalid(`frame ${index + 1} requested from ${groups.length} encapsulated frames`);
      }
      return frameBytes(bytes, group);
    },
  };
}
