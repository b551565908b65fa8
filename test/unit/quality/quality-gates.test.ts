import { describe, expect, it } from 'vitest';
import type { InstanceAttributes } from '../../../src/domain/dataset.js';
import type { ImageStats } from '../../../src/domain/render.js';
import { GATE_IDS, GATE_REASONS } from '../../../src/domain/quality-gates.js';
import {
  firstExclusion,
  gatesNeedImageStats,
  instanceGates,
  type GateInput,
} from '../../../src/quality/quality-gates.js';

const ATTRIBUTES: InstanceAttributes = {
  sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1',
  modality: 'DX',
  imageType: ['ORIGINAL', 'PRIMARY'],
  patientId: 'P1',
  patientSex: 'F',
  patientAge: '045Y',
  studyDate: '20240102',
  viewPosition: 'PA',
  laterality: null,
  bodyPart: 'CHEST',
  burnedInAnnotation: 'NO',
  seriesDescription: 'CHEST PA',
};

const STATS: ImageStats = {
  mean: 140,
  std: 70,
  p01: 5,
  p99: 250,
  centreMean: 220,
  sidesMean: 110,
  fileSha256: 'a'.repeat(64),
  dHash: 'b'.repeat(64),
  thumbnail: 'AAAA',
};

const REPORT = 'FINDINGS: Lungs clear. IMPRESSION: Normal chest.';

function input(overrides: {
  attributes?: Partial<InstanceAttributes> | null;
  stats?: Partial<ImageStats> | null;
  reportValue?: string;
}): GateInput {
  return {
    attributes: overrides.attributes === null ? null : { ...ATTRIBUTES, ...overrides.attributes },
    stats: overrides.stats === null ? null : { ...STATS, ...overrides.stats },
    reportValue: overrides.reportValue ?? REPORT,
  };
}

const ALL = instanceGates(GATE_IDS, { minReportChars: 20 });
const reasonOf = (overrides: Parameters<typeof input>[0]) =>
  firstExclusion(ALL, input(overrides))?.reason ?? null;

describe('quality gates', () => {
  it('lets a normal frontal radiograph with a report through', () => {
    expect(reasonOf({})).toBeNull();
    expect(reasonOf({ attributes: null, stats: null })).toBeNull();
  });

  it('excludes dose reports and screenshots by SOP class and series description', () => {
    expect(reasonOf({ attributes: { sopClassUid: '1.2.840.10008.5.1.4.1.1.7' } })).toBe(
      'NON_CLINICAL_OBJECT',
    );
    expect(reasonOf({ attributes: { sopClassUid: '1.2.840.10008.5.1.4.1.1.7.4' } })).toBe(
      'NON_CLINICAL_OBJECT',
    );
    expect(reasonOf({ attributes: { sopClassUid: '1.2.840.10008.5.1.4.1.1.88.67' } })).toBe(
      'NON_CLINICAL_OBJECT',
    );
    expect(reasonOf({ attributes: { seriesDescription: 'Dose Report' } })).toBe(
      'NON_CLINICAL_OBJECT',
    );
    // Not a prefix match on the UID's digits: .70 is not secondary capture.
    expect(reasonOf({ attributes: { sopClassUid: '1.2.840.10008.5.1.4.1.1.70' } })).toBeNull();
  });

  it('excludes localizers by image type or scout series description', () => {
    expect(reasonOf({ attributes: { imageType: ['ORIGINAL', 'PRIMARY', 'LOCALIZER'] } })).toBe(
      'LOCALIZER',
    );
    expect(reasonOf({ attributes: { seriesDescription: 'Topogram 0.6 T20f' } })).toBe('LOCALIZER');
    expect(reasonOf({ attributes: { seriesDescription: 'SCOUT' } })).toBe('LOCALIZER');
    expect(reasonOf({ attributes: { seriesDescription: 'Scouting images' } })).toBeNull();
  });

  it('excludes DERIVED or SECONDARY images', () => {
    expect(reasonOf({ attributes: { imageType: ['DERIVED', 'PRIMARY'] } })).toBe('DERIVED_IMAGE');
    expect(reasonOf({ attributes: { imageType: ['ORIGINAL', 'SECONDARY'] } })).toBe(
      'DERIVED_IMAGE',
    );
  });

  it('excludes near-uniform images', () => {
    expect(reasonOf({ stats: { std: 0.4, mean: 128 } })).toBe('BLANK_IMAGE');
    expect(reasonOf({ stats: { std: 3.5 } })).toBeNull();
  });

  it('flags frontal CR/DX images whose middle is darker than the lung fields', () => {
    expect(reasonOf({ stats: { centreMean: 30, sidesMean: 140 } })).toBe('INVERTED_POLARITY');
    // Laterals and CT have no such rule.
    expect(
      reasonOf({ attributes: { viewPosition: 'LL' }, stats: { centreMean: 30, sidesMean: 140 } }),
    ).toBeNull();
    expect(
      reasonOf({ attributes: { modality: 'CT' }, stats: { centreMean: 30, sidesMean: 140 } }),
    ).toBeNull();
    // Within the margin: left alone.
    expect(reasonOf({ stats: { centreMean: 105, sidesMean: 110 } })).toBeNull();
  });

  it('excludes empty and short reports, with the threshold configurable', () => {
    expect(firstExclusion(ALL, input({ reportValue: '  ' }))).toEqual({
      reason: 'REPORT_TOO_SHORT',
      detail: 'the study has no report text',
    });
    expect(firstExclusion(ALL, input({ reportValue: 'Report to follow.' }))?.detail).toBe(
      'report of 17 characters (minimum 20)',
    );
    const lenient = instanceGates(GATE_IDS, { minReportChars: 0 });
    expect(firstExclusion(lenient, input({ reportValue: '' }))).toBeNull();
  });

  it('applies only the enabled gates, in order, and reports the first', () => {
    const both = input({ attributes: { imageType: ['DERIVED', 'SECONDARY', 'LOCALIZER'] } });
    expect(firstExclusion(ALL, both)?.reason).toBe('LOCALIZER');
    expect(firstExclusion(instanceGates(['derived'], { minReportChars: 20 }), both)?.reason).toBe(
      'DERIVED_IMAGE',
    );
    expect(firstExclusion(instanceGates([], { minReportChars: 20 }), both)).toBeNull();
    expect(
      firstExclusion(instanceGates(['duplicate', 'near-duplicate'], { minReportChars: 20 }), both),
    ).toBeNull();
  });

  it('names a distinct reason code for every gate', () => {
    expect(new Set(GATE_IDS.map((gate) => GATE_REASONS[gate])).size).toBe(GATE_IDS.length);
  });
});

describe('gatesNeedImageStats', () => {
  it('is true for the gates whose decision the statistics change, and only those', () => {
    // Statistics every pixel gate objects to: blank (std 0) and inverted (centre darker).
    const damning = { std: 0, centreMean: 10, sidesMean: 200 };
    for (const id of GATE_IDS.filter((gate) => !gate.includes('duplicate'))) {
      const gate = instanceGates([id], { minReportChars: 20 });
      const judged = firstExclusion(gate, input({ stats: damning }));
      const unjudged = firstExclusion(gate, input({ stats: null }));
      expect(gatesNeedImageStats([id]), id).toBe(judged?.reason !== unjudged?.reason);
    }
    // The duplicate gates compare the images' hashes and thumbnails in the ledger.
    expect(gatesNeedImageStats(['duplicate'])).toBe(true);
    expect(gatesNeedImageStats(['near-duplicate'])).toBe(true);
    expect(gatesNeedImageStats(['localizer', 'short-report', 'derived'])).toBe(false);
    expect(gatesNeedImageStats([])).toBe(false);
  });
});
