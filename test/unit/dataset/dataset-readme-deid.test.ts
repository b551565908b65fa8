import { describe, expect, it } from 'vitest';
import type { DatasetDescription } from '../../../src/domain/dataset.js';
import { buildDatasetReadme, NOT_DEIDENTIFIED } from '../../../src/dataset/dataset-readme.js';

const description: DatasetDescription = {
  runId: 'run-1',
  startedAt: '2026-11-26T04:10:00.000Z',
  finishedAt: '2026-11-26T04:12:00.000Z',
  source: 'pglite:/pacs',
  destination: 'gs://bucket/eden',
  query: { name: 'q', sha256: 'f'.repeat(64), text: 'SELECT 1' },
  parameters: {},
  counts: {
    studies: 1,
    instances: 2,
    delivered: 2,
    failed: 0,
    excluded: 0,
    failuresByCode: {},
    dicomBytes: 10,
    imageBytes: 5,
  },
  toolVersion: '0.1.0',
  images: { format: 'jpeg', everyFrame: false },
  deidentification: {
    profile:
      'Basic Application Level Confidentiality Profile, DICOM PS3.15 Annex E (Table E.1-1, edition 2024b)',
    options: [
      'Retain Longitudinal Temporal Information Modified Dates Option',
      'Clean Descriptors Option',
    ],
    keep: ['0010,1010'],
    remove: [],
    staffNames: 3,
    quarantine: true,
    scrubCounts: { date: 4, 'header-name': 2 },
  },
};

describe('the dataset card of a de-identified dataset', () => {
  const card = buildDatasetReadme(description);

  it('says it is de-identified, by which profile, edition and options', () => {
    expect(card).not.toContain(NOT_DEIDENTIFIED);
    expect(card).toContain(
      '**De-identified** with the Basic Application Level Confidentiality Profile',
    );
    expect(card).toContain('edition 2024b');
    expect(card).toContain('Clean Descriptors Option');
    expect(card).toContain('| Tags kept against the profile | `0010,1010` |');
    expect(card).toContain('Burned-in text in the pixels is not detected');
  });

  it('lists the report replacements per rule', () => {
    expect(card).toContain('| `date` | 4 |');
    expect(card).toContain('| `header-name` | 2 |');
  });
});
