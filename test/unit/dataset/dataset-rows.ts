import type { DatasetRow } from '../../../src/domain/dataset.js';

/** A delivered row with plausible values; tests override what they look at. */
export function datasetRow(overrides: Partial<DatasetRow> = {}): DatasetRow {
  const instanceId = overrides.instanceId ?? '1001';
  return {
    ordinal: 0,
    studyId: 'S1',
    seriesId: 'SE1',
    seriesNumber: 1,
    instanceId,
    instanceNumber: 1,
    filePath: `/pacs/${instanceId}.dcm`,
    fileUrl: `file:///pacs/${instanceId}.dcm`,
    reportValue: 'No acute findings.',
    fieldCreatedAt: '2024-01-02T03:04:05.000Z',
    status: 'delivered',
    downloaded: true,
    dicomKey: `dicom-files/${instanceId}.dcm`,
    dicomSize: 1234,
    dicomSha256: 'a'.repeat(64),
    images: [{ frame: 1, key: `images-jpg/${instanceId}.jpg`, size: 567, sha256: 'b'.repeat(64) }],
    errorCode: null,
    errorMessage: null,
    recipe: {
      windowSource: 'file',
      windowCenter: 40,
      windowWidth: 400.5,
      voiFunction: 'LINEAR',
      inverted: false,
      photometricInterpretation: 'MONOCHROME2',
      rescaleSlope: 1,
      rescaleIntercept: -1024,
      bitsStored: 12,
      frame: 1,
      width: 512,
      height: 256,
      codec: 'jpeg',
      quality: 90,
    },
    attributes: {
      sopClassUid: '1.2.840.10008.5.1.4.1.1.1',
      modality: 'CR',
      imageType: ['ORIGINAL', 'PRIMARY'],
      patientId: 'P1',
      patientSex: 'F',
      patientAge: '045Y',
      studyDate: '20240102',
      viewPosition: 'PA',
      laterality: null,
      bodyPart: 'CHEST',
      burnedInAnnotation: 'NO',
      seriesDescription: 'Chest PA',
    },
    exclusion: null,
    ...overrides,
  };
}

export function failedRow(overrides: Partial<DatasetRow> = {}): DatasetRow {
  return datasetRow({
    status: 'failed',
    downloaded: false,
    dicomKey: null,
    dicomSize: null,
    dicomSha256: null,
    images: [],
    errorCode: 'FILE_MISSING',
    errorMessage: 'no such file',
    recipe: null,
    ...overrides,
  });
}
