import { describe, expect, it } from 'vitest';
import type { DicomElement } from '../../../src/dicom/writer.js';
import { EtlError } from '../../../src/domain/errors.js';
import { parseDicom } from '../../../src/dicom/parse.js';
import { readPresentation } from '../../../src/transform/presentation.js';
import { grayDicom, type GrayDicomSpec } from '../../support/render-dicom.js';

const base: GrayDicomSpec = {
  rows: 2,
  columns: 2,
  pixels: Int16Array.from([-2000, 0, 100, 200]),
  bitsStored: 16,
};

function presentationOf(spec: Partial<GrayDicomSpec>, extra: DicomElement[] = []) {
  const file = grayDicom({ ...base, ...spec, extra });
  return readPresentation(parseDicom(file).dataSet, spec.signed ?? true);
}

describe('readPresentation', () => {
  it('defaults to the identity rescale and no window', () => {
    expect(presentationOf({})).toEqual({
      modality: { kind: 'rescale', slope: 1, intercept: 0 },
      windows: [],
      windowFunction: 'LINEAR',
      voiLuts: [],
      padding: undefined,
      presentationLutShape: undefined,
    });
  });

  it('reads several windows in file order', () => {
    const presentation = presentationOf({
      rescale: { slope: 1, intercept: -1024 },
      window: { center: [40, -600], width: [400, 1500] },
    });
    expect(presentation.windows).toEqual([
      { center: 40, width: 400 },
      { center: -600, width: 1500 },
    ]);
    expect(presentation.modality).toEqual({ kind: 'rescale', slope: 1, intercept: -1024 });
  });

  it('ignores a window whose width is not positive, so the renderer computes one', () => {
    expect(presentationOf({ window: { center: 40, width: 0 } }).windows).toEqual([undefined]);
    expect(presentationOf({ window: { center: [40, 50], width: [-5, 10] } }).windows).toEqual([
      undefined,
      { center: 50, width: 10 },
    ]);
  });

  it('reads the padding value and range limit as signed when Pixel Representation is 1', () => {
    expect(presentationOf({ padding: -2000 }).padding).toEqual({ low: -2000, high: -2000 });
    expect(presentationOf({ padding: -1000, paddingLimit: -3000 }).padding).toEqual({
      low: -3000,
      high: -1000,
    });
  });

  it('reads the padding value as unsigned when Pixel Representation is 0', () => {
    const unsigned = presentationOf({ pixels: new Uint16Array(4), signed: false, padding: 65535 });
    expect(unsigned.padding).toEqual({ low: 65535, high: 65535 });
  });

  it('rejects a zero or unreadable rescale slope as DICOM_INVALID', () => {
    expect(() => presentationOf({ rescale: { slope: 0, intercept: 0 } })).toThrow(
      expect.objectContaining({ code: 'DICOM_INVALID', message: 'Rescale Slope (0028,1053) is 0' }),
    );
    let error: unknown;
    try {
      presentationOf({}, [{ tag: 0x00281053, vr: 'LO', value: 'one' }]);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(EtlError);
    expect((error as EtlError).message).toBe(
      'Rescale Slope (0028,1053) is "one", expected a decimal number',
    );
  });

  it('takes a Modality LUT Sequence instead of the rescale', () => {
    const presentation = presentationOf(
      { rescale: { slope: 2, intercept: -1024 }, window: { center: 40, width: 400 } },
      [
        {
          tag: 0x00283000,
          vr: 'SQ',
          value: [
            [
              { tag: 0x00283002, vr: 'US', value: [4, 0, 16] },
              { tag: 0x00283006, vr: 'OW', value: Uint16Array.from([0, 1, 2, 3]) },
            ],
          ],
        },
      ],
    );
    expect(presentation.modality).toEqual({
      kind: 'lut',
      lut: { first: 0, bits: 16, entries: Uint16Array.from([0, 1, 2, 3]) },
    });
    expect(presentation.windows).toEqual([{ center: 40, width: 400 }]);
  });
});
