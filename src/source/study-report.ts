import type { ReportField, SelectedInstance, StudyReport } from '../domain/dataset.js';

/** Joins a study's report fields into the one report text the dataset pairs with its images. */
export function aggregateStudyReport(fields: readonly ReportField[]): Omit<StudyReport, 'studyId'> {
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

/**
 * The report of each study of a page of the selection, in the order the studies first appear.
 * Every instance of a study carries the study's report fields (query contract), so the first
 * instance seen gives the study's report.
 */
export function studyReports(instances: readonly SelectedInstance[]): StudyReport[] {
  const studies = new Map<string, SelectedInstance>();
  for (const instance of instances) {
    if (!studies.has(instance.studyId)) studies.set(instance.studyId, instance);
  }
  return [...studies.values()].map((instance) => ({
    studyId: instance.studyId,
    ...aggregateStudyReport(instance.reportFields),
  }));
}
