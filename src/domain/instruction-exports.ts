/**
 * The instruction-tuning files a run can write beside the loose layout (`--exports`), built at
 * finalize from the study samples: LLaVA conversation JSON (LLaVA-Med, LLaVA-Rad) and
 * OpenAI-style `messages` JSONL (hosted fine-tuning, TRL's conversational format).
 */
export const EXPORT_FORMATS = ['llava', 'messages'] as const;

export type ExportFormat = (typeof EXPORT_FORMATS)[number];
