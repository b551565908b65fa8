import type { Random } from './seeded-random.js';

/**
 * Templated radiology reports for the sample PACS. The text is meant to stress every consumer
 * downstream: findings span several lines, and phrases carry commas, double quotes and
 * non-ASCII characters (Rö, ü, —, µ, ≈, ·), exactly what breaks naive CSV writers and encoders.
 * Findings follow the synthetic anatomy (heart size), so image and report agree.
 */

type ReportFieldName = 'indication' | 'technique' | 'findings' | 'impression';

export interface ReportField {
  name: ReportFieldName;
  value: string;
}

export interface ReportContext {
  kind: 'chest-radiograph' | 'chest-ct';
  sex: 'F' | 'M';
  age: number;
  cardiothoracicRatio: number;
  contrast: boolean;
  /** A date before the study, ISO yyyy-mm-dd, for comparison statements. */
  priorDate: string;
  /** e.g. "125 kVp" or "Br64/Br40"; echoed in the technique field. */
  techniqueDetail: string;
}

interface Finding {
  findings: string[];
  impression: string;
}

const INDICATIONS = [
  'Cough and fever for 3 days, r/o pneumonia.',
  'Dyspnoea on exertion, known "COPD", worsening over two weeks.',
  'Pre-operative assessment before total hip replacement.',
  'Follow-up of a known pulmonary nodule, 6 months.',
  'Fall from a ladder, right-sided chest pain — rib fracture?',
  'Staging, known colorectal carcinoma (pT3 N1).',
  'Persistent cough, ex-smoker (40 pack-years), weight loss.',
  'Überweisung Hausarzt: Belastungsdyspnoe, Ödeme, "Herzinsuffizienz?"',
  'Fever of unknown origin, CRP 180 mg/L, WBC 14.2 × 10⁹/L.',
] as const;

function comparison(random: Random, context: ReportContext): string {
  return random.pick([
    'Comparison: none available ("first presentation").',
    `Comparison: "Rö Thorax" of ${context.priorDate}, outside hospital.`,
    `Comparison: prior study of ${context.priorDate}; images reviewed, report "unremarkable".`,
  ]);
}

function heart(context: ReportContext): Finding {
  const ratio = context.cardiothoracicRatio.toFixed(2);
  if (context.cardiothoracicRatio > 0.52) {
    return {
      findings: [
        `Heart: enlarged, cardiothoracic ratio ≈ ${ratio}; mild upper-lobe venous diversion.`,
      ],
      impression: `Cardiomegaly (CTR ≈ ${ratio}) with signs of mild pulmonary venous congestion.`,
    };
  }
  return {
    findings: [`Heart: normal size (CTR ≈ ${ratio}), mediastinum not widened.`],
    impression: '',
  };
}

const RADIOGRAPH_LUNGS: readonly Finding[] = [
  {
    findings: ['Lungs: clear, no consolidation, no "ground-glass" opacity, no pneumothorax.'],
    impression: 'No acute cardiopulmonary abnormality.',
  },
  {
    findings: [
      'Lungs: patchy airspace opacity in the right lower zone, silhouetting the right hemidiaphragm.',
      'Pleura: small right pleural effusion, blunting of the costophrenic angle.',
    ],
    impression:
      'Right lower lobe pneumonia with a small parapneumonic effusion — clinical correlation, follow-up after treatment.',
  },
  {
    findings: [
      'Lungs: hyperinflated, flattened hemidiaphragms, attenuated peripheral vasculature.',
      'No focal consolidation.',
    ],
    impression: 'Hyperinflation, consistent with known "COPD"; no acute process.',
  },
  {
    findings: ['Lungs: 12 mm rounded opacity in the left upper zone, not seen on the prior study.'],
    impression: 'New 12 mm nodule, left upper zone — CT chest recommended.',
  },
];

const RADIOGRAPH_BONES = [
  'Bones: degenerative changes of the thoracic spine, no acute osseous abnormality.',
  'Bones: old healed fracture of the left 6th rib; otherwise unremarkable.',
  'Bones: no fracture seen; "Rippenserienfraktur" not confirmed on these views.',
] as const;

const CT_LUNGS: readonly Finding[] = [
  {
    findings: [
      'Lungs: no pulmonary nodules, no consolidation, no "ground-glass" opacity.',
      'Airways: patent central airways.',
    ],
    impression: 'No evidence of intrathoracic malignancy or acute pathology.',
  },
  {
    findings: [
      'Lungs: solid nodule in the right upper lobe (segment 2), 6 × 5 mm, smooth margins.',
      'No further nodules.',
    ],
    impression:
      'Solitary 6 mm solid nodule RUL — per Fleischner, optional follow-up CT at 12 months.',
  },
  {
    findings: [
      'Lungs: centrilobular emphysema, upper-lobe predominant; bronchial wall thickening.',
    ],
    impression: 'Moderate centrilobular emphysema.',
  },
  {
    findings: [
      'Lungs: subpleural reticulation with traction bronchiectasis in both lower lobes, honeycombing at the bases.',
    ],
    impression:
      'Fibrotic interstitial lung disease, "probable UIP" pattern — discussion at the ILD board suggested.',
  },
];

const CT_MEDIASTINUM = [
  'Mediastinum: no enlarged lymph nodes (short axis < 10 mm).',
  'Mediastinum: enlarged subcarinal lymph node, 14 mm short axis; right hilar node 11 mm.',
] as const;

const CT_ABDOMEN = [
  'Upper abdomen: unremarkable within the field of view.',
  'Upper abdomen: hepatic steatosis; 8 mm hypodensity in segment VII, too small to characterise.',
  'Upper abdomen: small hiatal hernia, otherwise unremarkable.',
] as const;

function radiographReport(random: Random, context: ReportContext): Finding & { technique: string } {
  const lungs = random.pick(RADIOGRAPH_LUNGS);
  const cardiac = heart(context);
  return {
    technique: `PA and lateral chest radiographs, standing, ${context.techniqueDetail}; effective dose ≈ ${random.int(14, 35)} µSv.`,
    findings: [
      comparison(random, context),
      ...lungs.findings,
      ...cardiac.findings,
      random.pick(RADIOGRAPH_BONES),
    ],
    impression: [lungs.impression, cardiac.impression].filter((line) => line !== '').join('\n'),
  };
}

function ctReport(random: Random, context: ReportContext): Finding & { technique: string } {
  const lungs = random.pick(CT_LUNGS);
  const cardiac = heart(context);
  const contrast = context.contrast
    ? `after i.v. contrast (Iopamidol 370, ${random.int(60, 90)} mL at 3 mL/s, portal venous phase)`
    : 'without contrast';
  return {
    technique: `CT of the chest ${contrast}; 5 mm reconstructions in lung and soft-tissue kernels (${context.techniqueDetail}); CTDIvol ${random.between(2.5, 9).toFixed(1)} mGy, DLP ${random.int(90, 380)} mGy·cm.`,
    findings: [
      comparison(random, context),
      ...lungs.findings,
      'Pleura: no effusion, no pneumothorax.',
      random.pick(CT_MEDIASTINUM),
      ...cardiac.findings,
      random.pick(CT_ABDOMEN),
      'Bones: degenerative changes of the thoracic spine; no suspicious osseous lesion.',
    ],
    impression: [lungs.impression, cardiac.impression].filter((line) => line !== '').join('\n'),
  };
}

/**
 * Two to four fields per study, in the order a report is written: indication (from the
 * request, sometimes missing), technique (sometimes left out), findings and impression.
 */
export function writeReport(random: Random, context: ReportContext): ReportField[] {
  const report =
    context.kind === 'chest-radiograph'
      ? radiographReport(random, context)
      : ctReport(random, context);
  const fields: ReportField[] = [];
  if (random.chance(0.85)) fields.push({ name: 'indication', value: random.pick(INDICATIONS) });
  if (random.chance(0.6)) fields.push({ name: 'technique', value: report.technique });
  fields.push({ name: 'findings', value: report.findings.join('\n') });
  fields.push({ name: 'impression', value: report.impression });
  return fields;
}
