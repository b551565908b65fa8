import { describe, expect, it } from 'vitest';
import { metadataLines, studyLines, toJsonl } from '../../../src/dataset/dataset-jsonl.js';
import { buildManifest, datasetVersion } from '../../../src/dataset/dataset-manifest.js';
import { buildExcludedCsv } from '../../../src/dataset/excluded-csv.js';
import type { StudySplits } from '../../../src/dataset/patient-splits.js';
import { parseCsv } from '../../support/rfc4180.js';
import { datasetRow, failedRow } from './dataset-rows.js';

const SPLITS: StudySplits = {
  patientOf: new Map([
    ['S1', 'P1'],
    ['S2', 'P2'],
  ]),
  splitOf: new Map([
    ['S1', 'train'],
    ['S2', 'test'],
  ]),
};

const rows = [
  datasetRow({
    ordinal: 0,
    instanceId: 'a',
    reportValue: 'INDICATION: cough\nFINDINGS: clear lungs\nIMPRESSION: normal',
  }),
  datasetRow({ ordinal: 1, instanceId: 'b', seriesId: 'SE2' }),
  datasetRow({
    ordinal: 2,
    studyId: 'S2',
    instanceId: 'c',
    status: 'excluded',
    dicomKey: null,
    downloaded: false,
    images: [],
    exclusion: { reason: 'BLANK_IMAGE', detail: 'grey-level std 0 (below 3)' },
  }),
  failedRow({ ordinal: 3, studyId: 'S2', instanceId: 'd' }),
];

describe('metadata.jsonl', () => {
  const lines = metadataLines(rows, SPLITS);

  it('has one line per delivered image, file_name relative to the dataset root', () => {
    expect(lines.map((line) => line.file_name)).toEqual(['images-jpg/a.jpg', 'images-jpg/b.jpg']);
    expect(lines[0]).toMatchObject({
      split: 'train',
      patient_id: 'P1',
      study_id: 'S1',
      instance_id: 'a',
      modality: 'CR',
      view_position: 'PA',
      width: 512,
      height: 256,
      sections: { indication: 'cough', findings: 'clear lungs', impression: 'normal' },
      sections_parsed: true,
      recipe: { window_source: 'file', window_center: 40, codec: 'jpeg' },
    });
    // A study's report is parsed once, from its first row: all its images carry the same.
    expect(lines[1]?.sections).toEqual(lines[0]?.sections);
  });

  it('writes the same keys on every line and no second image column', () => {
    const text = toJsonl(lines);
    expect(text.endsWith('\n')).toBe(true);
    const parsed = text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const keys = Object.keys(parsed[0]!);
    for (const line of parsed) expect(Object.keys(line)).toEqual(keys);
    // imagefolder turns `*_file_name(s)` keys into image columns.
    expect(keys.filter((key) => /(^|_)file_names?$/.test(key))).toEqual(['file_name']);
  });
});

describe('studies.jsonl', () => {
  it('has one line per study with a delivered image, listing its images', () => {
    const studies = studyLines(rows, SPLITS);
    expect(studies).toHaveLength(1);
    expect(studies[0]).toMatchObject({
      study_id: 'S1',
      patient_id: 'P1',
      split: 'train',
      file_names: ['images-jpg/a.jpg', 'images-jpg/b.jpg'],
    });
    expect(studies[0]?.instances.map((instance) => instance.series_id)).toEqual(['SE1', 'SE2']);
  });
});

describe('studies.jsonl priors and views', () => {
  const attributes = datasetRow().attributes!;
  const study = (studyId: string, patient: string, date: string, views: string[]) =>
    views.map((viewPosition, index) =>
      datasetRow({
        studyId,
        instanceId: `${studyId}-${index}`,
        reportValue: `FINDINGS: study ${studyId}\nIMPRESSION: impression ${studyId}`,
        attributes: { ...attributes, patientId: patient, studyDate: date, viewPosition },
      }),
    );
  // Patient P1: three studies, two on one day; P2: one study. Rows out of date order.
  const rows = [
    ...study('S3', 'P1', '20240310', ['PA', 'LL']),
    ...study('S1', 'P1', '20240101', ['AP']),
    ...study('S2', 'P1', '20240310', ['PA']),
    ...study('S4', 'P2', '20230505', ['PA']),
  ].map((row, ordinal) => ({ ...row, ordinal }));
  const splits: StudySplits = {
    patientOf: new Map([
      ['S1', 'P1'],
      ['S2', 'P1'],
      ['S3', 'P1'],
      ['S4', 'P2'],
    ]),
    splitOf: new Map(['S1', 'S2', 'S3', 'S4'].map((id) => [id, 'train'])),
  };

  it('links each study to the patient’s latest earlier study, never one of the same day', () => {
    const lines = new Map(studyLines(rows, splits).map((line) => [line.study_id, line]));
    expect(lines.get('S1')?.prior).toBeNull();
    expect(lines.get('S4')?.prior).toBeNull();
    for (const id of ['S2', 'S3']) {
      expect(lines.get(id)?.prior).toEqual({
        study_id: 'S1',
        interval_days: 69,
        report: 'FINDINGS: study S1\nIMPRESSION: impression S1',
        sections: {
          indication: null,
          technique: null,
          comparison: null,
          findings: 'study S1',
          impression: 'impression S1',
        },
        file_names: ['images-jpg/S1-0.jpg'],
        views: ['AP'],
      });
    }
    expect(lines.get('S3')?.study_date).toBe('2024-03-10');
  });

  it('links the same priors whatever order the selection has', () => {
    const links = (lines: ReturnType<typeof studyLines>) =>
      Object.fromEntries(
        lines.map((line) => [
          line.study_id,
          line.prior && [line.prior.study_id, line.prior.interval_days],
        ]),
      );
    const reversed = [...rows].reverse().map((row, ordinal) => ({ ...row, ordinal }));
    expect(studyLines(reversed, splits).map((line) => line.study_id)).toEqual([
      'S4',
      'S2',
      'S1',
      'S3',
    ]);
    expect(links(studyLines(reversed, splits))).toEqual(links(studyLines(rows, splits)));
  });

  it('gives every image its normalised view and where it came from', () => {
    const s3 = studyLines(rows, splits).find((line) => line.study_id === 'S3');
    expect(s3?.instances.map(({ view, view_source }) => [view, view_source])).toEqual([
      ['PA', 'view_position'],
      ['LL', 'view_position'],
    ]);
    const [line] = metadataLines(rows.slice(0, 1), splits);
    expect(line).toMatchObject({ view: 'PA', view_source: 'view_position' });
  });
});

describe('excluded.csv', () => {
  it('lists excluded instances with their reason', () => {
    const records = parseCsv(buildExcludedCsv(rows));
    expect(records[0]).toEqual([
      'instance_id',
      'study_id',
      'series_id',
      'exclusion_reason',
      'exclusion_detail',
      'file_url',
    ]);
    expect(records.slice(1)).toEqual([
      ['c', 'S2', 'SE1', 'BLANK_IMAGE', 'grey-level std 0 (below 3)', 'file:///pacs/c.dcm'],
    ]);
  });
});

describe('manifest.json', () => {
  const files = { 'metadata.jsonl': new TextEncoder().encode('{}\n') };
  const manifest = buildManifest(rows, files);

  it('lists delivered objects and data files with their SHA-256, sorted by key', () => {
    expect(Object.keys(manifest.objects)).toEqual([
      'dicom-files/a.dcm',
      'dicom-files/b.dcm',
      'images-jpg/a.jpg',
      'images-jpg/b.jpg',
      'metadata.jsonl',
    ]);
    expect(manifest.objects['images-jpg/a.jpg']).toEqual({ sha256: 'b'.repeat(64), size: 567 });
    expect(manifest.objects['metadata.jsonl']?.sha256).toBe(
      'ca3d163bab055381827226140568f3bef7eaac187cebd76878e0b63e9e442356',
    );
  });

  it('derives the version from the entries: same entries, same version; any change, another', () => {
    expect(manifest.version).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(buildManifest([...rows].reverse(), files).version).toBe(manifest.version);
    const changed = {
      ...manifest.objects,
      'images-jpg/a.jpg': { sha256: 'c'.repeat(64), size: 567 },
    };
    expect(datasetVersion(changed)).not.toBe(manifest.version);
    const resized = {
      ...manifest.objects,
      'images-jpg/a.jpg': { sha256: 'b'.repeat(64), size: 568 },
    };
    expect(datasetVersion(resized)).not.toBe(manifest.version);
  });
});
