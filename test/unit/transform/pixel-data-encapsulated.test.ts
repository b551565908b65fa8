import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RENDER_OPTIONS } from '../../../src/domain/render.js';
import { parseDicom } from '../../../src/dicom/parse.js';
import { renderDicomFrames, renderToRaster } from '../../../src/transform/render.js';
import { convert, withTempDir } from '../../support/codec-corpus.js';
import { colourDicom, grayDicom } from '../../support/render-dicom.js';
import { prepareCodecs } from '../../../src/transform/codecs/decode-frame.js';

// JPEG Extended and JPEG lossless decode synchronously once dcmjs-codecs has started.
beforeAll(() => prepareCodecs());

// A signed 12-bit CT-like image whose every pixel differs from its neighbours.
const ct = {
  rows: 96,
  columns: 80,
  pixels: Int16Array.from({ length: 96 * 80 }, (_, i) => -1024 + ((i * 37 + (i >> 5)) % 3000)),
  bitsStored: 12,
  signed: true,
  window: { center: 40, width: 400 },
  transferSyntax: 'explicit-le' as const,
};

// Lossless encoders: the rendered raster must equal the uncompressed file's, pixel for pixel.
const LOSSLESS: [string, string, string[]][] = [
  ['RLE Lossless', 'dcmcrle', []],
  ['JPEG Lossless SV1', 'dcmcjpeg', ['+e1']],
  ['JPEG Lossless process 14, predictor 6', 'dcmcjpeg', ['+el', '+sv', '6']],
  ['JPEG-LS Lossless', 'dcmcjpls', ['+el']],
  ['JPEG 2000 (Lossless Only)', 'gdcmconv', ['--j2k']],
];

describe('encapsulated pixel data through the renderer', () => {
  for (const [name, tool, args] of LOSSLESS) {
    it(`renders ${name} exactly like the uncompressed image, multi-frame included`, async () => {
      await withTempDir(async (dir) => {
        const frames = 3;
        const pixels = Int16Array.from({ length: ct.pixels.length * frames }, (_, i) =>
          i < ct.pixels.length ? (ct.pixels[i] ?? 0) : -1000 + (i % 2000),
        );
        const source = grayDicom({ ...ct, pixels, frames });
        const compressed = await convert(dir, source, tool, args);
        expect(parseDicom(compressed).transferSyntax.pixels).toBe('encapsulated');
        expect(compressed.length).toBeLessThan(source.length);
        const mine = renderToRaster(compressed);
        const reference = renderToRaster(source);
        expect(mine.recipe).toEqual(reference.recipe);
        expect(Buffer.from(mine.pixels).equals(Buffer.from(reference.pixels))).toBe(true);
        // Every frame, not only the first, decodes to the same image.
        const all = { ...DEFAULT_RENDER_OPTIONS, frames: 'all' as const };
        const ours: Buffer[] = [];
        for await (const image of renderDicomFrames(compressed, all)) {
          ours.push(Buffer.from(image.bytes));
        }
        const theirs: Buffer[] = [];
        for await (const image of renderDicomFrames(source, all)) {
          theirs.push(Buffer.from(image.bytes));
        }
        expect(ours).toHaveLength(frames);
        expect(ours).toEqual(theirs);
      });
    });
  }

  it('renders JPEG baseline colour as RGB (not green), like dcmtk decompresses it', async () => {
    await withTempDir(async (dir) => {
      const rows = 32;
      const columns = 32;
      // A warm orange: R high, G middle, B low.
      const pixels = new Uint8Array(rows * columns * 3);
      for (let i = 0; i < rows * columns; i += 1) pixels.set([220, 120, 40], i * 3);
      const source = colourDicom({ rows, columns, photometric: 'RGB', pixels });
      const compressed = await convert(dir, source, 'dcmcjpeg', ['+eb']);
      const decompressed = await convert(dir, compressed, 'dcmdjpeg', []);
      const mine = renderToRaster(compressed);
      const reference = renderToRaster(decompressed);
      const [r, g, b] = mine.pixels;
      expect(Math.abs((r ?? 0) - 220)).toBeLessThanOrEqual(4);
      expect(Math.abs((g ?? 0) - 120)).toBeLessThanOrEqual(4);
      expect(Math.abs((b ?? 0) - 40)).toBeLessThanOrEqual(4);
      let worst = 0;
      for (let i = 0; i < mine.pixels.length; i += 1) {
        worst = Math.max(worst, Math.abs((mine.pixels[i] ?? 0) - (reference.pixels[i] ?? 0)));
      }
      expect(worst).toBeLessThanOrEqual(1);
    });
  });

  it("renders 12-bit JPEG Extended (dcmcjpeg +ee) like dcmdjpeg's decompression, within 1", async () => {
    await withTempDir(async (dir) => {
      const pixels = Uint16Array.from({ length: 96 * 80 }, (_, i) => (i * 37 + (i >> 5)) % 4096);
      const source = grayDicom({
        ...ct,
        pixels,
        signed: false,
        window: { center: 2048, width: 4096 },
      });
      const compressed = await convert(dir, source, 'dcmcjpeg', ['+ee']);
      expect(parseDicom(compressed).transferSyntax.uid).toBe('1.2.840.10008.1.2.4.51');
      const decompressed = await convert(dir, compressed, 'dcmdjpeg', []);
      const mine = renderToRaster(compressed).pixels;
      const reference = renderToRaster(decompressed).pixels;
      let worst = 0;
      for (let i = 0; i < mine.length; i += 1) {
        worst = Math.max(worst, Math.abs((mine[i] ?? 0) - (reference[i] ?? 0)));
      }
      // Measured: 0 (the same IJG decoder as dcmtk's); lossy decoders may differ by IDCT rounding.
      expect(worst).toBeLessThanOrEqual(1);
    });
  });

  it('refuses encapsulated pixel data whose fragments lie about their length', async () => {
    await withTempDir(async (dir) => {
      const compressed = await convert(dir, grayDicom(ct), 'dcmcrle', []);
      const cut = compressed.subarray(0, compressed.length - 200);
      expect(() => renderToRaster(cut)).toThrow(
        expect.objectContaining({ code: 'DICOM_TRUNCATED' }),
      );
    });
  });
});
