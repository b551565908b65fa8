import { describe, expect, it } from 'vitest';
import { aggregateStudyReport } from '../../../src/source/study-report.js';

describe('aggregateStudyReport', () => {
  it('orders fields by created_at, undated first, ties in query order, blank line between', () => {
    const report = aggregateStudyReport([
      { value: 'Impression: normal.', createdAt: '2024-03-02T10:05:00.000Z' },
      { value: 'Indication: cough, "fever".', createdAt: '2024-03-02T10:00:00.000Z' },
      { value: 'Technique: PA.', createdAt: null },
      { value: 'Findings: clear lungs.\nNo effusion.', createdAt: '2024-03-02T10:00:00.000Z' },
    ]);
    expect(report.reportValue).toBe(
      'Technique: PA.\n\nIndication: cough, "fever".\n\nFindings: clear lungs.\nNo effusion.\n\nImpression: normal.',
    );
    expect(report.fieldCreatedAt).toBe('2024-03-02T10:05:00.000Z');
    expect(report.fieldCount).toBe(4);
  });

  it('drops empty fields from the text but counts them', () => {
    const report = aggregateStudyReport([
      { value: '  ', createdAt: '2024-01-01T00:00:00.000Z' },
      { value: ' Röntgen — µ ', createdAt: null },
    ]);
    expect(report).toEqual({
      reportValue: 'Röntgen — µ',
      fieldCreatedAt: '2024-01-01T00:00:00.000Z',
      fieldCount: 2,
    });
  });

  it('gives an empty report for a study without fields', () => {
    expect(aggregateStudyReport([])).toEqual({
      reportValue: '',
      fieldCreatedAt: null,
      fieldCount: 0,
    });
  });
});
