import type { DataSet } from 'dicom-parser';
import { EtlError } from '../domain/errors.js';
import { formatTag } from '../dicom/parse.js';
import { readDescriptor, readEntries } from './lut-data.js';

/** PALETTE COLOR lookup tables reduced to 8 bits per channel (PS3.3 C.7.6.3.1.5). */
export interface Palette {
  /** Stored value mapped to entry 0; values outside the table take its first or last entry. */
  first: number;
  red: Uint8Array;
  green: Uint8Array;
  blue: Uint8Array;
}

const CHANNELS = [
  { name: 'Red', descriptor: 'x00281101', data: 'x00281201', segmented: 'x00281221' },
  { name: 'Green', descriptor: 'x00281102', data: 'x00281202', segmented: 'x00281222' },
  { name: 'Blue', descriptor: 'x00281103', data: 'x00281203', segmented: 'x00281223' },
] as const;

function invalid(message: string): EtlError {
  return new EtlError('DICOM_INVALID', message);
}

/**
 * Expands Segmented Palette Color LUT Data (C.7.9.2): discrete segments (opcode 0) copy their
 * values, linear ones (1) ramp from the previous value to theirs, indirect ones (2) replay
 * earlier segments. Indirect segments may not nest, which bounds the work; the output is capped
 * at the descriptor's entry count, which bounds the memory.
 */
function expandSegments(words: Uint16Array, count: number, name: string): Uint16Array {
  const out = new Uint16Array(count);
  let filled = 0;
  const push = (value: number) => {
    if (filled < count) out[filled] = value;
    filled += 1;
  };
  const run = (from: number, to: number, segmentLimit: number, nested: boolean): void => {
    let at = from;
    let segments = 0;
    while (at < to && segments < segmentLimit) {
      const opcode = words[at]!;
      const length = words[at + 1] ?? 0;
      segments += 1;
      if (opcode === 0) {
        for (let i = 0; i < length; i += 1) push(words[at + 2 + i] ?? 0);
        at += 2 + length;
      } else if (opcode === 1) {
        const start = filled > 0 ? out[Math.min(filled, count) - 1]! : 0;
        const end = words[at + 2] ?? 0;
        for (let i = 1; i <= length; i += 1) push(Math.round(start + ((end - start) * i) / length));
        at += 3;
      } else if (opcode === 2 && !nested) {
        const offset = (words[at + 2] ?? 0) + (words[at + 3] ?? 0) * 0x10000;
        run(offset, words.length, length, true);
        at += 4;
      } else {
        throw invalid(`${name} has an invalid segment (opcode ${opcode}) at word ${at}`);
      }
      if (filled > count) throw invalid(`${name} expands to more than ${count} entries`);
    }
  };
  run(0, words.length, Infinity, false);
  if (filled < count) throw invalid(`${name} expands to ${filled} entries, ${count} expected`);
  return out;
}

function to8Bits(entries: Uint16Array, bits: number): Uint8Array {
  if (bits <= 8) return Uint8Array.from(entries);
  const top = 2 ** bits - 1;
  return Uint8Array.from(entries, (value) => Math.round((value * 255) / top));
}

/** Reads the palette of a PALETTE COLOR image; its stored values may be signed. */
export function readPalette(dataSet: DataSet, signed: boolean): Palette {
  const channels = CHANNELS.map((channel) => {
    const name = `${channel.name} Palette Color LUT`;
    const descriptor = readDescriptor(dataSet, channel.descriptor, `${name} Descriptor`, signed);
    if (descriptor === undefined) {
      throw invalid(`${name} Descriptor ${formatTag(channel.descriptor)} is missing`);
    }
    const segmented = dataSet.elements[channel.segmented];
    const entries =
      segmented !== undefined && dataSet.elements[channel.data] === undefined
        ? expandSegments(
            readEntries(dataSet, channel.segmented, `Segmented ${name} Data`, {
              count: segmented.length >>> 1,
              bits: 16,
            }),
            descriptor.count,
            `Segmented ${name} Data ${formatTag(channel.segmented)}`,
          )
        : readEntries(dataSet, channel.data, `${name} Data`, descriptor);
    return { first: descriptor.first, data: to8Bits(entries, descriptor.bits) };
  });
  const [red, green, blue] = channels as [
    (typeof channels)[0],
    (typeof channels)[0],
    (typeof channels)[0],
  ];
  if (red.first !== green.first || red.first !== blue.first) {
    throw invalid('Palette Color LUT Descriptors map different first values');
  }
  return { first: red.first, red: red.data, green: green.data, blue: blue.data };
}
