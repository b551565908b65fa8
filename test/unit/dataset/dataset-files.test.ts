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
