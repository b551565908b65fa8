import { describe, expect, it } from 'vitest';
import {
  assignSplits,
  DEFAULT_SPLIT_KEY,
  patientsInSeveralSplits,
  splitKeyFingerprint,
  splitOf,
} from '../../../src/dataset/patient-splits.js';
import { datasetRow } from './dataset-rows.js';

const SHARES = [
  { name: 'train', fraction: 0.8 },
  { name: 'validate', fraction: 0.1 },
  { name: 'test', fraction: 0.1 },
];

describe('patient splits', () => {
  it('is a pure function of key, patient id and fractions', () => {
    expect(splitOf('P1', DEFAULT_SPLIT_KEY, SHARES)).toBe(splitOf('P1', DEFAULT_SPLIT_KEY, SHARES));
    const ids = Array.from({ length: 200 }, (_, n) => `P${n}`);
    const one = ids.map((id) => splitOf(id, 'k'.repeat(16), SHARES));
    const other = ids.map((id) => splitOf(id, 'q'.repeat(16), SHARES));
    expect(one).toEqual(ids.map((id) => splitOf(id, 'k'.repeat(16), SHARES)));
    // Another key shuffles patients: about 1 - (0.8² + 0.1² + 0.1²) = 34% move.
    const moved = one.filter((split, n) => split !== other[n]).length;
    expect(moved).toBeGreaterThan(30);
    expect(moved).toBeLessThan(110);
  });

  it('gives each split its fraction of many patients', () => {
    const counts = new Map<string, number>();
    const n = 20_000;
    for (let i = 0; i < n; i += 1) {
      const split = splitOf(`patient-${i}`, DEFAULT_SPLIT_KEY, SHARES);
      counts.set(split, (counts.get(split) ?? 0) + 1);
    }
    // Binomial standard deviations: 0.8 → 57, 0.1 → 42; five of them is far from flaky.
    expect(Math.abs(counts.get('train')! - 0.8 * n)).toBeLessThan(300);
    expect(Math.abs(counts.get('validate')! - 0.1 * n)).toBeLessThan(250);
    expect(Math.abs(counts.get('test')! - 0.1 * n)).toBeLessThan(250);
  });

  it('puts a patient where the hash falls in the cumulative fractions', () => {
    // Fractions 0.5/0.5 against 1/1e-9-ish splits: a patient in the first half stays in `a`
    // when the rest is cut differently.
    const ids = Array.from({ length: 300 }, (_, n) => `P${n}`);
    const halves = [
      { name: 'a', fraction: 0.5 },
      { name: 'b', fraction: 0.5 },
    ];
    const thirds = [
      { name: 'a', fraction: 0.5 },
      { name: 'b', fraction: 0.25 },
      { name: 'c', fraction: 0.25 },
    ];
    for (const id of ids) {
      const half = splitOf(id, DEFAULT_SPLIT_KEY, halves);
      const third = splitOf(id, DEFAULT_SPLIT_KEY, thirds);
      expect(half === 'a').toBe(third === 'a');
    }
  });

  it('puts every study of a patient in one split, and splits a study without patient on its own', () => {
    const rows = [
      ...Array.from({ length: 40 }, (_, n) =>
        datasetRow({
          studyId: `S${n}`,
          instanceId: `I${n}`,
          attributes: { ...datasetRow().attributes!, patientId: `P${n % 7}` },
        }),
      ),
      datasetRow({ studyId: 'LOST', instanceId: 'I-lost', attributes: null }),
    ];
    const { patientOf, splitOf: studySplit } = assignSplits(rows, DEFAULT_SPLIT_KEY, SHARES);
    const byPatient = new Map<string, Set<string>>();
    for (const [study, patient] of patientOf) {
      byPatient.set(patient, (byPatient.get(patient) ?? new Set()).add(studySplit.get(study)!));
    }
    expect(byPatient.size).toBe(8);
    for (const splits of byPatient.values()) expect(splits.size).toBe(1);
    expect(patientOf.get('LOST')).toBe('study:LOST');
    expect(studySplit.get('LOST')).toBe(splitOf('study:LOST', DEFAULT_SPLIT_KEY, SHARES));
  });

  it('takes a later instance’s patient id when the first instance has none', () => {
    const rows = [
      datasetRow({ studyId: 'S', instanceId: 'a', attributes: null }),
      datasetRow({ studyId: 'S', instanceId: 'b' }),
    ];
    expect(assignSplits(rows, DEFAULT_SPLIT_KEY, SHARES).patientOf.get('S')).toBe('P1');
  });

  it('audits leakage: patients in more than one split', () => {
    expect(
      patientsInSeveralSplits([
        { patient_id: 'A', split: 'train' },
        { patient_id: 'A', split: 'train' },
        { patient_id: 'B', split: 'test' },
      ]).size,
    ).toBe(0);
    expect([
      ...patientsInSeveralSplits([
        { patient_id: 'A', split: 'train' },
        { patient_id: 'A', split: 'test' },
      ]),
    ]).toEqual([['A', ['test', 'train']]]);
  });

  it('fingerprints a key without revealing it', () => {
    const fingerprint = splitKeyFingerprint('a secret of sixteen+');
    expect(fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprint).not.toContain('secret');
    expect(splitKeyFingerprint('another secret key')).not.toBe(fingerprint);
  });
});
