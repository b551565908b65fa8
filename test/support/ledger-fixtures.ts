import type { SelectedInstance, StudyReport } from '../../src/domain/dataset.js';
import { studyReports } from '../../src/source/study-report.js';
import type { RunSpec } from '../../src/domain/run-spec.js';
import { DEFAULT_RENDER_OPTIONS } from '../../src/domain/render.js';

/** A run spec for tests of what keeps or reads runs: only its shape matters, nothing is fetched. */
export const TEST_SPEC: RunSpec = {
  source: 'pglite:test',
  query: { name: 'q.sql', path: 'q.sql', sha256: 'abc', text: 'SELECT 1' },
  queryParameters: { studies: 2, seed: '0' },
  pageSize: 25,
  batchSize: 2,
  destination: 'file:///tmp/out',
  prefix: 'p',
  render: DEFAULT_RENDER_OPTIONS,
  quality: { gates: ['blank', 'duplicate'], minReportChars: 20 },
  splits: {
    shares: [
      { name: 'train', fraction: 0.8 },
      { name: 'test', fraction: 0.2 },
    ],
    keyFingerprint: '0123456789abcdef',
    keySource: 'default',
  },
};

/** Instance `id` of study `study`, with the study's report fields as [value, created at]. */
export function selectedInstance(
  study: number,
  id: number,
  fields: [string, string | null][],
  fileUrl = `file:///f${id}`,
): SelectedInstance {
  return {
    studyId: String(study),
    seriesId: `${study}0`,
    seriesNumber: 1,
    instanceId: String(id),
    instanceNumber: id,
    filePath: `f${id}`,
    fileUrl,
    reportFields: fields.map(([value, createdAt]) => ({ value, createdAt })),
  };
}

/** A page of the selection with its studies' reports, as planning gives it to `addPage`. */
export function page(instances: SelectedInstance[]): [SelectedInstance[], StudyReport[]] {
  return [instances, studyReports(instances)];
}
