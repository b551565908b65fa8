import type { DatasetRow } from '../domain/dataset.js';
import { parseReportSections, type ReportSections } from './report-sections.js';
import { inSelectionOrder } from './dataset-csv.js';
import type { StudySplits } from './patient-splits.js';
import { normaliseView, type ImageView, type ViewSource } from './image-view.js';
import { priorStudies } from './prior-studies.js';

/**
 * metadata.jsonl and studies.jsonl. metadata.jsonl follows the Hugging Face `imagefolder`
 * convention: one JSON object per image, `file_name` relative to the file (which sits at the
 * dataset root, above images-jpg/), every other key a column. Every line has every key, with
 * the same JSON type (or null), because the loader infers one schema from the first lines.
 * No other key ends in `file_name`: the loader would take it for a second image column.
 */

/** The fields of one metadata.jsonl line, in the order written. */
export interface MetadataLine {
  file_name: string;
  split: string;
  patient_id: string;
  study_id: string;
  series_id: string;
  instance_id: string;
  frame: number;
  modality: string | null;
  view_position: string | null;
  /** The normalised projection (see dataset/image-view.ts), null when no header field says it. */
  view: ImageView | null;
  view_source: ViewSource | null;
  laterality: string | null;
  body_part: string | null;
  patient_sex: string | null;
  patient_age: string | null;
  image_type: string | null;
  sop_class_uid: string | null;
  width: number | null;
  height: number | null;
  report: string;
  sections: Omit<ReportSections, 'parsed'>;
  sections_parsed: boolean;
  recipe: {
    window_source: string | null;
    window_center: number | null;
    window_width: number | null;
    voi_function: string | null;
    inverted: boolean | null;
    photometric_interpretation: string | null;
    codec: string | null;
    quality: number | null;
    bit_depth: number | null;
  };
  dicom_key: string | null;
}

export interface StudyLine {
  study_id: string;
  patient_id: string;
  split: string;
  /** Study Date as YYYY-MM-DD (shifted when the run de-identifies), null when absent or invalid. */
  study_date: string | null;
  report: string;
  sections: Omit<ReportSections, 'parsed'>;
  sections_parsed: boolean;
  /** Image paths relative to the dataset root, in selection order. */
  file_names: string[];
  instances: {
    instance_id: string;
    series_id: string;
    modality: string | null;
    view_position: string | null;
    view: ImageView | null;
    view_source: ViewSource | null;
    file_names: string[];
  }[];
  /** The same patient's latest earlier study in the dataset (see dataset/prior-studies.ts). */
  prior: {
    study_id: string;
    interval_days: number;
    report: string;
    sections: Omit<ReportSections, 'parsed'>;
    file_names: string[];
    views: (ImageView | null)[];
  } | null;
}

/** YYYYMMDD → YYYY-MM-DD, null unless it is eight digits. */
function isoDate(date: string | null | undefined): string | null {
  const match = date === null || date === undefined ? null : /^(\d{4})(\d{2})(\d{2})$/.exec(date);
  return match === null ? null : `${match[1]}-${match[2]}-${match[3]}`;
}

function sectionsOf(report: string): Pick<MetadataLine, 'sections' | 'sections_parsed'> {
  const { parsed, ...sections } = parseReportSections(report);
  return { sections, sections_parsed: parsed };
}

function studyFacts(splits: StudySplits, studyId: string): { patient_id: string; split: string } {
  return {
    patient_id: splits.patientOf.get(studyId) ?? `study:${studyId}`,
    split: splits.splitOf.get(studyId) ?? '',
  };
}

/** One line per delivered image (per frame file when every frame is rendered). */
export function metadataLines(rows: readonly DatasetRow[], splits: StudySplits): MetadataLine[] {
  const sections = new Map<string, Pick<MetadataLine, 'sections' | 'sections_parsed'>>();
  const lines: MetadataLine[] = [];
  for (const row of inSelectionOrder(rows)) {
    if (row.status !== 'delivered') continue;
    if (!sections.has(row.studyId)) sections.set(row.studyId, sectionsOf(row.reportValue));
    const a = row.attributes;
    const recipe = row.recipe;
    for (const image of row.images) {
      lines.push({
        file_name: image.key,
        ...studyFacts(splits, row.studyId),
        study_id: row.studyId,
        series_id: row.seriesId,
        instance_id: row.instanceId,
        frame: image.frame,
        modality: a?.modality ?? null,
        view_position: a?.viewPosition ?? null,
        ...viewOf(a),
        laterality: a?.laterality ?? null,
        body_part: a?.bodyPart ?? null,
        patient_sex: a?.patientSex ?? null,
        patient_age: a?.patientAge ?? null,
        image_type: a === null || a.imageType.length === 0 ? null : a.imageType.join('\\'),
        sop_class_uid: a?.sopClassUid ?? null,
        width: recipe?.width ?? null,
        height: recipe?.height ?? null,
        report: row.reportValue,
        ...sections.get(row.studyId)!,
        recipe: {
          window_source: recipe?.windowSource ?? null,
          window_center: recipe?.windowCenter ?? null,
          window_width: recipe?.windowWidth ?? null,
          voi_function: recipe?.voiFunction ?? null,
          inverted: recipe?.inverted ?? null,
          photometric_interpretation: recipe?.photometricInterpretation ?? null,
          codec: recipe?.codec ?? null,
          quality: recipe?.quality ?? null,
          bit_depth: recipe?.bitDepth ?? null,
        },
        dicom_key: row.dicomKey,
      });
    }
  }
  return lines;
}

function viewOf(attributes: DatasetRow['attributes']): {
  view: ImageView | null;
  view_source: ViewSource | null;
} {
  const { view, source } = normaliseView(attributes);
  return { view, view_source: source };
}

/**
 * One line per study with at least one delivered image, with its prior: the same patient's
 * latest earlier study among these lines, its report and its images.
 */
export function studyLines(rows: readonly DatasetRow[], splits: StudySplits): StudyLine[] {
  const studies = new Map<string, StudyLine>();
  const dates = new Map<string, string | null>();
  for (const row of inSelectionOrder(rows)) {
    if (row.status !== 'delivered' || row.images.length === 0) continue;
    let study = studies.get(row.studyId);
    if (study === undefined) {
      study = {
        study_id: row.studyId,
        ...studyFacts(splits, row.studyId),
        study_date: null,
        report: row.reportValue,
        ...sectionsOf(row.reportValue),
        file_names: [],
        instances: [],
        prior: null,
      };
      studies.set(row.studyId, study);
    }
    // The study's date as its first instance with one gives it.
    if ((dates.get(row.studyId) ?? null) === null) {
      dates.set(row.studyId, row.attributes?.studyDate ?? null);
    }
    const files = row.images.map((image) => image.key);
    study.file_names.push(...files);
    study.instances.push({
      instance_id: row.instanceId,
      series_id: row.seriesId,
      modality: row.attributes?.modality ?? null,
      view_position: row.attributes?.viewPosition ?? null,
      ...viewOf(row.attributes),
      file_names: files,
    });
  }
  const lines = [...studies.values()];
  for (const line of lines) line.study_date = isoDate(dates.get(line.study_id));
  const priors = priorStudies(
    lines.map((line) => ({
      studyId: line.study_id,
      patientId: line.patient_id,
      studyDate: dates.get(line.study_id) ?? null,
    })),
  );
  for (const line of lines) {
    const link = priors.get(line.study_id);
    const prior = link === undefined ? undefined : studies.get(link.studyId);
    if (link === undefined || prior === undefined) continue;
    line.prior = {
      study_id: prior.study_id,
      interval_days: link.intervalDays,
      report: prior.report,
      sections: prior.sections,
      file_names: prior.file_names,
      views: prior.instances.flatMap((instance) => instance.file_names.map(() => instance.view)),
    };
  }
  return lines;
}

/** JSON Lines: one compact object per line, LF after each, UTF-8. */
export function toJsonl(lines: readonly object[]): string {
  return lines.map((line) => `${JSON.stringify(line)}\n`).join('');
}
