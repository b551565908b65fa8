import type { StudyLine } from './dataset-jsonl.js';
import type { InstructionTemplate } from '../domain/instruction-exports.js';
import type { ImageView } from './image-view.js';

/**
 * Instruction samples: a study's images and a question whose answer is a section of its report,
 * one sample per study and template. The templates are data (BUILT_IN_TEMPLATES below, the
 * same shape a user's file has), so a task is added without touching how samples are
 * made. A study a template cannot fill is skipped with a counted reason, never given an empty
 * answer or a made-up image pairing.
 */

/** The built-in templates, used unless the run was given its own (`--instruction-templates`). */
export const BUILT_IN_TEMPLATES: readonly InstructionTemplate[] = [
  {
    id: 'findings',
    target: 'findings',
    requires: [],
    prompt: 'Write the findings section of the radiology report for this study.',
  },
  {
    id: 'impression',
    target: 'impression',
    requires: [],
    prompt: 'Write the impression section of the radiology report for this study.',
  },
  {
    id: 'findings_with_indication',
    target: 'findings',
    requires: ['indication'],
    prompt: 'Indication: {indication}\nWrite the findings section of the radiology report.',
  },
  {
    id: 'progression',
    target: 'findings',
    requires: ['prior'],
    prompt:
      'The last image is from the prior study, {prior_days} days earlier, reported as:\n{prior_report}\nWrite the findings of the current study, with the changes since the prior.',
  },
];

/** Why a study gave no sample for a template. */
type SkipReason =
  | 'no projection view'
  | 'empty target section'
  | 'no indication'
  | 'no prior study'
  | 'prior without a frontal view';

export interface InstructionSample {
  /** `{study_id}-{template id}`, unique in the run. */
  id: string;
  template: string;
  split: string;
  studyId: string;
  /** Image paths relative to the dataset root: current frontal and lateral, then the prior's. */
  images: string[];
  prompt: string;
  answer: string;
}

export interface InstructionSamples {
  samples: InstructionSample[];
  /** Skips by template id, then by reason. */
  skipped: Record<string, Partial<Record<SkipReason, number>>>;
}

const FRONTAL: ReadonlySet<ImageView> = new Set(['PA', 'AP', 'FRONTAL']);
const LATERAL: ReadonlySet<ImageView> = new Set(['LATERAL', 'LL', 'RL']);

/** The study's first frontal and first lateral image (views are what MAIRA-2 pairs). */
function viewImages(study: StudyLine): { frontal: string | null; lateral: string | null } {
  let frontal: string | null = null;
  let lateral: string | null = null;
  for (const instance of study.instances) {
    const file = instance.file_names[0];
    if (file === undefined || instance.view === null) continue;
    if (frontal === null && FRONTAL.has(instance.view)) frontal = file;
    if (lateral === null && LATERAL.has(instance.view)) lateral = file;
  }
  return { frontal, lateral };
}

type ViewImages = ReturnType<typeof viewImages>;

function skipReason(
  template: InstructionTemplate,
  study: StudyLine,
  own: ViewImages,
  prior: ViewImages | undefined,
): SkipReason | null {
  if (own.frontal === null && own.lateral === null) return 'no projection view';
  if ((study.sections[template.target] ?? '').trim() === '') return 'empty target section';
  if (template.requires.includes('indication') && (study.sections.indication ?? '') === '') {
    return 'no indication';
  }
  if (template.requires.includes('prior')) {
    if (study.prior === null) return 'no prior study';
    if ((prior?.frontal ?? null) === null) return 'prior without a frontal view';
  }
  return null;
}

function fill(template: InstructionTemplate, study: StudyLine): string {
  return template.prompt
    .replaceAll('{indication}', study.sections.indication ?? '')
    .replaceAll('{prior_days}', String(study.prior?.interval_days ?? ''))
    .replaceAll('{prior_report}', study.prior?.report.trim() ?? '');
}

/**
 * The samples of every study for every template, in the order of the study lines (the frozen
 * selection's) and then of the templates: the same on every rerun.
 */
export function instructionSamples(
  studies: readonly StudyLine[],
  templates: readonly InstructionTemplate[] = BUILT_IN_TEMPLATES,
): InstructionSamples {
  // Each study's frontal and lateral image, found once: a study is also its follow-up's prior.
  const views = new Map(studies.map((study) => [study.study_id, viewImages(study)]));
  const samples: InstructionSample[] = [];
  const skipped: InstructionSamples['skipped'] = {};
  for (const study of studies) {
    const own = views.get(study.study_id)!;
    const prior = study.prior === null ? undefined : views.get(study.prior.study_id);
    for (const template of templates) {
      const reason = skipReason(template, study, own, prior);
      if (reason !== null) {
        const counts = (skipped[template.id] ??= {});
        counts[reason] = (counts[reason] ?? 0) + 1;
        continue;
      }
      const images = [own.frontal, own.lateral].filter((file) => file !== null);
      if (template.requires.includes('prior')) images.push(prior!.frontal!);
      samples.push({
        id: `${study.study_id}-${template.id}`,
        template: template.id,
        split: study.split,
        studyId: study.study_id,
        images,
        prompt: fill(template, study),
        answer: study.sections[template.target]!.trim(),
      });
    }
  }
  return { samples, skipped };
}
