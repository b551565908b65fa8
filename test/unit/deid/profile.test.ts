import { describe, expect, it } from 'vitest';
import { elementAction, rowAction } from '../../../src/deid/profile.js';
import { PROFILE_EDITION, PROFILE_ROWS } from '../../../src/deid/profile-table.js';

const none = { keep: new Set<number>(), remove: new Set<number>() };
const row = (keyword: string) => {
  const found = PROFILE_ROWS.find((candidate) => candidate.keyword === keyword);
  if (found === undefined) throw new Error(`no row ${keyword}`);
  return found;
};

describe('the profile table', () => {
  it('records its edition and holds each tag once, written as 8 hex digits', () => {
    expect(PROFILE_EDITION).toMatch(/^20\d\d[a-e]$/);
    const tags = PROFILE_ROWS.map((entry) => entry.tag);
    expect(new Set(tags).size).toBe(tags.length);
    for (const tag of tags) expect(tag).toMatch(/^[0-9A-F]{2}([0-9A-F]{2}|xx)[0-9A-F]{4}$/);
    expect(PROFILE_ROWS.length).toBeGreaterThan(250);
  });

  it('applies the options over the Basic Profile', () => {
    expect(rowAction(row('StudyDate'))).toBe('C'); // Z, modified dates: C
    expect(rowAction(row('PatientBirthDate'))).toBe('Z'); // no option column
    expect(rowAction(row('StudyDescription'))).toBe('C'); // X, clean descriptors: C
    expect(rowAction(row('PatientName'))).toBe('Z');
    expect(rowAction(row('StudyInstanceUID'))).toBe('U');
    expect(rowAction(row('PatientAge'))).toBe('X');
  });

  it('resolves combined codes to the least removing one, and removes sequences instead of emptying them', () => {
    expect(rowAction(row('InstitutionName'))).toBe('D'); // X/Z/D
    expect(rowAction(row('OperatorsName'))).toBe('D'); // X/Z/D
    expect(rowAction(row('PatientSexNeutered'))).toBe('Z'); // X/Z
    expect(rowAction(row('ReferencedImageSequence'))).toBe('U'); // X/Z/U*
    expect(rowAction(row('ReferencedStudySequence'))).toBe('X'); // X/Z, a sequence
    expect(rowAction(row('VerifyingObserverIdentificationCodeSequence'))).toBe('Z');
  });
});

describe('elementAction', () => {
  it('removes private tags, group lengths and unlisted names; shifts unlisted dates', () => {
    expect(elementAction(0x00091001, 'LO', none).code).toBe('X');
    expect(elementAction(0x00090010, 'LO', none).reason).toBe('private tag');
    expect(elementAction(0x00080000, 'UL', none).code).toBe('X');
    expect(elementAction(0x00321066, 'PN', none).code).toBe('Z');
    expect(elementAction(0x00181203, 'DA', none).code).toBe('C');
    expect(elementAction(0x00080070, 'LO', none).code).toBe('K');
  });

  it('follows --deid-remove, then --deid-keep, before the table', () => {
    const overrides = { keep: new Set([0x00101010, 0x00080070]), remove: new Set([0x00080070]) };
    expect(elementAction(0x00101010, undefined, overrides)).toMatchObject({ code: 'K', vr: 'AS' });
    expect(elementAction(0x00080070, 'LO', overrides).code).toBe('X');
  });

  it('finds repeating-group rows (60xx)', () => {
    expect(elementAction(0x60024000, undefined, none)).toMatchObject({ code: 'X', vr: 'LT' });
  });
});
