import { describe, expect, it } from 'vitest';
import { EtlError } from '../../../../src/domain/errors.js';
import { readEncapsulated } from '../../../../src/transform/codecs/encapsulated.js';
import { decodeRle } from '../../../../src/transform/codecs/rle.js';
import { grayDicom } from '../../../support/render-dicom.js';
import {
  convert,
  encapsulate,
  encapsulatedOffset,
  withPixelItems,
  withTempDir,
} from '../../../support/codec-corpus.js';

const rows = 48;
const columns = 40;
const frameCount = 3;

function noisyFrames(): Uint16Array {
  const pixels = new Uint16Array(rows * columns * frameCount);
  let seed = 7;
  for (let i = 0; i < pixels.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    pixels[i] = (seed >> 8) & 0xfff;
  }
  return pixels;
}

const source = noisyFrames();
const multiFrame = grayDicom({ rows, columns, pixels: source, bitsStored: 12, frames: frameCount });
const info = {
  rows,
  columns,
  bitsAllocated: 16,
  bitsStored: 12,
  signed: false,
  samplesPerPixel: 1,
} as const;

function sourceFrame(index: number): Uint16Array {
  return source.subarray(index * rows * columns, (index + 1) * rows * columns);
}

function errorOf(run: () => unknown): EtlError {
  try {
    run();
  } catch (error) {
    if (error instanceof EtlError) return error;
    throw error;
  }
  throw new Error('expected an EtlError');
}

describe('readEncapsulated', () => {
  it.each([
    ['with', '+ot'],
    ['without', '-ot'],
  ])('splits dcmcrle frames %s a Basic Offset Table', async (_, table) => {
    await withTempDir(async (dir) => {
      const rle = await convert(dir, multiFrame, 'dcmcrle', [table]);
      const pixels = readEncapsulated(rle, encapsulatedOffset(rle), frameCount);
      expect(pixels.frames).toBe(frameCount);
      for (let i = 0; i < frameCount; i++) {
        expect(decodeRle(pixels.frame(i), info).samples).toEqual(sourceFrame(i));
      }
    });
  });

  it.each([
    ['with', '+ot'],
    ['without', '-ot'],
  ])('joins frames that dcmcjpeg cut into 1 KB fragments, %s a table', async (_, table) => {
    await withTempDir(async (dir) => {
      const jpeg = await convert(dir, multiFrame, 'dcmcjpeg', ['+e1', '+fs', '1', table]);
      const pixels = readEncapsulated(jpeg, encapsulatedOffset(jpeg), frameCount);
      const native = await convert(dir, jpeg, 'dcmdjpeg', []);
      expect(native.length).toBeGreaterThan(0);
      for (let i = 0; i < frameCount; i++) {
        const frame = pixels.frame(i);
        expect(frame.length).toBeGreaterThan(1024);
        expect([...frame.subarray(0, 2)]).toEqual([0xff, 0xd8]);
        expect([...frame.subarray(-2)]).toEqual([0xff, 0xd9]);
      }
    });
  });

  it('follows a Basic Offset Table over fragments that split a frame', async () => {
    await withTempDir(async (dir) => {
      const rle = await convert(dir, multiFrame, 'dcmcrle', []);
      const frames = readEncapsulated(rle, encapsulatedOffset(rle), frameCount);
      const split = [0, 1, 2].map((i) => {
        const frame = frames.frame(i);
        return [frame.subarray(0, 100), frame.subarray(100, 300), frame.subarray(300)];
      });
      const rewrapped = withPixelItems(rle, encapsulate(split, true));
      const pixels = readEncapsulated(rewrapped, encapsulatedOffset(rewrapped), frameCount);
      expect(decodeRle(pixels.frame(2), info).samples).toEqual(sourceFrame(2));
    });
  });

  it('follows an Extended Offset Table and checks its lengths', () => {
    const fragments = [[new Uint8Array([1, 2])], [new Uint8Array([3, 4]), new Uint8Array([5, 6])]];
    const items = encapsulate(fragments, false);
    const offsets = new Uint8Array(16);
    new DataView(offsets.buffer).setBigUint64(8, 10n, true);
    const lengths = new Uint8Array(16);
    new DataView(lengths.buffer).setBigUint64(0, 2n, true);
    new DataView(lengths.buffer).setBigUint64(8, 4n, true);
    const pixels = readEncapsulated(items, 0, 2, { offsets, lengths });
    expect([...pixels.frame(1)]).toEqual([3, 4, 5, 6]);

    new DataView(lengths.buffer).setBigUint64(8, 1n << 60n, true);
    expect(errorOf(() => readEncapsulated(items, 0, 2, { offsets, lengths })).message).toMatch(
      /Lengths gives frame 2/,
    );
  });

  describe('refuses lying encapsulations with a typed error', () => {
    const items = encapsulate([[new Uint8Array(8)], [new Uint8Array(8)]], true);

    it('an item tag that is not (FFFE,E000)', () => {
      const bad = Buffer.from(items);
      bad.writeUInt16LE(0xe001, 16 + 2);
      const error = errorOf(() => readEncapsulated(bad, 0, 2));
      expect(error.code).toBe('DICOM_INVALID');
      expect(error.message).toMatch(/tag \(FFFE,E001\) at byte 16/);
    });

    it('a fragment length past the end of the file', () => {
      const bad = Buffer.from(items);
      bad.writeUInt32LE(0xfffffff0, 16 + 4);
      expect(errorOf(() => readEncapsulated(bad, 0, 2)).code).toBe('DICOM_TRUNCATED');
    });

    it('a file cut inside an item header', () => {
      expect(errorOf(() => readEncapsulated(items.subarray(0, 20), 0, 2)).code).toBe(
        'DICOM_TRUNCATED',
      );
    });

    it('an offset table entry that points outside the fragments', () => {
      const bad = Buffer.from(items);
      bad.writeUInt32LE(0x7fffffff, 8 + 4);
      expect(errorOf(() => readEncapsulated(bad, 0, 2)).message).toBe(
        'Basic Offset Table entry 2 (2147483647) does not point at a fragment',
      );
    });

    it('an offset table with fewer entries than frames', () => {
      expect(errorOf(() => readEncapsulated(items, 0, 3)).message).toMatch(/2 entries for 3/);
    });

    it('more frames than fragments and no table', () => {
      const untabled = encapsulate([[new Uint8Array(8)], [new Uint8Array(8)]], false);
      expect(errorOf(() => readEncapsulated(untabled, 0, 3)).code).toBe('DICOM_INVALID');
    });
  });
});
