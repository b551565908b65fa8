import { describe, expect, it } from 'vitest';
import { hammingDistance, nearDuplicateOf } from '../../../src/quality/near-duplicates.js';

describe('near duplicates', () => {
  it('counts differing bits', () => {
    expect(hammingDistance('00', 'ff')).toBe(8);
    expect(hammingDistance('0f0f', '0f0e')).toBe(1);
    expect(hammingDistance('abc', 'abc')).toBe(0);
  });

  it('calls two images near duplicates only when both dHash and thumbnail are close', () => {
    const grey = (level: number) => Buffer.alloc(16, level).toString('base64');
    const isNear = nearDuplicateOf({ dHash: '00ff', thumbnail: grey(100) }, { bits: 2, grey: 1 });
    expect(isNear({ dHash: '00fc', thumbnail: grey(101) })).toBe(
      'dHash 2 bits and thumbnail 1.00 grey levels',
    );
    // One bit too many, or a thumbnail two levels off: another image that merely looks alike.
    expect(isNear({ dHash: '00f8', thumbnail: grey(100) })).toBeNull();
    expect(isNear({ dHash: '00ff', thumbnail: grey(102) })).toBeNull();
    // Thumbnails of different sizes are never compared as equal.
    expect(
      isNear({ dHash: '00ff', thumbnail: Buffer.alloc(8, 100).toString('base64') }),
    ).toBeNull();
  });
});
