import { describe, expect, it } from 'vitest';
import type { DatasetDescription } from '../../../src/domain/dataset.js';
import { DATASET_CSV_COLUMNS } from '../../../src/dataset/dataset-csv.js';
import { ageBand } from '../../../src/dataset/dataset-card.js';
import { metadataLines, studyLines } from '../../../src/dataset/dataset-jsonl.js';
import { buildManifest } from '../../../src/dataset/dataset-manifest.js';
import { buildDatasetReadme, NOT_DEIDENTIFIED } from '../../../src/dataset/dataset-readme.js';
import { assignSplits } from '../../../src/dataset/patient-splits.js';
import { GATE_IDS } from '../../../src/domain/quality-gates.js';
import { datasetRow } from './dataset-rows.js';

function description(overrides: Partial<DatasetDescription> = {}): DatasetDescription {
  return {
    runId: 'run-2026-11-26-abc',
    startedAt: '2026-11-26T04:10:00.000Z',
    finishedAt: '2026-11-26T05:12:03.500+01:00',
    source: 'postgres://pacs.example.org:5432/pacs',
    destination: 'file:///srv/out/eden-dataset-vlms/sample-test',
    query: {
      name: 'random-studies',
      sha256: 'f'.repeat(64),
      text: 'SELECT s.study_id\nFROM studies s\nWHERE s.modality = :modality -- ``` fence in a comment\nLIMIT :studies',
    },
    parameters: { studies: 8, seed: 42, modality: 'CR|DX', dryRun: false },
    counts: {
      studies: 8,
      instances: 200,
      delivered: 197,
      failed: 3,
      excluded: 0,
      failuresByCode: { FILE_MISSING: 2, DICOM_INVALID: 1 },
      dicomBytes: 123_456_789,
      imageBytes: 9_876_543,
    },
    toolVersion: '0.1.0',
    images: { format: 'jpeg', everyFrame: false },
    ...overrides,
  };
}

describe('buildDatasetReadme', () => {
  const card = buildDatasetReadme(description());

  it('says plainly that the data is not de-identified', () => {
    expect(NOT_DEIDENTIFIED).toBe(
      'This dataset has not been de-identified: it may contain protected health information.',
    );
    expect(card).toContain(NOT_DEIDENTIFIED);
  });

  it('gives the counts, failures by code and sizes', () => {
    expect(card).toMatch(/\| Studies \| 8 \|/);
    expect(card).toMatch(/\| Instances selected \| 200 \|/);
    expect(card).toMatch(/\| Instances delivered \(DICOM \+ image\) \| 197 \|/);
    expect(card).toMatch(/\| Instances failed \| 3 \|/);
    expect(card).toMatch(/\| `FILE_MISSING` \| 2 \| DICOM file not found \|/);
    expect(card).toMatch(/\| `DICOM_INVALID` \| 1 \|/);
    expect(card).toContain('123456789 bytes (123.5 MB)');
    expect(card.indexOf('FILE_MISSING')).toBeLessThan(card.indexOf('DICOM_INVALID'));
  });

  it('gives provenance in UTC', () => {
    expect(card).toContain('2026-11-26T04:10:00Z');
    expect(card).toContain('2026-11-26T04:12:03.500Z');
    expect(card).toContain('0:02:03');
    expect(card).toContain('`0.1.0`');
    expect(card).toContain('`postgres://pacs.example.org:5432/pacs`');
  });

  it('gives the query in a fence its text cannot close, and the parameters', () => {
    expect(card).toContain('`random-studies`');
    expect(card).toContain('f'.repeat(64));
    expect(card).toContain(`\`\`\`\`sql\n${description().query.text}\n\`\`\`\``);
    expect(card).toContain('| `modality` | `CR\\|DX` |');
    expect(card).toContain('| `seed` | `42` |');
    expect(card).toContain('| `dryRun` | `false` |');
  });

  it('documents every CSV column and the layout', () => {
    for (const column of DATASET_CSV_COLUMNS) expect(card).toContain(`| \`${column.name}\` |`);
    for (const name of [
      'README-dataset.md',
      'dicom-reports-extracted-sample.csv',
      'failures.csv',
      'dicom-files/',
      '{instance_id}.dcm',
      'images-jpg/',
      '{instance_id}.jpg',
    ]) {
      expect(card).toContain(name);
    }
    expect(card).toContain('separated by a blank line');
    expect(card).toContain('8 bits');
  });

  it('is deterministic, whatever the order of the parameters', () => {
    const reordered = description({
      parameters: { dryRun: false, modality: 'CR|DX', seed: 42, studies: 8 },
    });
    expect(buildDatasetReadme(reordered)).toBe(card);
  });

  it('says so when nothing failed', () => {
    const clean = buildDatasetReadme(
      description({
        counts: { ...description().counts, delivered: 200, failed: 0, failuresByCode: {} },
      }),
    );
    expect(clean).toContain('No instance failed.');
  });

  it('names a timestamp it cannot read', () => {
    expect(() => buildDatasetReadme(description({ startedAt: 'yesterday' }))).toThrow(
      /startedAt "yesterday"/,
    );
  });
});

describe('the card for training use', () => {
  const shares = [
    { name: 'train', fraction: 0.5 },
    { name: 'test', fraction: 0.5 },
  ];
  const rows = [
    datasetRow({ ordinal: 0, studyId: 'S1', instanceId: 'a' }),
    datasetRow({
      ordinal: 1,
      studyId: 'S2',
      instanceId: 'b',
      attributes: {
        ...datasetRow().attributes!,
        patientId: 'P2',
        modality: 'CT',
        patientAge: '081Y',
      },
    }),
    datasetRow({
      ordinal: 2,
      studyId: 'S2',
      instanceId: 'c',
      status: 'excluded',
      images: [],
      dicomKey: null,
      exclusion: { reason: 'LOCALIZER', detail: 'image type ORIGINAL\\PRIMARY\\LOCALIZER' },
    }),
  ];
  const splits = assignSplits(rows, 'k'.repeat(16), shares);
  const contents = () => ({
    rows,
    metadata: metadataLines(rows, splits),
    studies: studyLines(rows, splits),
    quality: { gates: [...GATE_IDS].filter((gate) => gate !== 'blank'), minReportChars: 20 },
    splits: { shares, keyFingerprint: '0123456789abcdef', keySource: 'configured' as const },
    manifest: buildManifest(rows, {}),
  });

  it('counts by modality, sex and age band, and describes the report lengths', () => {
    const card = buildDatasetReadme(
      description({ counts: { ...description().counts, excluded: 1 } }),
      contents(),
    );
    expect(card).toContain('2 images of 2 studies of 2 patients');
    expect(card).toContain('| CR | 1 |');
    expect(card).toContain('| CT | 1 |');
    expect(card).toContain('| 80+ | 1 |');
    expect(card).toContain('| 40–59 | 1 |');
    expect(card).toContain('| Instances excluded by quality gates | 1 |');
    expect(card).toMatch(/Characters per study report \(2 studies\): minimum 18/);
  });

  it('gives the splits, the key fingerprint and a clean leakage audit', () => {
    const card = buildDatasetReadme(description(), contents());
    expect(card).toContain('fingerprint `0123456789abcdef`');
    expect(card).not.toContain('k'.repeat(16));
    expect(card).toContain('Patients found in more than one split: **0**');
    const trainStudies = [...splits.splitOf.values()].filter((split) => split === 'train').length;
    expect(card).toMatch(
      new RegExp(`\\| \`train\` \\| 0\\.5 \\| ${trainStudies} \\| ${trainStudies} \\|`),
    );
  });

  it('raises a leak loudly', () => {
    const leaking = contents();
    leaking.metadata = [...leaking.metadata, { ...leaking.metadata[0]!, split: 'elsewhere' }];
    expect(buildDatasetReadme(description(), leaking)).toContain(
      '**Patients found in more than one split: 1**',
    );
  });

  it('lists every gate, whether it was on and what it excluded, and the dataset version', () => {
    const { manifest } = contents();
    const card = buildDatasetReadme(description(), contents());
    expect(card).toContain('| `localizer` | `LOCALIZER` | yes | 1 |');
    expect(card).toContain('| `blank` | `BLANK_IMAGE` | no | 0 |');
    expect(card).toContain(
      '| `LOCALIZER` | `c` | `S2` | image type ORIGINAL\\\\PRIMARY\\\\LOCALIZER |',
    );
    expect(card).toContain(`Dataset version: \`${manifest.version}\``);
    expect(card).toContain('metadata.jsonl');
  });

  it('bands ages given in years, months, weeks or days', () => {
    expect(['045Y', '017Y', '006M', '080Y', 'abc', null].map(ageBand)).toEqual([
      '40–59',
      '0–17',
      '0–17',
      '80+',
      '(none)',
      '(none)',
    ]);
  });
});
