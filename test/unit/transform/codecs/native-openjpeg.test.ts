import { afterAll, describe, expect, it } from 'vitest';
import { EtlError } from '../../../../src/domain/errors.js';
import {
  decodeFrame,
  useJ2kDecoder,
  type FrameInfo,
} from '../../../../src/transform/codecs/decode-frame.js';
import { readEncapsulated } from '../../../../src/transform/codecs/encapsulated.js';
import {
  decodeJ2kNative,
  nativeOpenJpegAvailable,
} from '../../../../src/transform/codecs/native-openjpeg.js';
import { parseDicom, PIXEL_DATA_TAG } from '../../../../src/dicom/parse.js';
import { convert, encapsulatedOffset, withTempDir } from '../../../support/codec-corpus.js';
import { colourDicom, grayDicom } from '../../../support/render-dicom.js';

const J2K_LOSSLESS = '1.2.840.10008.1.2.4.90';
const rows = 120;
const columns = 96;

afterAll(() => useJ2kDecoder('auto'));

function field(length: number, scale: number, offset: number): number[] {
  let seed = 11;
  return Array.from({ length }, (_, i) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const x = i % columns;
    const y = Math.floor(i / columns);
    return Math.round(offset + scale * Math.sin(x / 9) * Math.cos(y / 7)) + ((seed >> 16) % 9);
  });
}

const signed = Int16Array.from(field(rows * columns, 900, -200));
const unsigned12 = Uint16Array.from(field(rows * columns, 1800, 2000));
const rgb = Uint8Array.from(field(rows * columns * 3, 90, 120));

const grey = (bitsStored: number, isSigned: boolean): FrameInfo => ({
  rows,
  columns,
  bitsAllocated: 16,
  bitsStored,
  signed: isSigned,
  samplesPerPixel: 1,
});

function frameOf(part10: Uint8Array): { syntax: string; frame: Uint8Array } {
  const syntax = parseDicom(part10).transferSyntax.uid;
  return { syntax, frame: readEncapsulated(part10, encapsulatedOffset(part10), 1).frame(0) };
}

function nativeSamples(part10: Uint8Array): Uint8Array {
  const element = parseDicom(part10).dataSet.elements[PIXEL_DATA_TAG]!;
  return part10.slice(element.dataOffset, element.dataOffset + element.length);
}

/** The signed CT as a lossless JPEG 2000 codestream, made by gdcm. */
async function signedCodestream(dir: string): Promise<Uint8Array> {
  const source = grayDicom({ rows, columns, pixels: signed });
  return frameOf(await convert(dir, source, 'gdcmconv', ['--j2k'])).frame;
}

const bytesOf = (samples: ArrayBufferView) =>
  Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);

describe('JPEG 2000 through the system OpenJPEG', () => {
  it('is available here (.ci/run installs libopenjp2-7), and auto picks it', () => {
    expect(nativeOpenJpegAvailable()).toBe(true);
    expect(useJ2kDecoder('auto')).toBe('native');
    expect(useJ2kDecoder('wasm')).toBe('wasm');
    expect(useJ2kDecoder('native')).toBe('native');
  });

  // Every case through both decoders: each must give what the reference gives.
  const cases: [string, () => Uint8Array, FrameInfo, string[]][] = [
    [
      'signed 16-bit CT, lossless',
      () => grayDicom({ rows, columns, pixels: signed }),
      grey(16, true),
      ['--j2k'],
    ],
    [
      'unsigned 12-bit, lossless',
      () => grayDicom({ rows, columns, pixels: unsigned12, bitsStored: 12 }),
      grey(12, false),
      ['--j2k'],
    ],
    [
      'unsigned 12-bit, lossy',
      () => grayDicom({ rows, columns, pixels: unsigned12, bitsStored: 12 }),
      grey(12, false),
      ['--j2k', '--lossy', '-q', '40'],
    ],
    [
      'RGB 8-bit with the reversible colour transform, lossless',
      () => colourDicom({ rows, columns, photometric: 'RGB', pixels: rgb }),
      { rows, columns, bitsAllocated: 8, bitsStored: 8, signed: false, samplesPerPixel: 3 },
      ['--j2k'],
    ],
  ];
  for (const [name, source, info, args] of cases) {
    it(`${name}: native and WASM both equal gdcmconv --raw`, async () => {
      await withTempDir(async (dir) => {
        const compressed = await convert(dir, source(), 'gdcmconv', args);
        const reference = nativeSamples(await convert(dir, compressed, 'gdcmconv', ['--raw']));
        const { syntax, frame } = frameOf(compressed);
        for (const choice of ['native', 'wasm'] as const) {
          useJ2kDecoder(choice);
          const decoded = decodeFrame(syntax, frame, info);
          expect(bytesOf(decoded.samples).equals(Buffer.from(reference)), choice).toBe(true);
        }
      });
    });
  }

  it('refuses a codestream whose image is not the one the header describes, before decoding', async () => {
    await withTempDir(async (dir) => {
      const frame = await signedCodestream(dir);
      expect(() => decodeJ2kNative('JPEG 2000', frame, { ...grey(16, true), rows: 4000 })).toThrow(
        /frame is 96×120×1, the header says 96×4000×1/,
      );
      expect(() =>
        decodeJ2kNative('JPEG 2000', frame, { ...grey(16, true), bitsAllocated: 8 }),
      ).toThrow(/16-bit samples, but Bits Allocated is 8/);
    });
  });

  it('reports a cut or garbled codestream as DICOM_INVALID, and decodes the next file', async () => {
    await withTempDir(async (dir) => {
      const frame = await signedCodestream(dir);
      const garbage = new Uint8Array(frame.length).fill(0x5a);
      for (const broken of [frame.slice(0, 30), frame.slice(0, frame.length / 2), garbage]) {
        let error: unknown;
        try {
          decodeJ2kNative('JPEG 2000', broken, grey(16, true));
        } catch (caught) {
          error = caught;
        }
        // A codestream cut inside its tile data may still decode (OpenJPEG fills in zeros).
        if (error !== undefined) {
          expect(error).toBeInstanceOf(EtlError);
          expect((error as EtlError).code).toBe('DICOM_INVALID');
        }
      }
      expect(() => decodeJ2kNative('JPEG 2000', garbage, grey(16, true))).toThrow(EtlError);
      const decoded = decodeJ2kNative('JPEG 2000', frame, grey(16, true));
      expect(decoded?.samples).toEqual(signed);
    });
  });

  it('decodes the same on one thread and on four', async () => {
    await withTempDir(async (dir) => {
      const compressed = await convert(
        dir,
        grayDicom({ rows, columns, pixels: unsigned12, bitsStored: 12 }),
        'gdcmconv',
        ['--j2k'],
      );
      const { syntax, frame } = frameOf(compressed);
      expect(syntax).toBe(J2K_LOSSLESS);
      const one = decodeJ2kNative('JPEG 2000', frame, grey(12, false), 1);
      const four = decodeJ2kNative('JPEG 2000', frame, grey(12, false), 4);
      expect(one?.samples).toEqual(unsigned12);
      expect(four?.samples).toEqual(unsigned12);
    });
  });
});
