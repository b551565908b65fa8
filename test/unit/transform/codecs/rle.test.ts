import { describe, expect, it } from 'vitest';
import { EtlError } from '../../../../src/domain/errors.js';
import { readEncapsulated } from '../../../../src/transform/codecs/encapsulated.js';
import { decodeRle } from '../../../../src/transform/codecs/rle.js';
import type { FrameInfo } from '../../../../src/transform/codecs/frame.js';
import { parseDicom, PIXEL_DATA_TAG } from '../../../../src/dicom/parse.js';
import { grayDicom } from '../../../support/render-dicom.js';
import { convert, encapsulatedOffset, withTempDir } from '../../../support/codec-corpus.js';

const rows = 33;
const columns = 31;

function ramp<T extends Uint8Array | Uint16Array | Int16Array>(pixels: T, step: number): T {
  for (let i = 0; i < pixels.length; i++) {
    // Runs of equal values and literal stretches, so both PackBits branches are exercised.
    pixels[i] = Math.floor(i / 7) % 3 === 0 ? step : (i * step) % 4000;
  }
  return pixels;
}

async function rleFrame(dir: string, pixels: Uint8Array | Uint16Array | Int16Array) {
  const rle = await convert(dir, grayDicom({ rows, columns, pixels }), 'dcmcrle', []);
  return readEncapsulated(rle, encapsulatedOffset(rle), 1).frame(0);
}

function infoFor(pixels: Uint8Array | Uint16Array | Int16Array): FrameInfo {
  const eight = pixels instanceof Uint8Array;
  return {
    rows,
    columns,
    bitsAllocated: eight ? 8 : 16,
    bitsStored: eight ? 8 : 16,
    signed: pixels instanceof Int16Array,
    samplesPerPixel: 1,
  };
}

describe('decodeRle', () => {
  it.each([
    ['8-bit', ramp(new Uint8Array(rows * columns), 5)],
    ['16-bit unsigned', ramp(new Uint16Array(rows * columns), 301)],
    ['16-bit signed', ramp(new Int16Array(rows * columns), -1000)],
  ])('gives back the %s samples dcmcrle compressed', async (_, pixels) => {
    await withTempDir(async (dir) => {
      const decoded = decodeRle(await rleFrame(dir, pixels), infoFor(pixels));
      expect(decoded.samples).toEqual(pixels);
      expect(decoded.samplesPerPixel).toBe(1);
    });
  });

  it("matches dcmdrle's decompression byte for byte", async () => {
    await withTempDir(async (dir) => {
      const pixels = ramp(new Uint16Array(rows * columns), 77);
      const rle = await convert(dir, grayDicom({ rows, columns, pixels }), 'dcmcrle', []);
      const native = await convert(dir, rle, 'dcmdrle', []);
      const element = parseDicom(native).dataSet.elements[PIXEL_DATA_TAG]!;
      const theirs = native.subarray(element.dataOffset, element.dataOffset + element.length);
      const frame = readEncapsulated(rle, encapsulatedOffset(rle), 1).frame(0);
      const ours = decodeRle(frame, infoFor(pixels)).samples;
      expect(new Uint8Array(ours.buffer, ours.byteOffset, ours.byteLength)).toEqual(theirs);
    });
  });

  describe('Bits Allocated 32: four segments per sample, most significant byte first', () => {
    /** PackBits by hand: a replicate run for a repeated first byte, then literal runs. */
    function packBits(plane: Uint8Array): number[] {
      const out: number[] = [];
      let at = 0;
      while (at + 1 < plane.length && plane[at] === plane[at + 1] && at < 2) at += 1;
      if (at > 0) out.push(257 - (at + 1), plane[0]!);
      for (at = at > 0 ? at + 1 : 0; at < plane.length; at += 128) {
        const run = plane.subarray(at, Math.min(at + 128, plane.length));
        out.push(run.length - 1, ...run);
      }
      return out;
    }

    function rle32(samples: Uint32Array | Int32Array, samplesPerPixel: number): Uint8Array {
      const pixels = samples.length / samplesPerPixel;
      const bytes = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
      const segments: number[][] = [];
      for (let sample = 0; sample < samplesPerPixel; sample++) {
        for (let byte = 3; byte >= 0; byte--) {
          const plane = Uint8Array.from(
            { length: pixels },
            (_, i) => bytes[(i * samplesPerPixel + sample) * 4 + byte]!,
          );
          segments.push(packBits(plane));
        }
      }
      const header = Buffer.alloc(64);
      header.writeUInt32LE(segments.length, 0);
      let offset = 64;
      segments.forEach((segment, i) => {
        header.writeUInt32LE(offset, 4 + i * 4);
        offset += segment.length;
      });
      return Uint8Array.from([...header, ...segments.flat()]);
    }

    const info32 = (signed: boolean, samplesPerPixel: number): FrameInfo => ({
      rows: 5,
      columns: 7,
      bitsAllocated: 32,
      bitsStored: 32,
      signed,
      samplesPerPixel,
    });

    it('decodes unsigned and signed 32-bit grayscale samples', () => {
      const unsigned = Uint32Array.from({ length: 35 }, (_, i) =>
        i < 3 ? 7 : (i * 0x01020304 + 0x8000_0000) >>> 0,
      );
      expect(decodeRle(rle32(unsigned, 1), info32(false, 1)).samples).toEqual(unsigned);
      const signed = Int32Array.from({ length: 35 }, (_, i) => (i - 17) * 123_456_789);
      expect(decodeRle(rle32(signed, 1), info32(true, 1)).samples).toEqual(signed);
    });

    it('decodes 32-bit colour (12 segments) to planar samples', () => {
      const interleaved = Uint32Array.from({ length: 35 * 3 }, (_, i) => (i * 2_654_435_761) >>> 0);
      const decoded = decodeRle(rle32(interleaved, 3), info32(false, 3));
      expect(decoded.planar).toBe(true);
      const planar = Uint32Array.from(
        { length: 35 * 3 },
        (_, i) => interleaved[(i % 35) * 3 + Math.floor(i / 35)]!,
      );
      expect(decoded.samples).toEqual(planar);
    });
  });

  describe('refuses a malformed frame with DICOM_INVALID', () => {
    const info = infoFor(new Uint16Array(0));
    const frame = async () =>
      withTempDir(async (dir) => rleFrame(dir, ramp(new Uint16Array(rows * columns), 9)));

    it('a segment count that does not fit the image', async () => {
      const bad = Buffer.from(await frame());
      bad.writeUInt32LE(3, 0);
      expect(() => decodeRle(bad, info)).toThrow(/declares 3 segments, 2 expected/);
    });

    it('a segment offset past the end', async () => {
      const bad = Buffer.from(await frame());
      bad.writeUInt32LE(bad.length + 10, 8);
      expect(() => decodeRle(bad, info)).toThrow(EtlError);
    });

    it('a segment that decodes short', async () => {
      const bad = (await frame()).subarray(0, 200);
      expect(() => decodeRle(bad, info)).toThrow(EtlError);
    });

    it('a header shorter than 64 bytes', () => {
      expect(() => decodeRle(new Uint8Array(10), info)).toThrow(/shorter than its 64-byte/);
    });
  });

  it('decodes a 512×384 12-bit frame', async () => {
    await withTempDir(async (dir) => {
      const pixels = ramp(new Uint16Array(512 * 384), 11);
      const rle = await convert(
        dir,
        grayDicom({ rows: 512, columns: 384, pixels, bitsStored: 12 }),
        'dcmcrle',
        [],
      );
      const frame = readEncapsulated(rle, encapsulatedOffset(rle), 1).frame(0);
      const info: FrameInfo = { ...infoFor(pixels), rows: 512, columns: 384, bitsStored: 12 };
      expect(decodeRle(frame, info).samples).toEqual(pixels);
    });
  });
});
