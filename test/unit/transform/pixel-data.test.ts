import { describe, expect, it } from 'vitest';
import type { DicomElement } from '../../../src/dicom/writer.js';
import { EtlError } from '../../../src/domain/errors.js';
import { parseDicom } from '../../../src/dicom/parse.js';
import { readImage } from '../../../src/transform/pixel-data.js';
import {
  grayDicom,
  MPEG2_MAIN_PROFILE,
  reportDicom,
  withTransferSyntaxUid,
  type GrayDicomSpec,
} from '../../support/render-dicom.js';

function read(file: Uint8Array) {
  const image = readImage(parseDicom(file));
  return { ...image, frame: image.frame(0) };
}

function failure(file: Uint8Array): EtlError {
  try {
    read(file);
  } catch (error) {
    if (error instanceof EtlError) return error;
    throw error;
  }
  throw new Error('expected an EtlError, nothing was thrown');
}

const base: GrayDicomSpec = {
  rows: 3,
  columns: 4,
  pixels: Uint16Array.from({ length: 12 }, (_, i) => i * 100),
  bitsStored: 12,
};

function withExtra(...extra: DicomElement[]): Uint8Array {
  return grayDicom({ ...base, extra });
}

describe('readImage', () => {
  it('returns frame 1 as a view on the file bytes, without copying', () => {
    const file = grayDicom(base);
    const image = read(file);
    expect(image).toMatchObject({ rows: 3, columns: 4, photometric: 'MONOCHROME2', frames: 1 });
    expect(image.frame).toMatchObject({
      pixelCount: 12,
      bitsAllocated: 16,
      bitsStored: 12,
      highBit: 11,
      signed: false,
    });
    expect(image.frame.data.buffer).toBe(file.buffer);
    expect(image.frame.data.byteOffset).toBe(file.byteOffset + file.length - 24);
    expect(image.frame.data.length).toBe(24);
  });

  it('takes frame 1 of a multi-frame image', () => {
    const frames = Uint16Array.from({ length: 36 }, (_, i) => (i < 12 ? 1 : 2));
    const image = read(grayDicom({ ...base, pixels: frames, frames: 3 }));
    expect(image.frames).toBe(3);
    expect(image.frame.data.length).toBe(24);
    expect(new Uint16Array(new Uint8Array(image.frame.data).buffer)).toEqual(
      new Uint16Array(12).fill(1),
    );
  });

  it('reads an 8-bit image with an odd pixel count (padded pixel data)', () => {
    const image = read(grayDicom({ rows: 3, columns: 3, pixels: new Uint8Array(9).fill(7) }));
    expect(image.frame).toMatchObject({ bitsAllocated: 8, bitsStored: 8, pixelCount: 9 });
    expect(image.frame.data.length).toBe(9);
  });

  it('says NOT_AN_IMAGE for an object without pixel data, naming what it is', () => {
    const error = failure(reportDicom());
    expect(error.code).toBe('NOT_AN_IMAGE');
    expect(error.message).toBe(
      'this SR object, SOP Class 1.2.840.10008.5.1.4.1.1.88.11 is a structured report, not an image',
    );
  });

  it('says UNSUPPORTED_IMAGE for pixel data in a syntax without a decoder, naming it', () => {
    const error = failure(withTransferSyntaxUid(grayDicom(base), MPEG2_MAIN_PROFILE));
    expect(error.code).toBe('UNSUPPORTED_IMAGE');
    expect(error.message).toBe(
      'transfer syntax 1.2.840.10008.1.2.4.100 (MPEG2 Main Profile / Main Level) is not supported',
    );
  });

  it('reads colour images with their samples per pixel and planar configuration', () => {
    const rgb = grayDicom({
      rows: 2,
      columns: 2,
      pixels: new Uint8Array(12),
      extra: [
        { tag: 0x00280002, vr: 'US', value: 3 },
        { tag: 0x00280004, vr: 'CS', value: 'RGB' },
        { tag: 0x00280006, vr: 'US', value: 1 },
      ],
    });
    expect(read(rgb)).toMatchObject({
      photometric: 'RGB',
      samplesPerPixel: 3,
      planarConfiguration: 1,
      frame: { pixelCount: 4 },
    });
    expect(read(rgb).frame.data.length).toBe(12);
  });

  it('says UNSUPPORTED_IMAGE for an unknown photometric interpretation', () => {
    const error = failure(withExtra({ tag: 0x00280004, vr: 'CS', value: 'HSV' }));
    expect(error.code).toBe('UNSUPPORTED_IMAGE');
    expect(error.message).toBe(
      'Photometric Interpretation HSV is not supported (1 samples per pixel)',
    );
  });

  it('says DICOM_INVALID when Samples per Pixel does not fit the photometric interpretation', () => {
    const error = failure(withExtra({ tag: 0x00280004, vr: 'CS', value: 'RGB' }));
    expect(error.code).toBe('DICOM_INVALID');
    expect(error.message).toBe('Samples per Pixel 1 does not fit RGB (3 expected)');
  });

  it('says UNSUPPORTED_IMAGE for 64-bit samples and for sizes JPEG cannot hold', () => {
    expect(failure(withExtra({ tag: 0x00280100, vr: 'US', value: 64 })).code).toBe(
      'UNSUPPORTED_IMAGE',
    );
    const huge = failure(
      withExtra(
        { tag: 0x00280010, vr: 'US', value: 65535 },
        { tag: 0x00280011, vr: 'US', value: 2 },
      ),
    );
    expect(huge.code).toBe('UNSUPPORTED_IMAGE');
    expect(huge.message).toContain('2×65535');
  });

  it('says DICOM_INVALID for an inconsistent header, naming the attribute', () => {
    const cases: [DicomElement, string][] = [
      [{ tag: 0x00280101, vr: 'US', value: 17 }, 'Bits Stored 17 is outside 1..16'],
      [{ tag: 0x00280102, vr: 'US', value: 9 }, 'High Bit 9 is outside 11..15'],
      [{ tag: 0x00280102, vr: 'US', value: 16 }, 'High Bit 16 is outside 11..15'],
      [{ tag: 0x00280100, vr: 'US', value: 12 }, 'Bits Allocated 12 is not supported'],
      [{ tag: 0x00280103, vr: 'US', value: 2 }, 'Pixel Representation 2'],
      [{ tag: 0x00280010, vr: 'US', value: 0 }, 'image is 4×0 pixels'],
      [{ tag: 0x00280008, vr: 'IS', value: 0 }, 'Number of Frames 0'],
    ];
    for (const [element, message] of cases) {
      const error = failure(withExtra(element));
      expect(error.code, message).toBe('DICOM_INVALID');
      expect(error.message).toContain(message);
    }
  });

  it('says DICOM_INVALID when Rows is missing', () => {
    const spec = { ...base, extra: [] };
    const file = grayDicom(spec);
    // Rename Rows (0028,0010) to a private-free retired tag (0028,0009 Frame Increment Pointer).
    const copy = new Uint8Array(file);
    const at = findTag(copy, 0x0028, 0x0010);
    copy[at + 2] = 0x09;
    const error = failure(copy);
    expect(error.code).toBe('DICOM_INVALID');
    expect(error.message).toBe('Rows (0028,0010) is missing');
  });

  it('says DICOM_TRUNCATED with the sizes when the pixel data is cut', () => {
    const file = grayDicom({ ...base, rows: 30, columns: 40, pixels: new Uint16Array(1200) });
    const error = failure(file.subarray(0, file.length - 1000));
    expect(error.code).toBe('DICOM_TRUNCATED');
    expect(error.message).toBe('pixel data has 1400 bytes, 2400 expected for 40×30×16-bit');
    expect(error.hint).toContain('fetch the file again');
  });

  it('says DICOM_TRUNCATED when frames are missing, even if frame 1 is whole', () => {
    const file = grayDicom({ ...base, pixels: new Uint16Array(24), frames: 3 });
    const error = failure(file);
    expect(error.code).toBe('DICOM_TRUNCATED');
    expect(error.message).toBe('pixel data has 48 bytes, 72 expected for 4×3×16-bit × 3 frames');
  });

  it('says DICOM_TRUNCATED for a file cut just before its pixel data element', () => {
    const file = grayDicom(base);
    const error = failure(file.subarray(0, file.length - 24 - 12));
    expect(error.code).toBe('DICOM_TRUNCATED');
    expect(error.message).toContain('before Pixel Data (7FE0,0010)');
  });
});

function findTag(bytes: Uint8Array, group: number, element: number): number {
  for (let i = 132; i + 4 <= bytes.length; i += 2) {
    if (
      bytes[i] === (group & 0xff) &&
      bytes[i + 1] === group >> 8 &&
      bytes[i + 2] === (element & 0xff) &&
      bytes[i + 3] === element >> 8
    ) {
      return i;
    }
  }
  throw new Error(`tag not found`);
}
