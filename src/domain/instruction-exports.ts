/**
 * The files a run can write beside the loose layout (`--exports`), built at finalize from the
 * study samples: LLaVA conversation JSON (LLaVA-Med, LLaVA-Rad), OpenAI-style `messages` JSONL
 * (hosted fine-tuning, TRL's conversational format) and WebDataset tar shards (streaming
 * loaders, pretraining).
 */
export const EXPORT_FORMATS = ['llava', 'messages', 'webdataset'] as const;

/** The formats made of instruction samples (one file per split), as against shards. */
export type InstructionFormat = Exclude<ExportFormat, 'webdataset'>;

/** WebDataset shards' size limit unless `--shard-megabytes` says otherwise, in bytes. */
export const DEFAULT_SHARD_BYTES = 500 * 2 ** 20;

export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The report section a template's answer is. */
type InstructionTarget = 'findings' | 'impression';

/** What a template may need besides its answer: the study's indication, its prior study. */
export type InstructionRequirement = 'indication' | 'prior';

/**
 * One instruction task, as data: the built-in ones (dataset/instruction-samples.ts) and those
 * of a user's `--instruction-templates` file have this shape.
 */
export interface InstructionTemplate {
  /** The task's name in the samples' ids and the card: lower-case letters, digits, `_`. */
  id: string;
  target: InstructionTarget;
  requires: InstructionRequirement[];
  /**
   * The question. `{indication}` is the study's indication, `{prior_days}` the days since the
   * prior study and `{prior_report}` its report; each only in a template that requires it.
   */
  prompt: string;
}

/** The placeholders a prompt may use, and what the template must require for each. */
export const PROMPT_PLACEHOLDERS: Readonly<Record<string, InstructionRequirement>> = {
  indication: 'indication',
  prior_days: 'prior',
  prior_report: 'prior',
};
