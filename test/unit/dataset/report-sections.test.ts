import { describe, expect, it } from 'vitest';
import { parseReportSections } from '../../../src/dataset/report-sections.js';

describe('parseReportSections', () => {
  it('splits upper-case colon headers, title case and dash styles', () => {
    const sections = parseReportSections(
      'INDICATION: Cough, r/o pneumonia.\n\nComparison: none.\n\nFINDINGS:\nLungs: clear.\nHeart: normal size.\n\nIMPRESSION - No acute disease.',
    );
    expect(sections).toEqual({
      indication: 'Cough, r/o pneumonia.',
      technique: null,
      comparison: 'none.',
      findings: 'Lungs: clear.\nHeart: normal size.',
      impression: 'No acute disease.',
      parsed: true,
    });
  });

  it('takes a header alone on its line, synonyms, and ends a section at another header', () => {
    const sections = parseReportSections(
      'Clinical history\nFall.\nTECHNIQUE: PA and lateral.\nFindings\nRib fracture.\nConclusion:\nFracture of the 6th rib.',
    );
    expect(sections.indication).toBe('Fall.');
    expect(sections.technique).toBe('PA and lateral.');
    expect(sections.findings).toBe('Rib fracture.');
    expect(sections.impression).toBe('Fracture of the 6th rib.');
    expect(sections.comparison).toBeNull();
  });

  it('does not take prose that merely begins with a header word', () => {
    const sections = parseReportSections('Impression:\nNormal.\nHistory of smoking noted.');
    expect(sections.impression).toBe('Normal.\nHistory of smoking noted.');
    expect(sections.indication).toBeNull();
  });

  it('returns the whole text as findings when there is no header', () => {
    expect(parseReportSections(' Lungs clear.\nNo effusion. ')).toEqual({
      indication: null,
      technique: null,
      comparison: null,
      findings: 'Lungs clear.\nNo effusion.',
      impression: null,
      parsed: false,
    });
    expect(parseReportSections('').findings).toBeNull();
  });

  it('joins a repeated header and handles CRLF', () => {
    const sections = parseReportSections('FINDINGS: a\r\nIMPRESSION: b\r\nFINDINGS: c');
    expect(sections.findings).toBe('a\nc');
    expect(sections.impression).toBe('b');
  });
});
