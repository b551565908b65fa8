import { describe, expect, it } from 'vitest';
import { EtlError } from '../../../src/domain/errors.js';
import {
  checkInstanceId,
  checkObjectKey,
  datasetKeys,
  type DatasetObjectKey,
} from '../../../src/dataset/object-keys.js';

function thrown(fn: () => unknown): EtlError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EtlError);
    return error as EtlError;
  }
  throw new Error('expected a throw');
}

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

describe('checkInstanceId', () => {
  it.each(['123', '1.2.840.10008.5.1.4.1.1.2', 'abc-DEF_ghi', 'é🙂', 'x'.repeat(200)])(
    'accepts %j',
    (id) => {
      expect(checkInstanceId(id)).toBe(id);
    },
  );

  it.each([
    ['', 'non-empty'],
    ['a/b', "'/'"],
    ['a\\b', "'\\'"],
    ['..', "'..'"],
    ['1..2', "'..'"],
    ['.hidden', "leading '.'"],
    ['nul\u0000', 'control'],
    ['tab\there', 'control'],
    ['line\nbreak', 'control'],
    ['x'.repeat(201), 'at most 200 bytes'],
    ['é'.repeat(101), 'at most 200 bytes'],
  ])('rejects %j naming it', (id, expected) => {
    const error = thrown(() => checkInstanceId(id));
    expect(error.code).toBe('INVALID_IDENTIFIER');
    expect(error.subject).toBe(id);
    expect(error.message).toContain(JSON.stringify(id));
    expect(error.message).toContain(expected);
  });
});

describe('checkObjectKey', () => {
  it('accepts nested plain names', () => {
    expect(checkObjectKey('a/b c/d.dcm')).toBe('a/b c/d.dcm');
  });

  it.each(['', '/a', 'a/', 'a//b', 'a/../b', './a', 'a\\b', 'a\u0000b', 'a\rb', 'k'.repeat(1025)])(
    'rejects %j',
    (key) => {
      expect(thrown(() => checkObjectKey(key)).code).toBe('INVALID_IDENTIFIER');
    },
  );
});
