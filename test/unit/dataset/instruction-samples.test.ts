import { describe, expect, it } from 'vitest';
import { studyLines, type StudyLine } from '../../../src/dataset/dataset-jsonl.js';
import { instructionSamples } from '../../../src/dataset/instruction-samples.js';
import { exportFiles } from '../../../src/dataset/instruction-exports.js';
import type { StudySplits } from '../../../src/dataset/patient-splits.js';
import { datasetRow } from './dataset-rows.js';

const attributes = datasetRow().attributes!;
const REPORT =
  'INDICATION: Cough.\nFINDINGS: Lungs clear. No effusion.\nIMPRESSION: No acute disease.';

/** A study of patient P1 with one image per view given (null: no view in the header). */
function study(studyId: string, date: string, views: (string | null)[], report = REPORT) {
  return views.map((viewPosition, index) =>
    datasetRow({
      studyId,
      instanceId: `${studyId}-${index}`,
      reportValue: report,
      attributes: { ...attributes, studyDate: date, viewPosition, seriesDescription: null },
    }),
  );
}

function lines(...studies: ReturnType<typeof study>[]): StudyLine[] {
  const rows = studies.flat().map((row, ordinal) => ({ ...row, ordinal }));
  const ids = [...new Set(rows.map((row) => row.studyId))];
  const splits: StudySplits = {
    patientOf: new Map(ids.map((id) => [id, 'P1'])),
    splitOf: new Map(ids.map((id) => [id, id === 'CT' ? 'test' : 'train'])),
  };
  return studyLines(rows, splits);
}

describe('instructionSamples', () => {
  const first = study('S1', '20240101', ['LL', 'PA']);
  const follow = study('S2', '20240111', ['PA', 'LL']);

  it('makes one sample per study and template, frontal then lateral, the prior’s frontal last', () => {
    const { samples } = instructionSamples(lines(first, follow));
    expect(samples.map((sample) => sample.id)).toEqual([
      'S1-findings',
      'S1-impression',
      'S1-findings_with_indication',
      'S2-findings',
      'S2-impression',
      'S2-findings_with_indication',
      'S2-progression',
    ]);
    const progression = samples.find((sample) => sample.id === 'S2-progression')!;
    expect(progression.images).toEqual([
      'images-jpg/S2-0.jpg',
      'images-jpg/S2-1.jpg',
      'images-jpg/S1-1.jpg',
    ]);
    expect(progression.prompt).toContain('prior study, 10 days earlier, reported as:\nINDICATION');
    expect(progression.answer).toBe('Lungs clear. No effusion.');
    const withIndication = samples.find((sample) => sample.id === 'S1-findings_with_indication');
    expect(withIndication?.prompt.startsWith('Indication: Cough.\n')).toBe(true);
    expect(samples.find((sample) => sample.id === 'S1-impression')?.answer).toBe(
      'No acute disease.',
    );
    // The first study's images, frontal first although the lateral came first.
    expect(samples[0]?.images).toEqual(['images-jpg/S1-1.jpg', 'images-jpg/S1-0.jpg']);
  });

  it('skips what a template cannot fill, counting each reason', () => {
    const noImpression = study('S3', '20240120', ['AP'], 'FINDINGS: Small effusion.');
    const noView = study('CT', '20240125', [null, null]);
    const { samples, skipped } = instructionSamples(lines(first, noImpression, noView));
    expect(samples.some((sample) => sample.answer === '')).toBe(false);
    expect(samples.map((sample) => sample.id)).toContain('S3-progression');
    expect(skipped).toEqual({
      findings: { 'no projection view': 1 },
      impression: { 'empty target section': 1, 'no projection view': 1 },
      findings_with_indication: { 'no indication': 1, 'no projection view': 1 },
      progression: { 'no prior study': 1, 'no projection view': 1 },
    });
  });
});

describe('instructionSamples with a run’s own templates', () => {
  it('uses only those, filling their placeholders', () => {
    const { samples, skipped } = instructionSamples(
      lines(study('S1', '20240101', ['PA']), study('S2', '20240201', ['PA'])),
      [
        {
          id: 'why',
          target: 'impression',
          requires: ['indication', 'prior'],
          prompt: 'Asked for {indication} {prior_days} days after a study reading: {prior_report}',
        },
      ],
    );
    expect(samples.map((sample) => sample.id)).toEqual(['S2-why']);
    expect(samples[0]?.prompt).toBe(`Asked for Cough. 31 days after a study reading: ${REPORT}`);
    expect(samples[0]?.answer).toBe('No acute disease.');
    expect(skipped).toEqual({ why: { 'no prior study': 1 } });
  });
});

describe('exportFiles', () => {
  const { samples } = instructionSamples(
    lines(study('S1', '20240101', ['PA']), study('S2', '20240111', ['PA', 'LL'])),
  );

  it('writes LLaVA conversations with one <image> token per image', () => {
    const [llava] = exportFiles(samples, ['llava'], ['train', 'test']);
    expect(llava).toMatchObject({ format: 'llava', split: 'train' });
    const records = JSON.parse(llava!.text) as Record<string, unknown>[];
    expect(records).toHaveLength(samples.length);
    expect(records[0]).toEqual({
      id: 'S1-findings',
      image: 'images-jpg/S1-0.jpg',
      conversations: [
        {
          from: 'human',
          value: '<image>\nWrite the findings section of the radiology report for this study.',
        },
        { from: 'gpt', value: 'Lungs clear. No effusion.' },
      ],
    });
    const progression = records.find((record) => record.id === 'S2-progression')!;
    expect(progression.images).toHaveLength(3);
    expect(progression).not.toHaveProperty('image');
    const human = (progression.conversations as { value: string }[])[0]!.value;
    expect(human.match(/<image>/g)).toHaveLength(3);
  });

  it('writes OpenAI-style messages, one object per line with nothing but messages', () => {
    const [messages] = exportFiles(samples, ['messages'], ['train']);
    expect(messages).toMatchObject({ format: 'messages', split: 'train' });
    const records = messages!.text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { messages: { role: string; content: unknown }[] });
    expect(records).toHaveLength(samples.length);
    for (const record of records) expect(Object.keys(record)).toEqual(['messages']);
    expect(records[0]?.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: 'images-jpg/S1-0.jpg' } },
          {
            type: 'text',
            text: 'Write the findings section of the radiology report for this study.',
          },
        ],
      },
      { role: 'assistant', content: 'Lungs clear. No effusion.' },
    ]);
  });

  it('writes no file for a split without samples', () => {
    expect(
      exportFiles(samples, ['llava', 'messages'], ['train', 'test']).map((file) => [
        file.format,
        file.split,
      ]),
    ).toEqual([
      ['llava', 'train'],
      ['messages', 'train'],
    ]);
  });
});
