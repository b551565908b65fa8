import { describe, expect, it } from 'vitest';
import { priorStudies } from '../../../src/dataset/prior-studies.js';

describe('priorStudies', () => {
  it('links each study to the latest earlier one of the same patient', () => {
    const priors = priorStudies([
      { studyId: 'c', patientId: 'p', studyDate: '20240301' },
      { studyId: 'a', patientId: 'p', studyDate: '20231231' },
      { studyId: 'b', patientId: 'p', studyDate: '20240229' },
      { studyId: 'x', patientId: 'q', studyDate: '20240228' },
    ]);
    expect(Object.fromEntries(priors)).toEqual({
      b: { studyId: 'a', intervalDays: 60 },
      c: { studyId: 'b', intervalDays: 1 },
    });
  });

  it('never links studies of one day, and picks among earlier ones of a day by id', () => {
    const priors = priorStudies([
      { studyId: 'm2', patientId: 'p', studyDate: '20240105' },
      { studyId: 'm1', patientId: 'p', studyDate: '20240105' },
      { studyId: 'late', patientId: 'p', studyDate: '20240110' },
    ]);
    expect(priors.has('m1')).toBe(false);
    expect(priors.has('m2')).toBe(false);
    expect(priors.get('late')).toEqual({ studyId: 'm2', intervalDays: 5 });
  });

  it('leaves out studies without a real date, as neither prior nor follow-up', () => {
    const priors = priorStudies([
      { studyId: 'a', patientId: 'p', studyDate: '20240101' },
      { studyId: 'bad', patientId: 'p', studyDate: '20240231' },
      { studyId: 'none', patientId: 'p', studyDate: null },
      { studyId: 'text', patientId: 'p', studyDate: '2024-02-01' },
      { studyId: 'b', patientId: 'p', studyDate: '20240301' },
    ]);
    expect([...priors.keys()]).toEqual(['b']);
    expect(priors.get('b')).toEqual({ studyId: 'a', intervalDays: 60 });
  });
});
