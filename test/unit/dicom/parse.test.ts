import { describe, expect, it } from 'vitest';
import { EtlError, type ErrorCode } from '../../../src/domain/errors.js';
import { parseDicom, PIXEL_DATA_TAG } from '../../../src/dicom/parse.js';
import {
  bareDataset,
  datasetOffset,
  grayDicom,
  MPEG2_MAIN_PROFILE,
  withTransferSyntaxUid,
} from '../../support/render-dicom.js';

function failure(action: () => unknown): EtlError {
  try {
    action();
  } catch (error) {
    if (error instanceof EtlError) return error;
    throw error;
  }
  throw new Error('expected an EtlError, nothing was thrown');
}

function codeOf(action: () => unknown): ErrorCode {
  return failure(action).code;
}

const pixels = Uint16Array.from({ length: 12 }, (_, i) => i * 100);

describe('parseDicom', () => {
  for (const transferSyntax of ['implicit-le', 'explicit-le'] as const) {
    it(`reads a ${transferSyntax} Part 10 file up to the pixel data`, () => {
      const file = grayDicom({ rows: 3, columns: 4, pixels, transferSyntax });
      const { dataSet, transferSyntax: syntax } = parseDicom(file);
      expect(syntax.pixels).toBe('native');
      expect(dataSet.uint16('x00280010')).toBe(3);
      expect(dataSet.uint16('x00280011')).toBe(4);
      const pixelData = dataSet.elements[PIXEL_DATA_TAG];
      expect(pixelData?.length).toBe(24);
      expect(pixelData?.dataOffset).toBe(file.length - 24);
    });

    it(`accepts a bare ${transferSyntax} data set without preamble and file meta`, () => {
      const bare = bareDataset(grayDicom({ rows: 3, columns: 4, pixels, transferSyntax }));
      expect(bare[0]).toBe(0x08);
      const { dataSet } = parseDicom(bare);
      expect(dataSet.uint16('x00280010')).toBe(3);
      expect(dataSet.elements[PIXEL_DATA_TAG]?.length).toBe(24);
    });
  }

  it('reads a data set that opens with illegal group-0001 elements, which are not file meta', () => {
    for (const transferSyntax of ['implicit-le', 'explicit-le'] as const) {
      const file = grayDicom({
        rows: 3,
        columns: 4,
        pixels,
        transferSyntax,
        extra: [{ tag: 0x00010010, vr: 'LO', value: 'PRIVATE' }],
      });
      const { dataSet } = parseDicom(file);
      expect(dataSet.string('x00010010')).toBe('PRIVATE');
      expect(dataSet.uint16('x00280010')).toBe(3);
      expect(dataSet.elements[PIXEL_DATA_TAG]?.length).toBe(24);
    }
  });

  it('rejects what is not DICOM as NOT_DICOM', () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
    expect(codeOf(() => parseDicom(png))).toBe('NOT_DICOM');
    expect(codeOf(() => parseDicom(new Uint8Array(0)))).toBe('NOT_DICOM');
    expect(codeOf(() => parseDicom(new TextEncoder().encode('<html>not found</html>')))).toBe(
      'NOT_DICOM',
    );
    expect(codeOf(() => parseDicom(new Uint8Array(4096)))).toBe('NOT_DICOM');
    // Starts with 08 00 but the "element" that follows runs past the end: not a data set.
    const lookalike = Uint8Array.from([0x08, 0x00, 0x05, 0x00, 0xff, 0xff, 0xff, 0x00, 1, 2]);
    expect(codeOf(() => parseDicom(lookalike))).toBe('NOT_DICOM');
  });

  it('reports a file cut inside the file meta or the data set header as DICOM_TRUNCATED', () => {
    const file = grayDicom({ rows: 3, columns: 4, pixels });
    const start = datasetOffset(file);
    // In the middle of the meta, of the first data set element, and of Rows (0028,0010).
    const rows = file.indexOf(0x10, file.indexOf(0x28, start + 20)) + 2;
    for (const cut of [140, 150, start + 3, rows]) {
      const error = failure(() => parseDicom(file.subarray(0, cut)));
      expect(error.code, `cut at ${cut}: ${error.message}`).toBe('DICOM_TRUNCATED');
      expect(error.message).toContain(`file ends at byte ${cut}`);
    }
  });

  it('reports an element whose length runs past the end of an implicit VR file', () => {
    // dicom-parser skips an implicit VR value without checking its length against the end:
    // cut one byte into Pixel Representation's 2-byte value, just before the pixel data.
    const file = grayDicom({ rows: 3, columns: 4, pixels, transferSyntax: 'implicit-le' });
    const cut = file.subarray(0, file.length - 24 - 8 - 1);
    const error = failure(() => parseDicom(cut));
    expect(error.code).toBe('DICOM_TRUNCATED');
    expect(error.message).toBe(
      `element (0028,0103) declares 2 bytes at offset ${cut.length - 1}, but the file ends at byte ${cut.length}`,
    );
  });

  it('names a transfer syntax it does not know', () => {
    const file = grayDicom({ rows: 3, columns: 4, pixels });
    const cases = [['1.2.3.4.5.6', 'unknown']] as const;
    for (const [uid, name] of cases) {
      const error = failure(() => parseDicom(withTransferSyntaxUid(file, uid)));
      expect(error.code).toBe('UNSUPPORTED_IMAGE');
      expect(error.message).toContain(uid);
      expect(error.message).toContain(name);
    }
  });

  it('parses the header of an encapsulated syntax, leaving the verdict to the pixel decoder', () => {
    const file = withTransferSyntaxUid(
      grayDicom({ rows: 3, columns: 4, pixels }),
      MPEG2_MAIN_PROFILE,
    );
    const { transferSyntax } = parseDicom(file);
    expect(transferSyntax.name).toBe('MPEG2 Main Profile / Main Level');
    expect(transferSyntax.pixels).toBeUndefined();
  });
});
