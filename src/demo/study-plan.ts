import type { ChestAnatomy, ChestView } from './chest-radiograph.js';
import { planLungVessels, type CtAnatomy, type CtKernel } from './chest-ct.js';
import type { TransferSyntax } from '../dicom/writer.js';
import { writeReport, type ReportField } from './radiology-reports.js';
import { createRandom, nameBasedUid, type Random } from './seeded-random.js';

/**
 * Everything about one sample study except its pixels: ids, UIDs, patient, devices, series,
 * instances, report. Planning is cheap and pure (a function of seed and ordinal only), so the
 * generator can tell what a study will be without rendering it, and tests can inspect the
 * header choices of many studies in milliseconds.
 */

/** Bump whenever the generated rows or file bytes change, so old sample PACS are rebuilt. */
export const GENERATOR_VERSION = 2;

/** Ordinal 0 is the study marked deleted; live studies are ordinals 1..n. */
export const DELETED_STUDY_ORDINAL = 0;

export const SOP_CLASS = {
  CR: '1.2.840.10008.5.1.4.1.1.1',
  DX: '1.2.840.10008.5.1.4.1.1.1.1',
  CT: '1.2.840.10008.5.1.4.1.1.2',
  SECONDARY_CAPTURE: '1.2.840.10008.5.1.4.1.1.7',
} as const;

/**
 * Deliberate defects, so that every quality gate has cases: a PA image whose header states the
 * wrong polarity, a re-sent exact copy and a re-sent copy with slightly different pixels, an
 * unexposed plate, a CT topogram, a reformat (DERIVED\SECONDARY), a dose screen (secondary
 * capture), and (a study-level defect) a report that says almost nothing.
 */
type InstanceQuirk =
  | 'mislabelled-polarity'
  | 'resent-copy'
  | 'resent-noisy-copy'
  | 'unexposed'
  | 'localizer'
  | 'reformat'
  | 'dose-screen';

/**
 * Which defect slot a study has: pairs 0–3 of every 16 (so the default 8-study sample has each
 * defect once, and larger samples a quarter of their pairs), null for the others. A pair holds
 * one radiograph and one CT: slot n gives the radiograph and the CT each their n-th defect.
 */
const QUIRK_CYCLE = 16;
function quirkSlot(ordinal: number): 0 | 1 | 2 | 3 | null {
  if (ordinal === DELETED_STUDY_ORDINAL) return null;
  const slot = Math.floor((ordinal - 1) / 2) % QUIRK_CYCLE;
  return slot < 4 ? (slot as 0 | 1 | 2 | 3) : null;
}

/** Every fourth study belongs to the patient of a study three ordinals before: patients with several studies. */
function returningPatientOf(ordinal: number): number | null {
  return ordinal !== DELETED_STUDY_ORDINAL && ordinal % 4 === 0 ? ordinal - 3 : null;
}

type StudyKind = 'chest-radiograph' | 'chest-ct';

interface Equipment {
  manufacturer: string;
  model: string;
  station: string;
  serialNumber: string;
  software: string;
  transferSyntax: TransferSyntax;
}

/**
 * A radiography room. Header conventions differ per device in real PACS data, so each one
 * bundles a consistent set: which photometric interpretation, how many windows, whether the
 * modality LUT is written. Together they cover what a renderer must handle.
 */
interface RadiographDevice extends Equipment {
  modality: 'CR' | 'DX';
  photometric: 'MONOCHROME1' | 'MONOCHROME2';
  bitsStored: number;
  windows: 0 | 1 | 2;
  rescale: boolean;
  /** Detector size in mm and its pixel pitch. */
  detector: { width: number; height: number; spacing: number };
}

interface CtScanner extends Equipment {
  bitsStored: 12 | 16;
  /** Stored value outside the field of view; absent means air is stored there. */
  paddingValue: number | undefined;
  kernels: Record<CtKernel, string>;
}

const RADIOGRAPH_DEVICES: readonly RadiographDevice[] = [
  {
    modality: 'CR',
    manufacturer: 'Lumen Imaging',
    model: 'CR Reader 35',
    station: 'EDEN-CR1',
    serialNumber: 'LR35-00417',
    software: '4.2.1',
    transferSyntax: 'explicit-le',
    photometric: 'MONOCHROME1',
    bitsStored: 12,
    windows: 1,
    rescale: false,
    detector: { width: 350, height: 430, spacing: 0.15 },
  },
  {
    modality: 'DX',
    manufacturer: 'Northwind Medical',
    model: 'DRX Vista',
    station: 'EDEN-DR2',
    serialNumber: 'NWV-2231',
    software: 'VA20C',
    transferSyntax: 'explicit-le',
    photometric: 'MONOCHROME2',
    bitsStored: 14,
    windows: 2,
    rescale: true,
    detector: { width: 430, height: 430, spacing: 0.148 },
  },
  {
    modality: 'CR',
    manufacturer: 'Lumen Imaging',
    model: 'CR Reader 24',
    station: 'EDEN-CR3',
    serialNumber: 'LR24-00102',
    software: '2.9',
    transferSyntax: 'implicit-le',
    photometric: 'MONOCHROME2',
    bitsStored: 12,
    windows: 0,
    rescale: false,
    detector: { width: 350, height: 430, spacing: 0.16 },
  },
  {
    modality: 'DX',
    manufacturer: 'Northwind Medical',
    model: 'DRX Mobile',
    station: 'EDEN-DRM',
    serialNumber: 'NWM-0980',
    software: 'VB10A',
    transferSyntax: 'explicit-le',
    photometric: 'MONOCHROME1',
    bitsStored: 13,
    windows: 1,
    rescale: true,
    detector: { width: 410, height: 410, spacing: 0.175 },
  },
];

const CT_SCANNERS: readonly CtScanner[] = [
  {
    manufacturer: 'Helix Systems',
    model: 'Helix 64',
    station: 'EDEN-CT1',
    serialNumber: 'HX64-5521',
    software: 'syngo CT 2014A',
    transferSyntax: 'implicit-le',
    bitsStored: 12,
    paddingValue: -2000,
    kernels: { lung: 'B70f', soft: 'B31f' },
  },
  {
    manufacturer: 'Orbis Healthcare',
    model: 'Orbis Revolution',
    station: 'EDEN-CT2',
    serialNumber: 'ORV-0042',
    software: '21.4',
    transferSyntax: 'explicit-le',
    bitsStored: 16,
    paddingValue: undefined,
    kernels: { lung: 'LUNG', soft: 'STANDARD' },
  },
];

export interface RadiographImagePlan {
  kind: 'radiograph';
  view: ChestView;
  rows: number;
  columns: number;
  pixelSpacing: number;
  collimation: [number, number, number, number];
  kvp: number;
  exposureMs: number;
  tubeCurrent: number;
}

export interface CtImagePlan {
  kind: 'ct-slice';
  kernel: CtKernel;
  /** 0 at the lung apex, 1 at the base. */
  level: number;
  sliceLocation: number;
  /** Reconstruction diameter in mm; pixel spacing is this over 512. */
  fieldOfView: number;
  centre: [number, number];
}

export interface PlannedInstance {
  id: number;
  sopInstanceUid: string;
  instanceNumber: number;
  /** Relative to the sample PACS storage root, like a PACS storage path. */
  filePath: string;
  contentTime: string;
  image: RadiographImagePlan | CtImagePlan;
  /** A deliberate defect (see InstanceQuirk). */
  quirk?: InstanceQuirk;
  /** When it differs from the study's (a dose screen is a secondary capture). */
  sopClassUid?: string;
}

export interface PlannedSeries {
  id: number;
  uid: string;
  number: number;
  description: string;
  instances: PlannedInstance[];
}

interface PlannedPatient {
  id: string;
  /** DICOM person name, e.g. DOE^JANE. */
  name: string;
  sex: 'F' | 'M';
  /** yyyy-mm-dd */
  birthDate: string;
  age: number;
}

interface PlannedReportField extends ReportField {
  id: number;
  /** ISO 8601 UTC timestamp. */
  createdAt: string;
}

interface PlannedStudyBase {
  ordinal: number;
  deleted: boolean;
  id: number;
  uid: string;
  accessionNumber: string;
  /** yyyy-mm-dd and hhmmss of the acquisition. */
  date: string;
  time: string;
  /** When the study arrived in the PACS (ISO 8601 UTC). */
  createdAt: string;
  description: string;
  referringPhysician: string;
  patient: PlannedPatient;
  series: PlannedSeries[];
  reportFields: PlannedReportField[];
  /** Seed for everything random at render time (pixel noise), independent of other studies. */
  noiseKey: string;
}

export interface PlannedRadiographStudy extends PlannedStudyBase {
  kind: 'chest-radiograph';
  modality: 'CR' | 'DX';
  sopClassUid: string;
  device: RadiographDevice;
  anatomy: ChestAnatomy;
}

export interface PlannedCtStudy extends PlannedStudyBase {
  kind: 'chest-ct';
  modality: 'CT';
  sopClassUid: string;
  device: CtScanner;
  anatomy: CtAnatomy;
  frameOfReferenceUid: string;
  sliceThickness: number;
  sliceSpacing: number;
  ctdiVol: number;
  kvp: number;
  tubeCurrent: number;
}

export type PlannedStudy = PlannedRadiographStudy | PlannedCtStudy;

const FEMALE_GIVEN = [
  'JANE',
  'MARIA',
  'ANNA',
  'SOFIA',
  'LENA',
  'CHLOÉ',
  'ZOË',
  'AMELIA',
  'NORA',
  'INÉS',
];
const MALE_GIVEN = [
  'JOHN',
  'LUKAS',
  'JOSÉ',
  'ANDRÉ',
  'DAVID',
  'JÜRGEN',
  'OMAR',
  'PETER',
  'MATEO',
  'LIAM',
];
const FAMILY = [
  'DOE',
  'MÜLLER',
  'SMITH',
  'GARCÍA',
  "O'NEILL",
  'NGUYEN',
  'KOWALSKI',
  'BJÖRK',
  'ROSSI',
  'MEIER-STAUB',
  'DUBOIS',
  'PATEL',
];
const REFERRING = [
  'MÜLLER^ANNA^^DR',
  'HUBER^THOMAS^^DR',
  'LEE^GRACE^^DR',
  'FONTAINE^LÉA^^DR',
  'OKAFOR^CHIDI^^DR',
];

const EPOCH = Date.UTC(2021, 0, 4);
const DAY = 86_400_000;

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function dicomTime(msOfDay: number): string {
  const seconds = Math.floor(msOfDay / 1000);
  const hh = Math.floor(seconds / 3600);
  const mm = Math.floor((seconds % 3600) / 60);
  const ss = seconds % 60;
  return [hh, mm, ss].map((part) => String(part).padStart(2, '0')).join('');
}

/**
 * Id bases per seed. Ids grow with the ordinal, with gaps as in a PACS that also stores other
 * studies; strides leave room for the largest study (2 series, 16 instances, 4 report fields).
 */
function idBases(seed: number): { study: number; series: number; instance: number; field: number } {
  const random = createRandom(`${seed}/ids`);
  return {
    study: random.int(1_000_000, 1_999_999),
    series: random.int(3_000_000, 3_999_999),
    instance: random.int(5_000_000, 5_999_999),
    field: random.int(7_000_000, 7_999_999),
  };
}

const STRIDE = { study: 37, series: 97, instance: 400, field: 50 } as const;

/**
 * Study kinds come in pairs, one radiograph and one CT in random order, so any sample is about
 * half of each; successive radiographs rotate through the devices, so every header variant
 * (MONOCHROME1/2, windows or none, rescale or none) appears within four pairs.
 */
function kindAndDevice(seed: number, ordinal: number): { kind: StudyKind; deviceIndex: number } {
  if (ordinal === DELETED_STUDY_ORDINAL) {
    const random = createRandom(`${seed}/deleted-kind`);
    return random.chance(0.5)
      ? { kind: 'chest-radiograph', deviceIndex: random.int(0, RADIOGRAPH_DEVICES.length - 1) }
      : { kind: 'chest-ct', deviceIndex: random.int(0, CT_SCANNERS.length - 1) };
  }
  const pair = Math.floor((ordinal - 1) / 2);
  const phase = createRandom(`${seed}/device-phase`);
  const radiographPhase = phase.int(0, RADIOGRAPH_DEVICES.length - 1);
  const ctPhase = phase.int(0, CT_SCANNERS.length - 1);
  const radiographFirst = createRandom(`${seed}/pair/${pair}`).chance(0.5);
  const isRadiograph = ((ordinal - 1) % 2 === 0) === radiographFirst;
  return isRadiograph
    ? {
        kind: 'chest-radiograph',
        deviceIndex: (pair + radiographPhase) % RADIOGRAPH_DEVICES.length,
      }
    : { kind: 'chest-ct', deviceIndex: (pair + ctPhase) % CT_SCANNERS.length };
}

function planPatient(random: Random, studyDay: number): PlannedPatient {
  const sex = random.chance(0.5) ? 'F' : 'M';
  const given = random.pick(sex === 'F' ? FEMALE_GIVEN : MALE_GIVEN);
  const age = random.int(19, 91);
  const birth = studyDay - age * 365.25 * DAY - random.int(0, 360) * DAY;
  return {
    id: String(random.int(10_000_000, 99_999_999)),
    name: `${random.pick(FAMILY)}^${given}`,
    sex,
    birthDate: isoDate(birth),
    age,
  };
}

const HEADER_STYLES = 3;

/**
 * A report field's text as reporting systems store it, under its section header, in one of the
 * styles found in practice (`FINDINGS: …`, `Findings:` on its own line, `FINDINGS - …`). A
 * comparison line that opens the findings gets its own COMPARISON header.
 */
function withHeader(name: string, value: string, style: number): string {
  const head = (section: string, body: string): string => {
    const upper = section.toUpperCase();
    if (style === 0) return `${upper}: ${body}`;
    if (style === 1) return `${upper[0]}${upper.slice(1).toLowerCase()}:\n${body}`;
    return `${upper} - ${body}`;
  };
  const comparison = /^Comparison:\s*(.*)\n/.exec(value);
  if (name === 'findings' && comparison !== null) {
    return `${head('comparison', comparison[1]!)}\n\n${head('findings', value.slice(comparison[0].length))}`;
  }
  return head(name, value);
}

/** A patient seen again on `studyDay`: same identity, age at that day. */
function samePatientLater(patient: PlannedPatient, studyDay: number): PlannedPatient {
  const age = Math.floor((studyDay - Date.parse(patient.birthDate)) / (365.25 * DAY));
  return { ...patient, age: Math.max(0, age) };
}

function planRadiographAnatomy(random: Random, sex: 'F' | 'M'): ChestAnatomy {
  const female = sex === 'F';
  return {
    sex,
    thoraxHalfWidth: random.between(female ? 124 : 138, female ? 148 : 164),
    apDepth: random.between(190, 255),
    apexY: random.between(58, 88),
    lungHeight: random.between(205, 255),
    cardiothoracicRatio: random.chance(0.25)
      ? random.between(0.53, 0.62)
      : random.between(0.4, 0.5),
    offsetX: random.normal(0, 8),
    textureSeed: random.uint32(),
  };
}

function planCtAnatomy(random: Random, sex: 'F' | 'M'): CtAnatomy {
  const female = sex === 'F';
  return {
    sex,
    bodyHalfWidth: random.between(female ? 142 : 155, female ? 172 : 188),
    bodyHalfDepth: random.between(98, 132),
    fat: random.between(8, 32),
    cardiothoracicRatio: random.chance(0.25)
      ? random.between(0.53, 0.62)
      : random.between(0.4, 0.5),
    offsetX: random.normal(0, 6),
    offsetY: random.normal(-8, 6),
    contrast: random.chance(0.4),
    vessels: planLungVessels(random),
  };
}

function storagePath(date: string, studyUid: string, seriesUid: string, sopUid: string): string {
  return `${date.replaceAll('-', '/')}/${studyUid}/${seriesUid}/${sopUid}.dcm`;
}

function addSeconds(time: string, seconds: number): string {
  const total =
    Number(time.slice(0, 2)) * 3600 +
    Number(time.slice(2, 4)) * 60 +
    Number(time.slice(4, 6)) +
    seconds;
  return dicomTime((total % 86_400) * 1000);
}

/** The full, deterministic plan of study `ordinal` of the sample PACS generated with `seed`. */
export function planStudy(seed: number, ordinal: number): PlannedStudy {
  const random = createRandom(`${seed}/${ordinal}/study`);
  const bases = idBases(seed);
  const { kind, deviceIndex } = kindAndDevice(seed, ordinal);
  // Any day of four past years: however many studies are asked for, none is in the future.
  const studyDay = EPOCH + random.int(0, 4 * 365) * DAY;
  const startMs = random.int(7 * 3600 + 30 * 60, 19 * 3600 + 30 * 60) * 1000;
  const date = isoDate(studyDay);
  const time = dicomTime(startMs);
  const own = planPatient(random, studyDay);
  const returning = returningPatientOf(ordinal);
  const patient =
    returning === null ? own : samePatientLater(planStudy(seed, returning).patient, studyDay);
  const uid = nameBasedUid(`${seed}/${ordinal}/study`);
  const seriesIdBase = bases.series + ordinal * STRIDE.series + random.int(0, 60);
  let instanceId = bases.instance + ordinal * STRIDE.instance + random.int(0, 300);
  const seriesUid = (j: number): string => nameBasedUid(`${seed}/${ordinal}/series/${j}`);
  const instanceUid = (j: number, n: number): string =>
    nameBasedUid(`${seed}/${ordinal}/series/${j}/instance/${n}`);
  const prefix = kind === 'chest-radiograph' ? 'XR' : 'CT';
  const base = {
    ordinal,
    deleted: ordinal === DELETED_STUDY_ORDINAL,
    id: bases.study + ordinal * STRIDE.study + random.int(0, 30),
    uid,
    accessionNumber: `${prefix}${date.replaceAll('-', '').slice(2)}${String(random.int(0, 9999)).padStart(4, '0')}`,
    date,
    time,
    createdAt: new Date(studyDay + startMs + random.int(4, 25) * 60_000).toISOString(),
    referringPhysician: random.pick(REFERRING),
    patient,
    noiseKey: `${seed}/${ordinal}/pixels`,
  };

  let study: PlannedStudy;
  let techniqueDetail: string;
  let contrast = false;
  if (kind === 'chest-radiograph') {
    const device = RADIOGRAPH_DEVICES[deviceIndex] as RadiographDevice;
    const anatomy = planRadiographAnatomy(random, patient.sex);
    const kvp = random.pick([110, 117, 120, 125]);
    const series: PlannedSeries[] = (['PA', 'LL'] as const).map((view, j) => {
      const { width, height, spacing } = device.detector;
      // CR readers crop the plate a little differently every time.
      const crop = device.modality === 'CR' ? random.int(0, 60) : 0;
      const sopInstanceUid = instanceUid(j, 1);
      return {
        id: seriesIdBase + j,
        uid: seriesUid(j),
        number: j + 1,
        description: view === 'PA' ? 'CHEST PA' : 'CHEST LAT LEFT',
        instances: [
          {
            id: (instanceId += 1 + random.int(0, 3)),
            sopInstanceUid,
            instanceNumber: 1,
            filePath: storagePath(date, uid, seriesUid(j), sopInstanceUid),
            contentTime: addSeconds(time, 40 + j * random.int(60, 150)),
            image: {
              kind: 'radiograph',
              view,
              rows: Math.round(height / spacing) - crop,
              columns: Math.round(width / spacing) - Math.round(crop * 0.8),
              pixelSpacing: spacing,
              collimation: [
                random.between(0, 18),
                random.between(0, 22),
                random.between(0, 14),
                random.between(0, 22),
              ],
              kvp: view === 'PA' ? kvp : kvp + 5,
              exposureMs: random.int(4, 18) * (view === 'PA' ? 1 : 2),
              tubeCurrent: random.int(200, 500),
            },
          },
        ],
      };
    });
    const slot = quirkSlot(ordinal);
    const pa = series[0]!.instances[0]!;
    if (slot === 0) pa.quirk = 'mislabelled-polarity';
    if (slot !== null && slot > 0) {
      // The modality sent the PA again (a copy, or a copy with a little noise), or an unexposed plate.
      const quirk = (['resent-noisy-copy', 'resent-copy', 'unexposed'] as const)[slot - 1]!;
      const sopInstanceUid = instanceUid(2, 1);
      const paImage = pa.image as RadiographImagePlan;
      series.push({
        id: seriesIdBase + 2,
        uid: seriesUid(2),
        number: 3,
        description: 'CHEST PA',
        instances: [
          {
            id: (instanceId += 1),
            sopInstanceUid,
            instanceNumber: 1,
            filePath: storagePath(date, uid, seriesUid(2), sopInstanceUid),
            contentTime: addSeconds(pa.contentTime, 300),
            image: quirk === 'unexposed' ? { ...paImage, rows: 1024, columns: 1024 } : paImage,
            quirk,
          },
        ],
      });
    }
    techniqueDetail = `${kvp} kVp, ${device.model}`;
    study = {
      ...base,
      kind,
      modality: device.modality,
      sopClassUid: SOP_CLASS[device.modality],
      device,
      anatomy,
      description: random.pick(['XR CHEST PA AND LATERAL', 'CHEST 2 VIEWS', 'THORAX PA + LAT']),
      series,
      reportFields: [],
    };
  } else {
    const device = CT_SCANNERS[deviceIndex] as CtScanner;
    const anatomy = planCtAnatomy(random, patient.sex);
    contrast = anatomy.contrast;
    const slices = random.int(4, 8);
    const chestLength = random.between(230, 290);
    const firstLevel = random.between(0.04, 0.12);
    const lastLevel = random.between(0.88, 0.96);
    const sliceSpacing =
      Math.round((((lastLevel - firstLevel) * chestLength) / (slices - 1)) * 10) / 10;
    const apexZ = Math.round(random.between(-40, 10));
    const fieldOfView = Math.min(500, Math.ceil((anatomy.bodyHalfWidth * 2.24 + 30) / 10) * 10);
    const centre: [number, number] = [
      Math.round(random.normal(0, 4) * 10) / 10,
      Math.round(random.between(-20, 20) * 10) / 10,
    ];
    const kernels = ['lung', 'soft'] as const;
    const series: PlannedSeries[] = kernels.map((kernel, j) => ({
      id: seriesIdBase + j,
      uid: seriesUid(j),
      number: j + 2,
      description:
        kernel === 'lung'
          ? `Lung 5.0 ${device.kernels.lung}`
          : `Mediastinum 5.0 ${device.kernels.soft}`,
      instances: Array.from({ length: slices }, (_, n) => {
        const sopInstanceUid = instanceUid(j, n + 1);
        const level = firstLevel + (lastLevel - firstLevel) * (n / (slices - 1));
        return {
          id: (instanceId += 1),
          sopInstanceUid,
          instanceNumber: n + 1,
          filePath: storagePath(date, uid, seriesUid(j), sopInstanceUid),
          contentTime: addSeconds(time, 95 + j * 4 + n),
          image: {
            kind: 'ct-slice' as const,
            kernel,
            level,
            sliceLocation: apexZ - n * sliceSpacing,
            fieldOfView,
            centre,
          },
        };
      }),
    }));
    const slot = quirkSlot(ordinal);
    if (slot !== null && slot < 3) {
      const quirks = ['localizer', 'reformat', 'dose-screen'] as const;
      const quirk = quirks[slot as 0 | 1 | 2];
      const first = series[1]!.instances[0]!;
      const sopInstanceUid = instanceUid(2, 1);
      series.push({
        id: seriesIdBase + 2,
        uid: seriesUid(2),
        number: quirk === 'localizer' ? 1 : quirk === 'reformat' ? 4 : 99,
        description:
          quirk === 'localizer'
            ? 'Topogram 0.6 T20f'
            : quirk === 'reformat'
              ? 'Cor MPR 3.0 soft'
              : 'Dose Report',
        instances: [
          {
            ...first,
            id: (instanceId += 1),
            sopInstanceUid,
            filePath: storagePath(date, uid, seriesUid(2), sopInstanceUid),
            quirk,
            ...(quirk === 'dose-screen' ? { sopClassUid: SOP_CLASS.SECONDARY_CAPTURE } : {}),
          },
        ],
      });
    }
    techniqueDetail = `${device.kernels.lung}/${device.kernels.soft}`;
    study = {
      ...base,
      kind,
      modality: 'CT',
      sopClassUid: SOP_CLASS.CT,
      device,
      anatomy,
      frameOfReferenceUid: nameBasedUid(`${seed}/${ordinal}/frame`),
      sliceThickness: 5,
      sliceSpacing,
      ctdiVol: Math.round(random.between(2.5, 9) * 100) / 100,
      kvp: random.pick([100, 120]),
      tubeCurrent: random.int(80, 260),
      description: contrast
        ? 'CT CHEST WITH CONTRAST'
        : random.pick(['CT CHEST WITHOUT CONTRAST', 'CT THORAX NATIVE']),
      series,
      reportFields: [],
    };
  }

  const headerStyle = createRandom(`${seed}/${ordinal}/report-style`).int(0, HEADER_STYLES - 1);
  const fieldBase = bases.field + ordinal * STRIDE.field + random.int(0, 40);
  let fieldTime = studyDay + startMs + random.int(20, 180) * 60_000;
  study.reportFields = writeReport(createRandom(`${seed}/${ordinal}/report`), {
    kind,
    sex: patient.sex,
    age: patient.age,
    cardiothoracicRatio: study.anatomy.cardiothoracicRatio,
    contrast,
    priorDate: isoDate(studyDay - random.int(60, 900) * DAY),
    techniqueDetail,
  }).map((field, n) => {
    fieldTime += random.int(2, 9) * 60_000;
    return {
      ...field,
      value: withHeader(field.name, field.value, headerStyle),
      id: fieldBase + n,
      createdAt: new Date(fieldTime).toISOString(),
    };
  });
  if (kind === 'chest-ct' && quirkSlot(ordinal) === 3) {
    // Dictated but never written: the report gate's case.
    study.reportFields = [
      { ...study.reportFields[0]!, name: 'findings', value: 'Report to follow.' },
    ];
  }
  return study;
}
