import { describe, expect, it } from 'vitest';
import type { DatasetRow } from '../../../src/domain/dataset.js';
import type { DeidSpec } from '../../../src/domain/run-spec.js';
import { releaseDataset, type DeidRecords } from '../../../src/deid/released-dataset.js';

const deid: DeidSpec = {
  profile: 'basic',
  keep: ['00181030'],
  remove: [],
  staffNames: ['Ada Lovelace'],
  quarantine: true,
  keyId: 'k',
};

function row(ordinal: number, study: string, instance: string, report: string): DatasetRow {
  return {
    ordinal,
    studyId: study,
    seriesId: `${study}-s`,
    seriesNumber: 1,
    instanceId: instance,
    instanceNumber: 1,
    filePath: `/pacs/Smith/${instance}.dcm`,
    fileUrl: `file:///pacs/Smith/${instance}.dcm`,
    reportValue: report,
    fieldCreatedAt: '2024-03-02T10:00:00.000Z',
    status: 'delivered',
    downloaded: true,
    dicomKey: `dicom-files/${instance}.dcm`,
    images: [],
    dicomSize: 10,
    dicomSha256: 'ab',
    errorCode: null,
    errorMessage: null,
    recipe: null,
    attributes: null,
    exclusion: null,
  };
}

const S1_REPORT = 'John Smith seen 2024-03-02 by Ada Lovelace, MRN: 12345678.';
const rows: DatasetRow[] = [
  row(0, 'S1', 'I1', S1_REPORT),
  {
    ...row(1, 'S1', 'I3', S1_REPORT),
    status: 'excluded',
    exclusion: {
      reason: 'DUPLICATE_IMAGE',
      detail: 'same pixels as instance I1 (the same patient)',
    },
  },
  {
    ...row(2, 'S2', 'I2', 'Seen 2024-03-02.'),
    status: 'failed',
    downloaded: false,
    dicomKey: null,
    errorCode: 'FILE_MISSING',
    errorMessage: 'FILE_MISSING instance I2: no file /pacs/Smith/I2.dcm',
  },
];

const facts = (names: string[], ids: string[], dateShiftDays: number | null) => ({
  names,
  ids,
  institutions: [],
  addresses: [],
  phones: [],
  dateShiftDays,
});

const records: DeidRecords = {
  reports: [
    { studyId: 'S1', reportValue: S1_REPORT },
    { studyId: 'S2', reportValue: 'Seen 2024-03-02.' },
  ],
  // Two instances of S1: the study's report is scrubbed with what either header named.
  facts: [
    { studyId: 'S1', facts: facts(['Smith^John'], [], -10) },
    { studyId: 'S1', facts: facts([], ['12345678'], null) },
  ],
  pseudonyms: ['S1', 'S2', 'S1-s', 'S2-s', 'I1', 'I2', 'I3'].map((real) => ({
    kind: real.startsWith('I') ? 'instance' : real.endsWith('-s') ? 'series' : 'study',
    real,
    pseudonym: `pseudo-${real}`,
  })),
};

describe('releaseDataset', () => {
  it('gives rows with pseudonyms, no paths, a scrubbed report and a shifted report time', () => {
    const [first, excluded, failed] = releaseDataset(rows, records, deid).rows;
    expect(first).toMatchObject({
      studyId: 'pseudo-S1',
      seriesId: 'pseudo-S1-s',
      instanceId: 'pseudo-I1',
      filePath: null,
      fileUrl: null,
      dicomKey: 'dicom-files/I1.dcm',
      reportValue: '[NAME] seen 2024-02-21 by [NAME], MRN: [ID].',
      fieldCreatedAt: '2024-02-21T10:00:00.000Z',
    });
    // The gate's detail named the real id of the original: the reason's summary instead.
    expect(excluded?.exclusion?.detail).not.toContain('I1');
    expect(excluded?.exclusion?.reason).toBe('DUPLICATE_IMAGE');
    // No instance of S2 was read: its dates cannot be moved, so they go; the message named a path.
    expect(failed).toMatchObject({
      instanceId: 'pseudo-I2',
      reportValue: 'Seen [DATE].',
      fieldCreatedAt: null,
      errorCode: 'FILE_MISSING',
      errorMessage: 'DICOM file not found',
    });
    expect(JSON.stringify(releaseDataset(rows, records, deid).rows)).not.toMatch(
      /Smith|Lovelace|12345678|\/pacs/,
    );
  });

  it('describes the profile, the options, the tags kept and the replacements per rule', () => {
    const { deidentification } = releaseDataset(rows, records, deid);
    expect(deidentification).toMatchObject({
      keep: ['0018,1030'],
      remove: [],
      staffNames: 1,
      quarantine: true,
    });
    expect(deidentification.options.length).toBeGreaterThan(0);
    expect(deidentification.scrubCounts).toEqual({
      date: 2,
      'header-name': 1,
      'labelled-id': 1,
      'staff-name': 1,
    });
  });

  it('refuses to release a row whose id has no recorded pseudonym', () => {
    const missing = { ...records, pseudonyms: records.pseudonyms.filter((p) => p.real !== 'I2') };
    expect(() => releaseDataset(rows, missing, deid)).toThrow(
      /no pseudonym recorded for a instance/,
    );
  });
});
