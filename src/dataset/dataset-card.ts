import type { DatasetRow } from '../domain/dataset.js';
import type { ExportFormat, InstructionTemplate } from '../domain/instruction-exports.js';
import { BUILT_IN_TEMPLATES, type InstructionSamples } from './instruction-samples.js';
import { EXCLUSION_REASONS, type ExclusionReason } from '../domain/exclusions.js';
import type { RunSpec } from '../domain/run-spec.js';
import { GATE_IDS, GATE_REASONS, NEAR_DUPLICATE } from '../domain/quality-gates.js';
import type { MetadataLine, StudyLine } from './dataset-jsonl.js';
import type { DatasetManifest } from './dataset-manifest.js';
import { cellText, code, table } from './markdown.js';
import {
  EXCLUDED_CSV_NAME,
  MANIFEST_NAME,
  METADATA_JSONL_NAME,
  STUDIES_JSONL_NAME,
} from './object-keys.js';
import { DEFAULT_SPLIT_KEY, patientsInSeveralSplits } from './patient-splits.js';

/**
 * The dataset card's sections for people who train on the data: what is in it (by modality,
 * view, split, sex, age band, report length), how it is split and the leakage audit, what the
 * quality gates kept out, and how to check a copy (manifest and version id).
 */

export interface TrainingContents {
  rows: readonly DatasetRow[];
  metadata: readonly MetadataLine[];
  studies: readonly StudyLine[];
  quality: RunSpec['quality'];
  splits: RunSpec['splits'];
  manifest: DatasetManifest;
  /** The instruction exports, when the run writes any. */
  instructions?: {
    formats: readonly ExportFormat[];
    samples: InstructionSamples;
    files: readonly string[];
    /** The run's own templates, null for the built-in ones. */
    templates: readonly InstructionTemplate[] | null;
    /** The WebDataset shards written, empty without that export. */
    shards: readonly { split: string; index: number; samples: number }[];
  };
}

const UNKNOWN = '(none)';

function countBy<T>(items: readonly T[], key: (item: T) => string): [string, number][] {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0));
}

function countTable(label: string, unit: string, counts: [string, number][]): string {
  if (counts.length === 0) return `No ${unit}.`;
  return table(
    [label, unit[0]!.toUpperCase() + unit.slice(1)],
    counts.map(([value, n]) => [cellText(value), String(n)]),
    ['---', '---:'],
  );
}

/** DICOM AS (e.g. 045Y, 006M) to a band of years. */
export function ageBand(age: string | null): string {
  const match = /^(\d{1,3})([DWMY])$/.exec(age?.trim() ?? '');
  if (match === null) return UNKNOWN;
  const years = match[2] === 'Y' ? Number(match[1]) : 0;
  if (years < 18) return '0–17';
  if (years < 40) return '18–39';
  if (years < 60) return '40–59';
  if (years < 80) return '60–79';
  return '80+';
}

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? 0;
}

const LENGTH_BANDS: readonly [string, number][] = [
  ['0 (empty)', 1],
  ['1–99', 100],
  ['100–299', 300],
  ['300–599', 600],
  ['600–999', 1000],
  ['1000+', Number.POSITIVE_INFINITY],
];

function reportLengths(studies: readonly StudyLine[]): string {
  const lengths = studies.map((study) => study.report.length).sort((a, b) => a - b);
  if (lengths.length === 0) return 'No study in the dataset.';
  const parsed = studies.filter((study) => study.sections_parsed).length;
  const withImpression = studies.filter((study) => study.sections.impression !== null).length;
  return [
    `Characters per study report (${lengths.length} studies): minimum ${lengths[0]}, first quartile ${percentile(lengths, 0.25)}, median ${percentile(lengths, 0.5)}, third quartile ${percentile(lengths, 0.75)}, maximum ${lengths[lengths.length - 1]}. Section headers found in ${parsed} reports; an impression in ${withImpression}.`,
    '',
    table(
      ['Characters', 'Studies'],
      LENGTH_BANDS.map(([label, below], index) => {
        const above = index === 0 ? 0 : LENGTH_BANDS[index - 1]![1];
        return [label, String(lengths.filter((n) => n >= above && n < below).length)];
      }),
      ['---', '---:'],
    ),
  ].join('\n');
}

function priorsLine(studies: readonly StudyLine[]): string {
  const linked = studies.filter((study) => study.prior !== null);
  const days = linked.map((study) => study.prior!.interval_days).sort((a, b) => a - b);
  const intervals =
    days.length === 0
      ? ''
      : ` Days since the prior: median ${percentile(days, 0.5)}, from ${days[0]} to ${days[days.length - 1]}.`;
  return `${linked.length} of ${studies.length} studies have a prior in this dataset (${code('prior')} in ${code(STUDIES_JSONL_NAME)}: the same patient's latest study of an earlier day, its report and images).${intervals}`;
}

function shardLines(shards: NonNullable<TrainingContents['instructions']>['shards']): string[] {
  if (shards.length === 0) return [];
  const perSplit = new Map<string, { shards: number; samples: number }>();
  for (const shard of shards) {
    const counts = perSplit.get(shard.split) ?? { shards: 0, samples: 0 };
    perSplit.set(shard.split, {
      shards: counts.shards + 1,
      samples: counts.samples + shard.samples,
    });
  }
  return [
    `WebDataset: one sample per study (${code('{key}.{n}.jpg')} for each image, ${code('{key}.json')} its line of ${code(STUDIES_JSONL_NAME)}, ${code('{key}.txt')} its report) in ${code('exports/webdataset/split={split}-{index}.tar')}.`,
    table(
      ['Split', 'Shards', 'Studies'],
      [...perSplit].map(([split, counts]) => [
        code(split),
        String(counts.shards),
        String(counts.samples),
      ]),
    ),
  ];
}

function instructionsSection(instructions: TrainingContents['instructions']): string[] {
  if (instructions === undefined) return [];
  const { samples, skipped } = instructions.samples;
  const perTemplate = countBy(samples, (sample) => `${sample.template} (${sample.split})`);
  const skips = Object.entries(skipped).flatMap(([template, reasons]) =>
    Object.entries(reasons).map(([reason, count]): [string, number] => [
      `${template}: ${reason}`,
      count,
    ]),
  );
  return [
    '### Instruction exports',
    `${samples.length} instruction samples (${instructions.formats.map(code).join(', ')}), each a study's frontal and lateral images (and for ${code('progression')} the prior study's frontal image) with a question whose answer is a section of its report: ${instructions.files.map(code).join(', ')}. Image paths are relative to this folder. See docs/dataset-format.md for loading them.`,
    instructions.templates === null
      ? `Templates: the built-in ones (${BUILT_IN_TEMPLATES.map((template) => code(template.id)).join(', ')}).`
      : `Templates: the run's own file, ${instructions.templates.map((template) => `${code(template.id)} (answer: ${template.target}; prompt: "${template.prompt.replaceAll('\n', ' ')}")`).join('; ')}.`,
    countTable('Template (split)', 'samples', perTemplate),
    skips.length === 0
      ? 'No study was skipped.'
      : countTable('Skipped (template: reason)', 'studies', skips),
    ...shardLines(instructions.shards),
  ];
}

function composition(contents: TrainingContents): string[] {
  const { metadata, studies } = contents;
  const patients = new Map<string, string>();
  for (const line of metadata) {
    if (!patients.has(line.patient_id)) patients.set(line.patient_id, line.patient_sex ?? UNKNOWN);
  }
  const studyAge = new Map<string, string>();
  for (const line of metadata) {
    if (!studyAge.has(line.study_id)) studyAge.set(line.study_id, ageBand(line.patient_age));
  }
  return [
    '### Composition',
    `${metadata.length} images of ${studies.length} studies of ${patients.size} patients (images as in ${code(METADATA_JSONL_NAME)}: one per delivered image file).`,
    countTable(
      'Modality',
      'images',
      countBy(metadata, (line) => line.modality ?? UNKNOWN),
    ),
    countTable(
      'View (normalised; the header field it came from)',
      'images',
      countBy(metadata, (line) =>
        line.view === null ? UNKNOWN : `${line.view} (${line.view_source ?? UNKNOWN})`,
      ),
    ),
    countTable(
      'Sex',
      'patients',
      countBy([...patients.values()], (sex) => sex),
    ),
    countTable(
      'Age band (years, at the study)',
      'studies',
      countBy([...studyAge.values()], (band) => band),
    ),
    '### Report length',
    reportLengths(studies),
    '### Prior studies',
    priorsLine(studies),
  ];
}

function splitsSection(contents: TrainingContents): string[] {
  const { metadata, studies, splits } = contents;
  const leaks = patientsInSeveralSplits([...metadata, ...studies]);
  const rows = splits.shares.map((share) => {
    const inSplit = studies.filter((study) => study.split === share.name);
    return [
      code(share.name),
      String(share.fraction),
      String(new Set(inSplit.map((study) => study.patient_id)).size),
      String(inSplit.length),
      String(metadata.filter((line) => line.split === share.name).length),
    ];
  });
  const fallback = studies.filter((study) => study.patient_id.startsWith('study:')).length;
  const key =
    splits.keySource === 'default'
      ? `the public default key ${code(DEFAULT_SPLIT_KEY)} (anyone can recompute the splits; set ${code('--split-key')} or ${code('SECRET_KEY')} to keep them unpredictable)`
      : `a configured secret key (fingerprint ${code(splits.keyFingerprint)}; the key itself is not recorded)`;
  return [
    '## Splits',
    `Every study has a ${code('split')}. A patient's studies all share one: it is decided by HMAC-SHA-256 of the patient id (as delivered) with ${key}, read as a number in [0, 1) against the cumulative fractions below. A patient therefore keeps their split when the dataset is rebuilt or extended, as long as the key and the fractions stay. A study without a patient id is split on its own, by ${code('study:')} and its study id (${fallback} ${fallback === 1 ? 'study' : 'studies'} here).`,
    table(['Split', 'Fraction', 'Patients', 'Studies', 'Images'], rows, [
      '---',
      '---:',
      '---:',
      '---:',
      '---:',
    ]),
    '### Leakage audit',
    leaks.size === 0
      ? `Patients found in more than one split: **0** (checked over every line of ${code(METADATA_JSONL_NAME)} and ${code(STUDIES_JSONL_NAME)}).`
      : `**Patients found in more than one split: ${leaks.size}** — ${[...leaks.keys()].slice(0, 10).map(code).join(', ')}. Do not train on this dataset before this is explained.`,
  ];
}

function gatesSection(contents: TrainingContents): string[] {
  const excluded = contents.rows.filter((row) => row.status === 'excluded');
  const byReason = new Map<ExclusionReason, number>();
  for (const row of excluded) {
    const reason = row.exclusion!.reason;
    byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
  }
  const enabled = new Set(contents.quality.gates);
  const listed = new Set<ExclusionReason>(Object.values(GATE_REASONS));
  const others = [...byReason].filter(([reason]) => !listed.has(reason));
  return [
    '## Quality gates',
    `Before anything of an instance was stored, it went through the gates below, in this order; the first that objects excludes it, and nothing of it (neither DICOM nor image) is in the dataset. Excluded instances are listed in ${code(EXCLUDED_CSV_NAME)} with the reason and what the gate saw, and in the main CSV with ${code('status')} = excluded. ${excluded.length} ${excluded.length === 1 ? 'instance was' : 'instances were'} excluded. Duplicates: of two images whose files are identical (the same rendered pixels), or (in different series) with 256-bit dHashes (difference hashes of the rendered image) at most ${NEAR_DUPLICATE.bits} bits apart and 17×16 thumbnails at most ${NEAR_DUPLICATE.grey} grey levels apart on average, the first processed is kept. The short-report gate wants at least ${contents.quality.minReportChars} characters.`,
    table(
      ['Gate', 'Reason code', 'Enabled', 'Excluded', 'Meaning'],
      [
        ...GATE_IDS.map((gate) => {
          const reason = GATE_REASONS[gate];
          return [
            code(gate),
            code(reason),
            enabled.has(gate) ? 'yes' : 'no',
            String(byReason.get(reason) ?? 0),
            cellText(EXCLUSION_REASONS[reason]),
          ];
        }),
        ...others.map(([reason, n]) => [
          '',
          code(reason),
          'yes',
          String(n),
          cellText(EXCLUSION_REASONS[reason] ?? 'unknown reason'),
        ]),
      ],
      ['---', '---', '---', '---:', '---'],
    ),
    ...(excluded.length === 0
      ? []
      : [
          'The first excluded instance of each reason, with what the gate saw:',
          table(
            ['Reason code', 'Instance', 'Study', 'Detail'],
            [...byReason.keys()].sort().map((reason) => {
              const row = excluded.find((candidate) => candidate.exclusion!.reason === reason)!;
              return [
                code(reason),
                code(row.instanceId),
                code(row.studyId),
                cellText(row.exclusion!.detail),
              ];
            }),
          ),
        ]),
  ];
}

function integritySection(manifest: DatasetManifest): string[] {
  const objects = Object.keys(manifest.objects).length;
  return [
    '## Integrity',
    `Dataset version: ${code(manifest.version)}. ${code(MANIFEST_NAME)} lists the SHA-256 and size of every object of the dataset (${objects} objects: DICOM files, images and the data files) except this card and the manifest itself; the version is derived from those entries, so two copies with the same version hold the same bytes. Check a copy with ${code('eden-etl verify DEST')}: it re-reads every object, compares checksums, checks that the CSV and JSONL files agree and that no patient is in two splits, and exits 3 listing any difference.`,
  ];
}

/** The card sections about training use; the de-identification section goes before Integrity. */
export function trainingSections(contents: TrainingContents): {
  data: string[];
  integrity: string[];
} {
  return {
    data: [
      '## Training data',
      `${code(METADATA_JSONL_NAME)} describes every image, one JSON object per line, in the Hugging Face ${code('imagefolder')} convention (${code('file_name')} relative to this folder), so ${code('datasets.load_dataset("imagefolder", data_dir=...)')} loads the folder as it is: the ${code('image')} column plus the fields below. ${code(STUDIES_JSONL_NAME)} has one line per study with its date, report, sections and all its images (${code('file_names')}, each instance with its view), and its ${code('prior')} study, for multi-image training.`,
      'Fields of each image: `file_name`, `split`, `patient_id`, `study_id`, `series_id`, `instance_id`, `frame`, `modality`, `view_position`, `view` and `view_source` (the projection normalised to PA, AP, FRONTAL, LATERAL, LL, RL, … from View Position, View Code Sequence, Patient Orientation or the series description, and which; null when none says it), `laterality`, `body_part`, `patient_sex`, `patient_age`, `image_type`, `sop_class_uid`, `width`, `height`, `report` (the whole report text), `sections` (`indication`, `technique`, `comparison`, `findings`, `impression`: text under headers such as `FINDINGS:`, `Impression:` or `IMPRESSION -`, null when absent), `sections_parsed` (false when the report has no header: its whole text is then in `findings`), `recipe` (how the image was rendered: window source, centre and width, VOI function, inversion, photometric interpretation, codec, quality, bit depth) and `dicom_key` (the DICOM file). Header facts are those of the delivered DICOM file.',
      ...composition(contents),
      ...splitsSection(contents),
      ...instructionsSection(contents.instructions),
      ...gatesSection(contents),
    ],
    integrity: integritySection(contents.manifest),
  };
}
