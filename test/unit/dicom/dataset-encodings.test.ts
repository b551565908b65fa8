import { describe, expect, it } from 'vitest';
import { DEFAULT_RENDER_OPTIONS } from '../../../src/domain/render.js';
import { parseDicom } from '../../../src/dicom/parse.js';
import { renderDicom } from '../../../src/transform/render.js';
import { convert, withTempDir } from '../../support/codec-corpus.js';
import { grayDicom } from '../../support/render-dicom.js';

const DEFLATED = '1.2.840.10008.1.2.1.99';

// A signed CT-like ramp: every pixel differs, so any misplaced byte shows.
const ct = {
  rows: 64,
  columns: 48,
  pixels: Int16Array.from({ length: 64 * 48 }, (_, i) => -1024 + ((i * 37) % 3000)),
  window: { center: 40, width: 400 },
  transferSyntax: 'explicit-le' as const,
};

/** The byte where the deflated stream starts: right after the file meta group. */
function metaEnd(part10: Uint8Array): number {
  const view = new DataView(part10.buffer, part10.byteOffset, part10.byteLength);
  // (0002,0000) UL group length, value at 140 in every Part 10 file with the standard layout.
  return 144 + view.getUint32(140, true);
}

describe('Deflated Explicit VR Little Endian', () => {
  it('renders exactly like the same image uncompressed (dcmconv +td)', async () => {
    await withTempDir(async (dir) => {
      const source = grayDicom(ct);
      const deflated = await convert(dir, source, 'dcmconv', ['+td']);
      const parsed = parseDicom(deflated);
      expect(parsed.transferSyntax.uid).toBe(DEFLATED);
      expect(parsed.dataSet.uint16('x00280010')).toBe(64);
      expect(deflated.length).toBeLessThan(source.length);
      const mine = await renderDicom(deflated, DEFAULT_RENDER_OPTIONS);
      const reference = await renderDicom(source, DEFAULT_RENDER_OPTIONS);
      expect(Buffer.from(mine.bytes).equals(Buffer.from(reference.bytes))).toBe(true);
      expect(mine.recipe.width).toBe(48);
    });
  });

  it('reports a cut deflate stream as truncated and garbage as invalid', async () => {
    await withTempDir(async (dir) => {
      const deflated = await convert(dir, grayDicom(ct), 'dcmconv', ['+td']);
      const start = metaEnd(deflated);
      const cut = deflated.subarray(0, start + Math.floor((deflated.length - start) / 2));
      expect(() => parseDicom(cut)).toThrow(expect.objectContaining({ code: 'DICOM_TRUNCATED' }));
      const garbage = new Uint8Array(deflated);
      garbage.fill(0xff, start, start + 16);
      expect(() => parseDicom(garbage)).toThrow(expect.objectContaining({ code: 'DICOM_INVALID' }));
    });
  });
});

describe('Explicit VR Big Endian', () => {
  for (const [label, spec] of [
    ['signed 16-bit', ct],
    [
      'unsigned 8-bit',
      {
        ...ct,
        pixels: Uint8Array.from({ length: 64 * 48 }, (_, i) => (i * 7) % 256),
        window: { center: 128, width: 256 },
      },
    ],
  ] as const) {
    it(`renders ${label} exactly like little endian (dcmconv +tb)`, async () => {
      await withTempDir(async (dir) => {
        const source = grayDicom(spec);
        const bigEndian = await convert(dir, source, 'dcmconv', ['+tb']);
        expect(parseDicom(bigEndian).transferSyntax.uid).toBe('1.2.840.10008.1.2.2');
        expect(Buffer.from(bigEndian).equals(Buffer.from(source))).toBe(false);
        const mine = await renderDicom(bigEndian, DEFAULT_RENDER_OPTIONS);
        const reference = await renderDicom(source, DEFAULT_RENDER_OPTIONS);
        expect(mine.recipe).toEqual(reference.recipe);
        expect(Buffer.from(mine.bytes).equals(Buffer.from(reference.bytes))).toBe(true);
      });
    });
  }
});
