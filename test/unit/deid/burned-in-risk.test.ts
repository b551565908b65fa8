import { describe, expect, it } from 'vitest';
import { burnedInRisk } from '../../../src/deid/burned-in-risk.js';
import type { InstanceAttributes } from '../../../src/domain/dataset.js';

const plain: InstanceAttributes = {
  sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1',
  modality: 'DX',
  imageType: ['ORIGINAL', 'PRIMARY'],
  patientId: null,
  patientSex: null,
  patientAge: null,
  studyDate: null,
  viewPosition: 'PA',
  laterality: null,
  bodyPart: 'CHEST',
  burnedInAnnotation: 'NO',
  seriesDescription: null,
};

describe('burnedInRisk', () => {
  it('lets an original radiograph without burned-in annotation through', () => {
    expect(burnedInRisk(plain)).toBeNull();
  });

  it.each([
    ['Burned In Annotation YES', { burnedInAnnotation: 'YES' }, /0028,0301/],
    ['a secondary capture', { sopClassUid: '1.2.840.10008.5.1.4.1.1.7' }, /secondary capture/],
    ['ultrasound', { modality: 'US' }, /modality US/],
    ['modality SC', { modality: 'sc' }, /modality SC/],
    ['DERIVED\\SECONDARY', { imageType: ['DERIVED', 'SECONDARY', 'AXIAL'] }, /DERIVED/],
  ])('flags %s', (_, change, detail) => {
    const risk = burnedInRisk({ ...plain, ...change });
    expect(risk?.reason).toBe('BURNED_IN_RISK');
    expect(risk?.detail).toMatch(detail);
  });

  it('does not flag DERIVED\\PRIMARY', () => {
    expect(burnedInRisk({ ...plain, imageType: ['DERIVED', 'PRIMARY'] })).toBeNull();
  });
});
