import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EtlError } from '../../../../src/domain/errors.js';
import {
  decodeFrame,
  prepareCodecs,
  type FrameInfo,
} from '../../../../src/transform/codecs/decode-frame.js';
import { readEncapsulated } from '../../../../src/transform/codecs/encapsulated.js';
import { parseDicom, PIXEL_DATA_TAG } from '../../../../src/dicom/parse.js';
import { grayDicom, withTransferSyntaxUid } from '../../../support/render-dicom.js';
import {
  convert,
  encapsulate,
  encapsulatedOffset,
  run,
  withPixelItems,
  withTempDir,
} from '../../../support/codec-corpus.js';

// JPEG Extended and JPEG lossless decode synchronously once dcmjs-codecs has started.
beforeAll(() => prepareCodecs());

const rows = 200;
const columns = 256;

/** A smooth anatomy-like field with noise, so lossy codecs have something to lose. */
function image<T extends Uint8Array | Uint16Array>(pixels: T, max: number): T {
  let seed = 3;
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < columns; x++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const base = (max / 2) * (1 + 0.8 * Math.sin(x / 30) * Math.cos(y / 25));
      pixels[y * columns + x] = Math.min(
        max,
        Math.max(0, Math.round(base + ((seed >> 16) % 16) - 8)),
      );
    }
  }
  return pixels;
}

const twelveBit = image(new Uint16Array(rows * columns), 4095);
const eightBit = image(new Uint8Array(rows * columns), 255);
const source12 = grayDicom({ rows, columns, pixels: twelveBit, bitsStored: 12 });
const source8 = grayDicom({ rows, columns, pixels: eightBit });
const info12: FrameInfo = {
  rows,
  columns,
  bitsAllocated: 16,
  bitsStored: 12,
  signed: false,
  samplesPerPixel: 1,
};
const info8: FrameInfo = { ...info12, bitsAllocated: 8, bitsStored: 8 };

function decodeFile(part10: Uint8Array, info: FrameInfo) {
  const { transferSyntax } = parseDicom(part10);
  const frame = readEncapsulated(part10, encapsulatedOffset(part10), 1).frame(0);
  return decodeFrame(transferSyntax.uid, frame, info).samples;
}

function nativeSamples(part10: Uint8Array, eight: boolean): Uint8Array | Uint16Array {
  const element = parseDicom(part10).dataSet.elements[PIXEL_DATA_TAG]!;
  const bytes = part10.slice(element.dataOffset, element.dataOffset + element.length);
  return eight ? bytes : new Uint16Array(bytes.buffer, 0, bytes.length / 2);
}

function differences(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; mean: number } {
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    if (d > max) max = d;
  }
  return { max, mean: sum / a.length };
}

describe('decodeFrame, lossless syntaxes give back the source samples', () => {
  it.each([
    ['JPEG-LS lossless (dcmcjpls)', 'dcmcjpls', []],
    ['JPEG 2000 lossless (gdcmconv)', 'gdcmconv', ['--j2k']],
  ])('%s', async (_, tool, args) => {
    await withTempDir(async (dir) => {
      const compressed = await convert(dir, source12, tool, args);
      expect(decodeFile(compressed, info12)).toEqual(twelveBit);
    });
  });

  it('HTJ2K lossless (ojph_compress), 12-bit', async () => {
    await withTempDir(async (dir) => {
      // OpenJPH reads a 16-bit PGM (big endian samples) and writes a raw codestream.
      const header = Buffer.from(`P5\n${columns} ${rows}\n4095\n`, 'latin1');
      const body = Buffer.alloc(twelveBit.length * 2);
      twelveBit.forEach((value, i) => body.writeUInt16BE(value, i * 2));
      await writeFile(join(dir, 'in.pgm'), Buffer.concat([header, body]));
      run('ojph_compress', [
        '-i',
        join(dir, 'in.pgm'),
        '-o',
        join(dir, 'out.j2c'),
        '-reversible',
        'true',
      ]);
      const codestream = new Uint8Array(await readFile(join(dir, 'out.j2c')));
      const carrier = await convert(dir, source12, 'dcmcrle', []);
      const htj2k = withTransferSyntaxUid(
        withPixelItems(carrier, encapsulate([[codestream]], false)),
        '1.2.840.10008.1.2.4.201',
      );
      expect(decodeFile(htj2k, info12)).toEqual(twelveBit);
    });
  });
});

describe('decodeFrame, lossy syntaxes stay within the codec tolerance', () => {
  it('JPEG-LS near-lossless: within NEAR of the source, and equal to dcmdjpls', async () => {
    await withTempDir(async (dir) => {
      const near = await convert(dir, source12, 'dcmcjpls', ['+en', '+md', '3']);
      const ours = decodeFile(near, info12);
      expect(differences(ours, twelveBit).max).toBeLessThanOrEqual(3);
      expect(ours).toEqual(nativeSamples(await convert(dir, near, 'dcmdjpls', []), false));
    });
  });

  // dcmcjpeg re-windows lossy input and gdcmconv's lossy J2K quality is a rate, not a PSNR, so
  // the tools' own decoders are the reference here: ours must agree with them on every pixel.
  it('JPEG baseline 8-bit: equal to dcmdjpeg', async () => {
    await withTempDir(async (dir) => {
      const baseline = await convert(dir, source8, 'dcmcjpeg', ['+eb']);
      const theirs = nativeSamples(await convert(dir, baseline, 'dcmdjpeg', []), true);
      expect(differences(decodeFile(baseline, info8), theirs).max).toBe(0);
    });
  });

  it('JPEG 2000 lossy: equal to gdcmconv --raw', async () => {
    await withTempDir(async (dir) => {
      const lossy = await convert(dir, source12, 'gdcmconv', ['--j2k', '--lossy', '-q', '50']);
      const theirs = nativeSamples(await convert(dir, lossy, 'gdcmconv', ['--raw']), false);
      expect(differences(decodeFile(lossy, info12), theirs).max).toBe(0);
    });
  });
});

describe('decodeFrame refuses what it cannot trust', () => {
  it('a corrupt codestream is DICOM_INVALID', async () => {
    await withTempDir(async (dir) => {
      const jls = await convert(dir, source12, 'dcmcjpls', []);
      const frame = readEncapsulated(jls, encapsulatedOffset(jls), 1).frame(0).slice(0, 40);
      expect(() => decodeFrame('1.2.840.10008.1.2.4.80', frame, info12)).toThrow(EtlError);
    });
  });

  it('a frame whose size disagrees with the header is DICOM_INVALID', async () => {
    await withTempDir(async (dir) => {
      const jls = await convert(dir, source12, 'dcmcjpls', []);
      const frame = readEncapsulated(jls, encapsulatedOffset(jls), 1).frame(0);
      expect(() => decodeFrame('1.2.840.10008.1.2.4.80', frame, { ...info12, rows: 10 })).toThrow(
        /frame is 256×200×1, the header says 256×10×1/,
      );
    });
  });

  it('an unknown syntax is UNSUPPORTED_IMAGE', () => {
    expect(() => decodeFrame('1.2.3', new Uint8Array(4), info12)).toThrow(/not supported/);
  });
});
