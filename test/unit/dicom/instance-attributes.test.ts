import { describe, expect, it } from 'vitest';
import { readInstanceAttributes } from '../../../src/dicom/instance-attributes.js';
import { CR_IMAGE_STORAGE, grayDicom } from '../../support/render-dicom.js';

describe('readInstanceAttributes', () => {
  const pixels = new Uint16Array(4);

  it('reads the header facts the dataset files need, in both transfer syntaxes', () => {
    for (const transferSyntax of ['implicit-le', 'explicit-le'] as const) {
      const bytes = grayDicom({
        rows: 2,
        columns: 2,
        pixels,
        transferSyntax,
        sopClassUid: CR_IMAGE_STORAGE,
        extra: [
          { tag: 0x00080060, vr: 'CS', value: 'CR' },
          { tag: 0x00080008, vr: 'CS', value: ['DERIVED', 'SECONDARY'] },
          { tag: 0x00100020, vr: 'LO', value: 'MRN-77 ' },
          { tag: 0x00100040, vr: 'CS', value: 'F' },
          { tag: 0x00101010, vr: 'AS', value: '045Y' },
          { tag: 0x00080020, vr: 'DA', value: '20240302' },
          { tag: 0x00185101, vr: 'CS', value: 'PA' },
          { tag: 0x00200060, vr: 'CS', value: 'L' },
          { tag: 0x00180015, vr: 'CS', value: 'CHEST' },
          { tag: 0x00280301, vr: 'CS', value: 'NO' },
          { tag: 0x0008103e, vr: 'LO', value: 'Chest PA' },
          { tag: 0x00200020, vr: 'CS', value: ['L', 'F'] },
          {
            tag: 0x00540220,
            vr: 'SQ',
            value: [
              [
                { tag: 0x00080100, vr: 'SH', value: '399348003' },
                { tag: 0x00080102, vr: 'SH', value: 'SCT' },
                { tag: 0x00080104, vr: 'LO', value: 'postero-anterior' },
              ],
            ],
          },
        ],
      });
      expect(readInstanceAttributes(bytes)).toEqual({
        sopClassUid: CR_IMAGE_STORAGE,
        modality: 'CR',
        imageType: ['DERIVED', 'SECONDARY'],
        patientId: 'MRN-77',
        patientSex: 'F',
        patientAge: '045Y',
        studyDate: '20240302',
        viewPosition: 'PA',
        laterality: 'L',
        bodyPart: 'CHEST',
        burnedInAnnotation: 'NO',
        seriesDescription: 'Chest PA',
        viewCode: 'postero-anterior',
        patientOrientation: 'L\\F',
      });
    }
  });

  it('prefers Image Laterality to the series Laterality, and gives null for what is absent', () => {
    const bytes = grayDicom({
      rows: 2,
      columns: 2,
      pixels,
      extra: [
        { tag: 0x00200060, vr: 'CS', value: 'L' },
        { tag: 0x00200062, vr: 'CS', value: 'R' },
      ],
    });
    expect(readInstanceAttributes(bytes)).toMatchObject({
      laterality: 'R',
      patientId: null,
      viewPosition: null,
      imageType: [],
      viewCode: null,
      patientOrientation: null,
    });
  });

  it('takes a view code item without a meaning by its code value', () => {
    const bytes = grayDicom({
      rows: 2,
      columns: 2,
      pixels,
      extra: [
        {
          tag: 0x00540220,
          vr: 'SQ',
          value: [[{ tag: 0x00080100, vr: 'SH', value: 'R-10206' }]],
        },
      ],
    });
    expect(readInstanceAttributes(bytes)?.viewCode).toBe('R-10206');
  });

  it('is null for bytes that are not DICOM', () => {
    expect(readInstanceAttributes(new TextEncoder().encode('not a dicom file'))).toBeNull();
  });
});
