import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtlError } from '../../../../src/domain/errors.js';
import { renderToRaster } from '../../../../src/transform/render.js';
import { convert, encapsulatedOffset, withTempDir } from '../../../support/codec-corpus.js';
import { grayDicom } from '../../../support/render-dicom.js';
import {
  prepareCodecs,
  useJ2kDecoder,
  type J2kDecoderChoice,
} from '../../../../src/transform/codecs/decode-frame.js';

// JPEG lossless decodes synchronously once dcmjs-codecs has started.
beforeAll(() => prepareCodecs());
afterAll(() => useJ2kDecoder('auto'));

const rows = 48;
const columns = 40;
const pixels = Int16Array.from({ length: rows * columns }, (_, i) => -900 + ((i * 29) % 2000));

/** xorshift32: the same mutations on every run, so a failure reproduces. */
function randomInts(seed: number): () => number {
  let state = seed;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
}

/** JPEG 2000 twice: through the system's OpenJPEG in this process, and the WASM build. */
const CODECS: [string, string, string[], J2kDecoderChoice?][] = [
  ['RLE', 'dcmcrle', []],
  ['JPEG lossless', 'dcmcjpeg', ['+e1']],
  ['JPEG-LS', 'dcmcjpls', ['+el']],
  ['JPEG 2000 (native OpenJPEG)', 'gdcmconv', ['--j2k'], 'native'],
  ['JPEG 2000 (WASM OpenJPEG)', 'gdcmconv', ['--j2k'], 'wasm'],
];

describe('corrupted codestreams', () => {
  for (const [name, tool, args, j2kDecoder] of CODECS) {
    it(`${name}: every mutation ends in an image or a typed error, never a crash`, async () => {
      if (j2kDecoder !== undefined) useJ2kDecoder(j2kDecoder);
      await withTempDir(async (dir) => {
        const source = grayDicom({ rows, columns, pixels, window: { center: 40, width: 400 } });
        const file = await convert(dir, source, tool, args);
        const start = encapsulatedOffset(file);
        const random = randomInts(0x9e3779b9);
        const outcomes = new Set<string>();
        for (let round = 0; round < 150; round += 1) {
          const copy = new Uint8Array(file);
          // Bytes of the encapsulated items and codestream only: the header has its own fuzz test.
          for (let flips = 1 + (random() % 6); flips > 0; flips -= 1) {
            copy[start + (random() % (copy.length - start))] = random() & 0xff;
          }
          const cut =
            round % 4 === 0 ? copy.subarray(0, start + (random() % (copy.length - start))) : copy;
          try {
            const raster = renderToRaster(cut);
            expect(raster.width).toBe(columns);
            outcomes.add('rendered');
          } catch (error) {
            if (!(error instanceof EtlError)) throw error;
            outcomes.add(error.code);
          }
        }
        expect([...outcomes].every((outcome) => !['INTERNAL'].includes(outcome))).toBe(true);
        expect(outcomes.size).toBeGreaterThan(0);
      });
    });
  }
});
