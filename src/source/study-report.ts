import type { ReportField } from '../domain/dataset.js';

export interface StudyReport {
  /** The fields' text in field_created_at order (undated first), separated by a blank line. */
  reportValue: string;
  /** The latest field_created_at, or null when no field is dated. */
  fieldCreatedAt: string | null;
  fieldCount: number;
}

/** Joins a study's report fields into the one report text the dataset pairs with its images. */
export function aggregateStudyReport(fields: readonly ReportField[]): StudyReport {
  const ordered = fields
    .map((field, index) => ({ field, index }))
    .sort((a, b) => {
      const left = a.field.createdAt ?? '';
      const right = b.field.createdAt ?? '';
      // ISO timestamps in UTC compare as text; the index keeps equal times in query order.
      return left < right ? -1 : left > right ? 1 : a.index - b.index;
    })
    .map(({ field }) => field);
  const texts = ordered.map((field) => field.value.trim()).filter((value) => value !== '');
  const dated = ordered.filter((field) => field.createdAt !== null);
  return {
    reportValue: texts.join('\n\n'),
    fieldCreatedAt: dated.length === 0 ? null : (dated[dated.length - 1]?.createdAt ?? null),
    fieldCount: fields.length,
  };
}
