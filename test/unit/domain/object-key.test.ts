import { describe, expect, it } from 'vitest';
import { checkInstanceId, checkObjectKey } from '../../../src/domain/object-key.js';
import { thrown } from '../../support/thrown.js';

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
