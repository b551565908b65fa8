import type {
  DatasetDescription,
  DatasetRow,
  DeidentificationDescription,
} from '../domain/dataset.js';
import { ERROR_CODES, EtlError, type ErrorCode } from '../domain/errors.js';
import { formatBytes, formatClock } from '../observability/human-units.js';
import type { CsvColumn } from './csv-format.js';
import { trainingSections, type TrainingContents } from './dataset-card.js';
import { cellText, code, fenced, table } from './markdown.js';
import { DATASET_CSV_COLUMNS } from './dataset-csv.js';
import { EXCLUDED_CSV_COLUMNS } from './excluded-csv.js';
import { FAILURES_CSV_COLUMNS } from './failures-csv.js';
import {
  DATASET_CSV_NAME,
  DATASET_README_NAME,
  DICOM_DIR,
  EXCLUDED_CSV_NAME,
  FAILURES_CSV_NAME,
  imageLayout,
  MANIFEST_NAME,
  METADATA_JSONL_NAME,
  STUDIES_JSONL_NAME,
} from './object-keys.js';

/**
 * README-dataset.md: the dataset card. It travels with the data, so it must answer on its own
 * what is in the folder, where it came from, how it was made and how to read it. The same
 * description always gives the same bytes, so finalizing twice rewrites nothing.
 */

export const NOT_DEIDENTIFIED =
  'This dataset has not been de-identified: it may contain protected health information.';

const TOOL_NAME = 'vlm-eden-dataset-etl';

function utc(what: string, iso: string): Date {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    throw new EtlError(
      'INTERNAL',
      `dataset ${what} ${JSON.stringify(iso)} is not an ISO 8601 timestamp`,
      {
        subject: what,
      },
    );
  }
  return date;
}

function utcText(date: Date): string {
  return date.toISOString().replace('.000Z', 'Z');
}

function bytesText(bytes: number): string {
  return `${bytes} bytes (${formatBytes(bytes)})`;
}

function dictionary(columns: readonly CsvColumn<DatasetRow>[]): string {
  return table(
    ['Column', 'Meaning', 'Type / format'],
    columns.map((column) => [code(column.name), cellText(column.meaning), cellText(column.format)]),
  );
}

function failuresSection(description: DatasetDescription): string {
  const entries = (Object.entries(description.counts.failuresByCode) as [ErrorCode, number][])
    .filter(([, count]) => count > 0)
    // Most frequent first; code order among equals, so the card is stable.
    .sort(([a, countA], [b, countB]) => countB - countA || (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) {
    return `No instance failed. \`${FAILURES_CSV_NAME}\` holds the header only.`;
  }
  return [
    `Failed instances are listed in \`${FAILURES_CSV_NAME}\` (and in the main CSV with \`status\` = failed).`,
    '',
    table(
      ['Error code', 'Instances', 'Meaning'],
      entries.map(([errorCode, count]) => [
        code(errorCode),
        String(count),
        cellText(ERROR_CODES[errorCode]?.summary ?? 'unknown code'),
      ]),
      ['---', '---:', '---'],
    ),
  ].join('\n');
}

function layout(
  destination: string,
  images: DatasetDescription['images'],
  deidentified: boolean,
): string {
  const { dir, extension } = imageLayout(images.format);
  const name = images.everyFrame ? '{instance_id}_{frame}' : '{instance_id}';
  const entries: [string, string][] = [
    [`├── ${DATASET_README_NAME}`, 'this card'],
    [`├── ${DATASET_CSV_NAME}`, 'one row per selected instance'],
    [`├── ${FAILURES_CSV_NAME}`, 'failed instances only'],
    [`├── ${EXCLUDED_CSV_NAME}`, 'instances excluded by a quality gate, with the reason'],
    [`├── ${METADATA_JSONL_NAME}`, 'one line per image: the Hugging Face imagefolder metadata'],
    [`├── ${STUDIES_JSONL_NAME}`, 'one line per study: its report, images and prior study'],
    [`├── ${MANIFEST_NAME}`, 'SHA-256 of every object, and the dataset version'],
    [`├── ${DICOM_DIR}/`, ''],
    [
      '│   └── {instance_id}.dcm',
      deidentified ? 'DICOM files, de-identified' : 'DICOM files as fetched from the source',
    ],
    [`└── ${dir}/`, ''],
    [
      `    └── ${name}.${extension}`,
      images.everyFrame ? 'rendered images, every frame (from 1)' : 'rendered images',
    ],
  ];
  const width = Math.max(...entries.map(([name]) => name.length)) + 3;
  const lines = entries.map(([name, note]) =>
    note === '' ? name : `${name.padEnd(width)}${note}`,
  );
  return fenced([`${destination.replace(/\/+$/, '')}/`, ...lines].join('\n'), 'text');
}

/** The card's statement on patient data, first thing under the title. */
function privacyStatement(deid: DeidentificationDescription | undefined): string {
  if (deid === undefined) {
    return `**${NOT_DEIDENTIFIED}** Handle it under your organisation's rules for patient data; do not publish or share it outside them.`;
  }
  return `**De-identified** with the ${deid.profile}; see [De-identification](#de-identification). Burned-in text in the pixels is not detected: handle the data under your organisation's rules for patient data.`;
}

function deidSection(deid: DeidentificationDescription): string[] {
  const counts = Object.keys(deid.scrubCounts)
    .sort()
    .map((rule) => [code(rule), String(deid.scrubCounts[rule])]);
  const list = (tags: string[]) => (tags.length === 0 ? 'none' : tags.map(code).join(', '));
  return [
    '## De-identification',
    table(
      ['', ''],
      [
        ['Profile', cellText(deid.profile)],
        ['Options', cellText(deid.options.join('; '))],
        ['Tags kept against the profile', list(deid.keep)],
        ['Tags removed against the profile', list(deid.remove)],
        ['Private tags', 'removed (no private block is on the safe list)'],
        [
          'Identifiers',
          'patient IDs, accession numbers and UIDs replaced by keyed pseudonyms (HMAC-SHA-256); UIDs are `2.25.` UUID-derived',
        ],
        [
          'Dates',
          "moved by a per-patient number of days: intervals within a patient's studies are kept; times are kept",
        ],
        ['Staff names scrubbed', String(deid.staffNames)],
      ],
    ),
    'The report text was scrubbed with the same key and date shifts: names, identifiers, contact details and places that the DICOM headers named, names after titles, the staff list, e-mail addresses, phone numbers, identifier-like numbers and ages over 89 became placeholders (`[NAME]`, `[ID]`, `[PHONE]`, `[EMAIL]`, `[ADDRESS]`, `[INSTITUTION]`); dates were moved, not removed. Replacements per rule:',
    counts.length === 0 ? 'None.' : table(['Rule', 'Replacements'], counts, ['---', '---:']),
  ];
}

/**
 * The card. `training` adds the sections about training use (composition, splits, leakage
 * audit, quality gates, integrity); without it the card describes the delivery alone.
 */
export function buildDatasetReadme(
  description: DatasetDescription,
  training?: TrainingContents,
): string {
  const { counts, query } = description;
  const started = utc('startedAt', description.startedAt);
  const finished = utc('finishedAt', description.finishedAt);
  const seconds = (finished.getTime() - started.getTime()) / 1000;
  if (seconds < 0) {
    throw new EtlError(
      'INTERNAL',
      `dataset finishedAt ${description.finishedAt} is before startedAt ${description.startedAt}`,
      { subject: description.runId },
    );
  }
  const parameters = Object.keys(description.parameters)
    .sort()
    .map((name) => [code(name), code(String(description.parameters[name]))]);

  const trainingCard = training === undefined ? undefined : trainingSections(training);
  const sections = [
    '# VLM Eden dataset',
    privacyStatement(description.deidentification),
    `Images and reports selected from a PACS for training vision-language models, built by ${TOOL_NAME} ${code(description.toolVersion)} in run ${code(description.runId)}.`,

    '## Contents',
    table(
      ['', 'Count'],
      [
        ['Studies', String(counts.studies)],
        ['Instances selected', String(counts.instances)],
        ['Instances delivered (DICOM + image)', String(counts.delivered)],
        ['Instances failed', String(counts.failed)],
        ['Instances excluded by quality gates', String(counts.excluded)],
        ['DICOM bytes', bytesText(counts.dicomBytes)],
        ['Image bytes', bytesText(counts.imageBytes)],
      ],
      ['---', '---:'],
    ),
    '### Failures',
    failuresSection(description),

    '## Provenance',
    table(
      ['', ''],
      [
        ['Run', code(description.runId)],
        ['Started (UTC)', utcText(started)],
        ['Finished (UTC)', utcText(finished)],
        ['Duration', formatClock(seconds)],
        ['Tool', `${TOOL_NAME} ${code(description.toolVersion)}`],
        ['Source', code(description.source)],
        ['Destination', code(description.destination)],
      ],
    ),

    '## Selection query',
    `The studies were selected by the query ${code(query.name)} (SHA-256 ${code(query.sha256)}), with the parameters below. The selection was frozen when the run was planned: a resumed run delivers exactly these instances.`,
    fenced(query.text, 'sql'),
    '### Parameters',
    parameters.length === 0 ? 'None.' : table(['Parameter', 'Value'], parameters),

    '## Layout',
    layout(description.destination, description.images, description.deidentification !== undefined),
    `Files are named by \`instance_id\`, flat within each folder. Paths in the CSV files are relative to this folder, so the dataset can be copied or moved as a whole.`,

    '## Data dictionary',
    `### ${DATASET_CSV_NAME}`,
    'RFC 4180 CSV: UTF-8 without byte-order mark, CRLF line ends, a header row, fields quoted when they hold a comma, a double quote or a line break (quotes doubled). Rows are in selection order. The first ten columns are those of the original extraction, in the same order.',
    dictionary(DATASET_CSV_COLUMNS),
    `### ${FAILURES_CSV_NAME}`,
    'Same format, one row per failed instance, same meaning for each column as above.',
    dictionary(FAILURES_CSV_COLUMNS),
    `### ${EXCLUDED_CSV_NAME}`,
    'Same format, one row per instance a quality gate excluded.',
    dictionary(EXCLUDED_CSV_COLUMNS),

    ...(description.deidentification === undefined
      ? []
      : deidSection(description.deidentification)),

    '## Reports',
    "`report_value` holds all report fields of an instance's study, ordered by `field_created_at` (oldest first) and separated by a blank line; every instance of a study carries the same text. `field_created_at` is the time of the study's latest report field.",

    '## Images',
    `Each image is rendered from its DICOM file in the DICOM order: modality transform (rescale slope and intercept, or Modality LUT), then the VOI (window or VOI LUT), then the presentation (MONOCHROME1 is inverted so that all images read as MONOCHROME2), then scaled to 8 bits per sample and encoded as ${description.images.format === 'png' ? 'PNG' : 'JPEG'}. The recipe is recorded per image in the CSV (\`window_source\`, \`window_center\`, \`window_width\`, \`voi_function\`, \`inverted\`, \`frame\`, \`codec\`). 8 bits keep far less than the full dynamic range of most modalities: use the DICOM file where that matters.`,

    ...(trainingCard?.data ?? []),
    ...(trainingCard?.integrity ?? []),
  ];
  return `${sections.join('\n\n')}\n`;
}
