import { describe, expect, it } from 'vitest';
import { EtlError } from '../../../../src/domain/errors.js';
import { prepareCodecs } from '../../../../src/transform/codecs/decode-frame.js';
import { renderToRaster } from '../../../../src/transform/render.js';
import { convert, withTempDir } from '../../../support/codec-corpus.js';
import { grayDicom } from '../../../support/render-dicom.js';

// Module state is per test file: nothing has started dcmjs-codecs in this one before the test.
describe('prepareCodecs', () => {
  it('is required before a synchronous JPEG lossless render, and is idempotent', async () => {
    await withTempDir(async (dir) => {
      const pixels = Uint16Array.from({ length: 16 * 16 }, (_, i) => (i * 97) % 4096);
      const source = grayDicom({ rows: 16, columns: 16, pixels, bitsStored: 12 });
      const compressed = await convert(dir, source, 'dcmcjpeg', ['+e1']);
      let error: unknown;
      try {
        renderToRaster(compressed);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(EtlError);
      expect((error as EtlError).code).toBe('INTERNAL');
      expect((error as EtlError).message).toMatch(/prepareCodecs/);
      const first = prepareCodecs();
      expect(prepareCodecs()).toBe(first);
      await first;
      expect(renderToRaster(compressed).pixels).toEqual(renderToRaster(source).pixels);
    });
  });
});
