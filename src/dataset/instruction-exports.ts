import type { InstructionFormat, InstructionTemplate } from '../domain/instruction-exports.js';
import { toJsonl } from './dataset-jsonl.js';
import type { RunSpec } from '../domain/run-spec.js';
import type { StudyLine } from './dataset-jsonl.js';
import {
  BUILT_IN_TEMPLATES,
  instructionSamples,
  type InstructionSample,
  type InstructionSamples,
} from './instruction-samples.js';

/**
 * The instruction samples in the formats trainers read, one file per format and split, image
 * paths relative to the dataset root (LLaVA's `--image_folder` is the dataset folder):
 * - `exports/llava/split={split}.json`: LLaVA conversation JSON, an array of `id`, `image` (one image)
 *   or `images` (several), and `conversations` whose human turn starts with one `<image>` token
 *   per image;
 * - `exports/messages/split={split}.jsonl`: one `{"messages": [...]}` per line, OpenAI-style: a user
 *   turn of `image_url` parts and the question, then the assistant's answer. No other key, since
 *   hosted fine-tuning refuses unknown ones.
 */

/** An export file: its format and split (dataset/object-keys names it), and its text. */
export interface ExportFile {
  format: InstructionFormat;
  split: string;
  text: string;
}

function llavaRecord(sample: InstructionSample): object {
  const tokens = sample.images.map(() => '<image>\n').join('');
  return {
    id: sample.id,
    ...(sample.images.length === 1 ? { image: sample.images[0] } : { images: sample.images }),
    conversations: [
      { from: 'human', value: `${tokens}${sample.prompt}` },
      { from: 'gpt', value: sample.answer },
    ],
  };
}

function messagesRecord(sample: InstructionSample): object {
  return {
    messages: [
      {
        role: 'user',
        content: [
          ...sample.images.map((url) => ({ type: 'image_url', image_url: { url } })),
          { type: 'text', text: sample.prompt },
        ],
      },
      { role: 'assistant', content: sample.answer },
    ],
  };
}

/** One file per format and split, splits in the order given (the run's), none for an empty split. */
export function exportFiles(
  samples: readonly InstructionSample[],
  formats: readonly InstructionFormat[],
  splits: readonly string[],
): ExportFile[] {
  const files: ExportFile[] = [];
  for (const format of formats) {
    for (const split of splits) {
      const inSplit = samples.filter((sample) => sample.split === split);
      if (inSplit.length === 0) continue;
      const text =
        format === 'llava'
          ? `${JSON.stringify(inSplit.map(llavaRecord), null, 1)}\n`
          : toJsonl(inSplit.map(messagesRecord));
      files.push({ format, split, text });
    }
  }
  return files;
}

/** What finalize writes and the card tells of a run's exports. */
export function instructionExports(
  studies: readonly StudyLine[],
  formats: readonly InstructionFormat[],
  splits: RunSpec['splits'],
  templates: readonly InstructionTemplate[] = BUILT_IN_TEMPLATES,
): { samples: InstructionSamples; files: ExportFile[] } {
  const samples = instructionSamples(studies, templates);
  const names = splits.shares.map((share) => share.name);
  return { samples, files: exportFiles(samples.samples, formats, names) };
}
