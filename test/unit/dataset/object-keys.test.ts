import { describe, expect, it } from 'vitest';
import { datasetKeys, type DatasetObjectKey } from '../../../src/dataset/object-keys.js';
import { thrown } from '../../support/thrown.js';

describe('datasetKeys', () => {
  it('gives relative and full keys in the original layout', () => {
    const keys = datasetKeys('eden-dataset-vlms/sample-test');
    const dicom: DatasetObjectKey = {
      relative: 'dicom-files/123.dcm',
      full: 'eden-dataset-vlms/sample-test/dicom-files/123.dcm',
    };
    expect(keys.dicom('123')).toEqual(dicom);
    expect(keys.image('1.2.840.1', 'jpeg', null)).toEqual({
      relative: 'images-jpg/1.2.840.1.jpg',
      full: 'eden-dataset-vlms/sample-test/images-jpg/1.2.840.1.jpg',
    });
    expect(keys.image('7', 'jpeg', 3).relative).toBe('images-jpg/7_3.jpg');
    expect(keys.image('7', 'png', null).relative).toBe('images-png/7.png');
    expect(keys.image('7', 'png', 12).relative).toBe('images-png/7_12.png');
    expect(keys.csv.full).toBe('eden-dataset-vlms/sample-test/dicom-reports-extracted-sample.csv');
    expect(keys.readme.full).toBe('eden-dataset-vlms/sample-test/README-dataset.md');
    expect(keys.failures.relative).toBe('failures.csv');
  });

  it('puts objects at the root when the prefix is empty', () => {
    const keys = datasetKeys('');
    expect(keys.dicom('9').full).toBe('dicom-files/9.dcm');
    expect(keys.csv.full).toBe('dicom-reports-extracted-sample.csv');
  });

  it('refuses unsafe instance ids and prefixes', () => {
    expect(thrown(() => datasetKeys('p').dicom('../etc/passwd')).code).toBe('INVALID_IDENTIFIER');
    expect(thrown(() => datasetKeys('/abs')).code).toBe('INVALID_IDENTIFIER');
  });
});
