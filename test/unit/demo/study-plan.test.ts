import { describe, expect, it } from 'vitest';
import { SAMPLE_PACS_DEFAULTS } from '../../../src/demo/sample-pacs.js';
import {
  DELETED_STUDY_ORDINAL,
  planStudy,
  SOP_CLASS,
  type PlannedStudy,
} from '../../../src/demo/study-plan.js';

function liveStudies(seed: number, count: number): PlannedStudy[] {
  return Array.from({ length: count }, (_, k) => planStudy(seed, k + 1));
}

describe('planStudy', () => {
  it('is a pure function of seed and ordinal', () => {
    expect(planStudy(1, 3)).toEqual(planStudy(1, 3));
    expect(planStudy(1, 3).uid).not.toBe(planStudy(2, 3).uid);
    expect(planStudy(1, 3).uid).not.toBe(planStudy(1, 4).uid);
  });

  it('marks only ordinal 0 deleted', () => {
    expect(planStudy(1, DELETED_STUDY_ORDINAL).deleted).toBe(true);
    expect(liveStudies(1, 8).every((study) => !study.deleted)).toBe(true);
  });

  it('mixes radiographs and CT half and half, with every header variant in the default sample', () => {
    for (let seed = 1; seed <= 25; seed += 1) {
      const studies = liveStudies(seed, SAMPLE_PACS_DEFAULTS.studies);
      const radiographs = studies.flatMap((study) =>
        study.kind === 'chest-radiograph' ? [study] : [],
      );
      expect(radiographs).toHaveLength(studies.length / 2);
      const photometric = new Set(radiographs.map((study) => study.device.photometric));
      expect(photometric).toEqual(new Set(['MONOCHROME1', 'MONOCHROME2']));
      expect(radiographs.some((study) => study.device.windows === 0)).toBe(true);
      expect(radiographs.some((study) => study.device.windows === 2)).toBe(true);
      expect(radiographs.some((study) => !study.device.rescale)).toBe(true);
      expect(new Set(radiographs.map((study) => study.modality))).toEqual(new Set(['CR', 'DX']));
      const syntaxes = new Set(studies.map((study) => study.device.transferSyntax));
      expect(syntaxes).toEqual(new Set(['implicit-le', 'explicit-le']));
    }
  });

  it('plans chest radiographs as PA and lateral series at 2000-3000 px', () => {
    const radiographs = liveStudies(1, 16).flatMap((study) =>
      study.kind === 'chest-radiograph' ? [study] : [],
    );
    for (const study of radiographs) {
      expect(study.sopClassUid).toBe(SOP_CLASS[study.modality]);
      // A third series, when there is one, is a defect case (a re-sent PA or a blank plate).
      const regular = study.series.slice(0, 2);
      for (const extra of study.series.slice(2)) {
        expect(extra.instances.every((instance) => instance.quirk !== undefined)).toBe(true);
      }
      expect(regular.map((series) => series.instances.length)).toEqual([1, 1]);
      const views = regular.map((series) =>
        series.instances[0]?.image.kind === 'radiograph' ? series.instances[0].image.view : '',
      );
      expect(views).toEqual(['PA', 'LL']);
      for (const series of regular) {
        for (const { image } of series.instances) {
          if (image.kind !== 'radiograph') throw new Error('expected a radiograph');
          expect(image.rows).toBeGreaterThanOrEqual(2000);
          expect(image.rows).toBeLessThanOrEqual(3000);
          expect(image.columns).toBeGreaterThanOrEqual(2000);
          expect(image.columns).toBeLessThanOrEqual(3000);
        }
      }
      expect(study.device.bitsStored).toBeGreaterThanOrEqual(12);
      expect(study.device.bitsStored).toBeLessThanOrEqual(14);
    }
  });

  it('plans CT as two kernels over the same 4-8 consistently spaced slices', () => {
    const cts = liveStudies(1, 16).flatMap((study) => (study.kind === 'chest-ct' ? [study] : []));
    expect(cts.length).toBeGreaterThan(0);
    for (const study of cts) {
      const regular = study.series.filter((series) =>
        series.instances.every((instance) => instance.quirk === undefined),
      );
      expect(regular).toHaveLength(2);
      const [lung, soft] = regular.map((series) =>
        series.instances.map((instance) =>
          instance.image.kind === 'ct-slice' ? instance.image.sliceLocation : NaN,
        ),
      );
      expect(lung).toEqual(soft);
      expect(lung?.length).toBeGreaterThanOrEqual(4);
      expect(lung?.length).toBeLessThanOrEqual(8);
      lung?.slice(1).forEach((location, n) => {
        expect((lung[n] as number) - location).toBeCloseTo(study.sliceSpacing, 6);
      });
    }
  });

  it('gives every row a unique seven-digit id and every object a unique 2.25 UID', () => {
    const studies = [planStudy(7, DELETED_STUDY_ORDINAL), ...liveStudies(7, 40)];
    const ids = {
      study: studies.map((study) => study.id),
      series: studies.flatMap((study) => study.series.map((series) => series.id)),
      instance: studies.flatMap((study) =>
        study.series.flatMap((series) => series.instances.map((instance) => instance.id)),
      ),
      field: studies.flatMap((study) => study.reportFields.map((field) => field.id)),
    };
    for (const list of Object.values(ids)) {
      expect(new Set(list).size).toBe(list.length);
      for (const id of list) expect(String(id)).toMatch(/^\d{7}$/);
    }
    expect(ids.study).toEqual([...ids.study].sort((a, b) => a - b));
    const uids = studies.flatMap((study) => [
      study.uid,
      ...study.series.flatMap((series) => [
        series.uid,
        ...series.instances.map((instance) => instance.sopInstanceUid),
      ]),
    ]);
    expect(new Set(uids).size).toBe(uids.length);
    for (const uid of uids) {
      expect(uid).toMatch(/^2\.25\.[1-9]\d*$/);
      expect(uid.length).toBeLessThanOrEqual(64);
    }
  });

  it('stores files under date/study/series/instance paths', () => {
    const study = planStudy(1, 2);
    const [year, month, day] = study.date.split('-');
    for (const series of study.series) {
      for (const instance of series.instances) {
        expect(instance.filePath).toBe(
          `${year}/${month}/${day}/${study.uid}/${series.uid}/${instance.sopInstanceUid}.dcm`,
        );
      }
    }
  });

  it('writes 2-4 report fields, minutes apart, whose text stresses CSV quoting', () => {
    const shortReport = (study: PlannedStudy) =>
      study.reportFields.length === 1 && study.reportFields[0]!.value === 'Report to follow.';
    for (const study of [planStudy(1, 0), ...liveStudies(1, 30)].filter((s) => !shortReport(s))) {
      const names = study.reportFields.map((field) => field.name);
      expect(names.length).toBeGreaterThanOrEqual(2);
      expect(names.length).toBeLessThanOrEqual(4);
      expect(names.slice(-2)).toEqual(['findings', 'impression']);
      const times = study.reportFields.map((field) => Date.parse(field.createdAt));
      times.slice(1).forEach((time, n) => {
        const gap = time - (times[n] as number);
        expect(gap).toBeGreaterThanOrEqual(60_000);
        expect(gap).toBeLessThanOrEqual(10 * 60_000);
      });
      const text = study.reportFields.map((field) => field.value).join('');
      expect(text).toContain(',');
      expect(text).toContain('"');
      expect(text).toContain('\n');
      expect(text).toMatch(/[^\p{ASCII}]/u);
    }
    const all = liveStudies(1, 30).flatMap((study) =>
      study.reportFields.map((field) => field.value),
    );
    expect(new Set(all).size).toBeGreaterThan(all.length / 2);
    expect(all.join('')).toMatch(/Rö/);
    expect(all.join('')).toMatch(/µ/);
  });

  it('has a case for every quality gate in the default sample, and patients with several studies', () => {
    for (const seed of [1, 2, 3]) {
      const studies = liveStudies(seed, SAMPLE_PACS_DEFAULTS.studies);
      const quirks = studies.flatMap((study) =>
        study.series.flatMap((series) => series.instances.flatMap((i) => i.quirk ?? [])),
      );
      expect(new Set(quirks)).toEqual(
        new Set([
          'mislabelled-polarity',
          'resent-copy',
          'resent-noisy-copy',
          'unexposed',
          'localizer',
          'reformat',
          'dose-screen',
        ]),
      );
      expect(studies.filter((study) => study.reportFields.length === 1)).toHaveLength(1);
      const patients = studies.map((study) => study.patient.id);
      expect(new Set(patients).size).toBe(patients.length - 2);
      const returning = studies[3]!;
      expect(returning.patient).toMatchObject({
        id: studies[0]!.patient.id,
        name: studies[0]!.patient.name,
        birthDate: studies[0]!.patient.birthDate,
      });
    }
  });

  it('keeps the heart size in the report consistent with the anatomy', () => {
    for (const study of liveStudies(3, 30)) {
      const findings = study.reportFields.find((field) => field.name === 'findings')?.value ?? '';
      const enlarged = study.anatomy.cardiothoracicRatio > 0.52;
      expect(findings.includes('Heart: enlarged')).toBe(enlarged);
    }
  });
});
