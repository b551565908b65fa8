import { describe, expect, it } from 'vitest';
import type { PhiFacts } from '../../../src/domain/deid.js';
import { scrubText } from '../../../src/deid/report-scrubber.js';

const facts: PhiFacts = {
  names: ['Smith^John^A', 'Okafor^Ngozi'],
  ids: ['PID998877', 'ACC12345'],
  institutions: ['St Canary Hospital'],
  addresses: ['12 Canary Road^London^NW1 4AB'],
  phones: ['020 7946 0123'],
  dateShiftDays: -10,
};

describe('scrubText', () => {
  it('shifts dates in every supported format by the patient shift', () => {
    const { text, counts } = scrubText(
      'seen 2024-03-02; compare 02/03/2024, 2 March 2024, March 2, 2024, 20240302, 03/25/2024, 2nd of Mar 2024.',
      facts,
    );
    expect(text).toBe(
      'seen 2024-02-21; compare 21/02/2024, 21 February 2024, February 21, 2024, 20240221, 03/15/2024, 21 of Feb 2024.',
    );
    expect(counts.date).toBe(7);
  });

  it('moves a month and year as its mid-month day moves', () => {
    expect(scrubText('follow-up in March 2024, or Apr. 2024', facts).text).toBe(
      'follow-up in March 2024, or Apr. 2024',
    );
    expect(scrubText('follow-up in March 2024', { ...facts, dateShiftDays: -30 }).text).toBe(
      'follow-up in February 2024',
    );
  });

  it('replaces dates by [DATE] when the shift is unknown', () => {
    expect(
      scrubText('seen 2024-03-02 and 4 May 2023', { ...facts, dateShiftDays: null }).text,
    ).toBe('seen [DATE] and [DATE]');
  });

  it('replaces names, identifiers, contact details and the institution', () => {
    const { text, counts } = scrubText(
      'Patient John Smith (MRN: 12345678, accession ACC12345, PID998877). Dr. Emily Brown and Prof. Li reviewed; Smith, John and J. Smith. ' +
        'Call 020 7946 0123 or +44 20 7946 0999, mail j.smith@example.org. Referred by Okafor, Ngozi at St Canary Hospital, 12 Canary Road. ' +
        'Typed by Alice Walker. 93-year-old man.',
      facts,
      ['Alice Walker'],
    );
    expect(text).toBe(
      'Patient [NAME] (MRN: [ID], accession [ID], [ID]). Dr. [NAME] and Prof. [NAME] reviewed; [NAME] and [NAME]. ' +
        'Call [PHONE] or [PHONE], mail [EMAIL]. Referred by [NAME] at [INSTITUTION], [ADDRESS]. ' +
        'Typed by [NAME]. 90+-year-old man.',
    );
    expect(counts).toMatchObject({
      email: 1,
      phone: 2,
      'header-name': 4,
      'staff-name': 1,
      'titled-name': 2,
      'age-over-89': 1,
      institution: 1,
      address: 1,
    });
  });

  it('leaves clinical numbers and words alone', () => {
    const clinical =
      'Nodule 12 mm, 3 x 4 cm at T12-L1, 1200-1400 HU, EF 55%, 2 views. A 45-year-old woman. No change since prior.';
    expect(scrubText(clinical, facts).text).toBe(clinical);
  });
});
