import { renderChestRadiograph } from './chest-radiograph.js';
import { chestCtSlice, CT_MATRIX, reconstruct } from './chest-ct.js';
import { writePart10, type DicomElement } from '../dicom/writer.js';
import { createRandom } from './seeded-random.js';
import type {
  CtImagePlan,
  PlannedCtStudy,
  PlannedInstance,
  PlannedRadiographStudy,
  PlannedSeries,
  PlannedStudy,
  RadiographImagePlan,
} from './study-plan.js';

/**
 * Turns a planned study into DICOM Part 10 files: the headers a real modality would write
 * (patient, general study/series/equipment, image pixel, modality-specific modules) plus the
 * rendered pixels.
 */

export interface StudyFile {
  series: PlannedSeries;
  instance: PlannedInstance;
  bytes: Uint8Array;
}

const INSTITUTION = 'EDEN GENERAL HOSPITAL';
const CHEST_CODE: DicomElement[] = [
  { tag: 0x00080100, vr: 'SH', value: '51185008' },
  { tag: 0x00080102, vr: 'SH', value: 'SCT' },
  { tag: 0x00080104, vr: 'LO', value: 'Chest' },
];
const VIEW_CODES = {
  PA: { code: '399348003', meaning: 'postero-anterior' },
  LL: { code: '399173006', meaning: 'left lateral' },
} as const;

function dicomDate(iso: string): string {
  return iso.replaceAll('-', '');
}

function textValues(elements: readonly DicomElement[]): string[] {
  return elements.flatMap((element) => {
    const { value } = element;
    if (typeof value === 'string') return [value];
    if (!Array.isArray(value)) return [];
    return value.flatMap((item: unknown) =>
      typeof item === 'string'
        ? [item]
        : Array.isArray(item)
          ? textValues(item as DicomElement[])
          : [],
    );
  });
}

/** Declares UTF-8 only when a value needs it, as modalities do; plain-ASCII files stay unmarked. */
function withCharacterSet(elements: DicomElement[]): DicomElement[] {
  // eslint-disable-next-line no-control-regex -- ASCII is exactly the range tested here
  const needsUtf8 = textValues(elements).some((text) => /[^\x00-\x7f]/.test(text));
  return needsUtf8 ? [{ tag: 0x00080005, vr: 'CS', value: 'ISO_IR 192' }, ...elements] : elements;
}

function commonElements(
  study: PlannedStudy,
  series: PlannedSeries,
  instance: PlannedInstance,
): DicomElement[] {
  const date = dicomDate(study.date);
  const { device, patient } = study;
  return [
    { tag: 0x00080012, vr: 'DA', value: date },
    { tag: 0x00080013, vr: 'TM', value: instance.contentTime },
    { tag: 0x00080020, vr: 'DA', value: date },
    { tag: 0x00080021, vr: 'DA', value: date },
    { tag: 0x00080022, vr: 'DA', value: date },
    { tag: 0x00080023, vr: 'DA', value: date },
    { tag: 0x00080030, vr: 'TM', value: study.time },
    { tag: 0x00080031, vr: 'TM', value: instance.contentTime },
    { tag: 0x00080032, vr: 'TM', value: instance.contentTime },
    { tag: 0x00080033, vr: 'TM', value: instance.contentTime },
    { tag: 0x00080050, vr: 'SH', value: study.accessionNumber },
    { tag: 0x00080060, vr: 'CS', value: study.modality },
    { tag: 0x00080070, vr: 'LO', value: device.manufacturer },
    { tag: 0x00080080, vr: 'LO', value: INSTITUTION },
    { tag: 0x00080090, vr: 'PN', value: study.referringPhysician },
    { tag: 0x00081010, vr: 'SH', value: device.station },
    { tag: 0x00081030, vr: 'LO', value: study.description },
    { tag: 0x0008103e, vr: 'LO', value: series.description },
    { tag: 0x00081090, vr: 'LO', value: device.model },
    { tag: 0x00082218, vr: 'SQ', value: [CHEST_CODE] },
    { tag: 0x00100010, vr: 'PN', value: patient.name },
    { tag: 0x00100020, vr: 'LO', value: patient.id },
    { tag: 0x00100030, vr: 'DA', value: dicomDate(patient.birthDate) },
    { tag: 0x00100040, vr: 'CS', value: patient.sex },
    { tag: 0x00101010, vr: 'AS', value: `${String(patient.age).padStart(3, '0')}Y` },
    { tag: 0x00180015, vr: 'CS', value: 'CHEST' },
    { tag: 0x00181000, vr: 'LO', value: device.serialNumber },
    { tag: 0x00181020, vr: 'LO', value: device.software },
    { tag: 0x0020000d, vr: 'UI', value: study.uid },
    { tag: 0x0020000e, vr: 'UI', value: series.uid },
    { tag: 0x00200010, vr: 'SH', value: String(study.id) },
    { tag: 0x00200011, vr: 'IS', value: series.number },
    { tag: 0x00200012, vr: 'IS', value: 1 },
    { tag: 0x00200013, vr: 'IS', value: instance.instanceNumber },
    { tag: 0x00280002, vr: 'US', value: 1 },
    { tag: 0x00280100, vr: 'US', value: 16 },
    { tag: 0x00282110, vr: 'CS', value: '00' },
  ];
}

/**
 * Window(s) the way a CR/DX console sets them: around the bulk of the histogram, ignoring the
 * unexposed collimator border and the direct-exposure background at either end.
 */
function radiographWindows(pixels: Uint16Array, bitsStored: number, count: 1 | 2): DicomElement[] {
  const histogram = new Uint32Array(2 ** bitsStored);
  for (let i = 0; i < pixels.length; i += 1) {
    const value = pixels[i] as number;
    histogram[value] = (histogram[value] as number) + 1;
  }
  const percentile = (fraction: number): number => {
    const target = pixels.length * fraction;
    let seen = 0;
    for (let value = 0; value < histogram.length; value += 1) {
      seen += histogram[value] as number;
      if (seen >= target) return value;
    }
    return histogram.length - 1;
  };
  const low = percentile(0.08);
  const high = percentile(0.92);
  const centre = Math.round((low + high) / 2);
  const width = Math.max(2, Math.round((high - low) * 1.15));
  const centres = count === 1 ? [centre] : [centre, centre];
  const widths = count === 1 ? [width] : [width, Math.round(width * 0.7)];
  return [
    { tag: 0x00281050, vr: 'DS', value: centres },
    { tag: 0x00281051, vr: 'DS', value: widths },
    { tag: 0x00281055, vr: 'LO', value: count === 1 ? 'STANDARD' : ['STANDARD', 'HARD'] },
  ];
}

function radiographPixels(
  study: PlannedRadiographStudy,
  instance: PlannedInstance,
  image: RadiographImagePlan,
): Uint16Array {
  const { device } = study;
  return renderChestRadiograph(
    study.anatomy,
    {
      view: image.view,
      rows: image.rows,
      columns: image.columns,
      pixelSpacing: image.pixelSpacing,
      bitsStored: device.bitsStored,
      photometric: device.photometric,
      collimation: image.collimation,
    },
    createRandom(`${study.noiseKey}/${instance.sopInstanceUid}`),
  );
}

/** The pixels of a re-sent PA: the same, or with one grey level added to every fifth value. */
function resentPixels(original: Uint16Array, noisy: boolean, bitsStored: number): Uint16Array {
  const copy = new Uint16Array(original);
  if (!noisy) return copy;
  const max = 2 ** bitsStored - 1;
  for (let i = 0; i < copy.length; i += 5) copy[i] = Math.min(max, copy[i]! + 1);
  return copy;
}

function radiographFile(
  study: PlannedRadiographStudy,
  series: PlannedSeries,
  instance: PlannedInstance,
  image: RadiographImagePlan,
  pixels: Uint16Array,
): Uint8Array {
  const { device } = study;
  // A mislabelled file states the other polarity than its pixels have.
  const photometric =
    instance.quirk === 'mislabelled-polarity'
      ? device.photometric === 'MONOCHROME1'
        ? 'MONOCHROME2'
        : 'MONOCHROME1'
      : device.photometric;
  const dx = device.modality === 'DX';
  const spacing = [image.pixelSpacing, image.pixelSpacing];
  const elements: DicomElement[] = [
    ...commonElements(study, series, instance),
    { tag: 0x00080008, vr: 'CS', value: ['ORIGINAL', 'PRIMARY'] },
    { tag: 0x00180060, vr: 'DS', value: image.kvp },
    { tag: 0x00181030, vr: 'LO', value: 'Thorax PA/LAT' },
    { tag: 0x00181110, vr: 'DS', value: 1800 },
    { tag: 0x00181150, vr: 'IS', value: image.exposureMs },
    { tag: 0x00181151, vr: 'IS', value: image.tubeCurrent },
    {
      tag: 0x00181152,
      vr: 'IS',
      value: Math.max(1, Math.round((image.exposureMs * image.tubeCurrent) / 1000)),
    },
    { tag: 0x00181164, vr: 'DS', value: spacing },
    { tag: 0x00185101, vr: 'CS', value: image.view },
    { tag: 0x00200020, vr: 'CS', value: image.view === 'PA' ? ['L', 'F'] : ['P', 'F'] },
    { tag: 0x00280004, vr: 'CS', value: photometric },
    { tag: 0x00280010, vr: 'US', value: image.rows },
    { tag: 0x00280011, vr: 'US', value: image.columns },
    { tag: 0x00280101, vr: 'US', value: device.bitsStored },
    { tag: 0x00280102, vr: 'US', value: device.bitsStored - 1 },
    { tag: 0x00280103, vr: 'US', value: 0 },
    { tag: 0x7fe00010, vr: 'OW', value: pixels },
  ];
  if (device.windows > 0) {
    elements.push(...radiographWindows(pixels, device.bitsStored, device.windows === 1 ? 1 : 2));
  }
  if (device.rescale) {
    elements.push(
      { tag: 0x00281052, vr: 'DS', value: 0 },
      { tag: 0x00281053, vr: 'DS', value: 1 },
      { tag: 0x00281054, vr: 'LO', value: 'US' },
    );
  }
  if (dx) {
    const view = VIEW_CODES[image.view];
    const monochrome1 = photometric === 'MONOCHROME1';
    elements.push(
      { tag: 0x00080068, vr: 'CS', value: 'FOR PRESENTATION' },
      { tag: 0x00280030, vr: 'DS', value: spacing },
      // Log-encoded; the sign tells whether high values mean less X-ray intensity (bright).
      { tag: 0x00281040, vr: 'CS', value: 'LOG' },
      { tag: 0x00281041, vr: 'SS', value: monochrome1 ? 1 : -1 },
      // PS3.3 C.8.11.6.1.2: INVERSE goes with MONOCHROME1 (one inversion in total, not two).
      { tag: 0x20500020, vr: 'CS', value: monochrome1 ? 'INVERSE' : 'IDENTITY' },
      {
        tag: 0x00540220,
        vr: 'SQ',
        value: [
          [
            { tag: 0x00080100, vr: 'SH', value: view.code },
            { tag: 0x00080102, vr: 'SH', value: 'SCT' },
            { tag: 0x00080104, vr: 'LO', value: view.meaning },
          ],
        ],
      },
    );
  }
  return writePart10({
    sopClassUid: study.sopClassUid,
    sopInstanceUid: instance.sopInstanceUid,
    transferSyntax: device.transferSyntax,
    elements: withCharacterSet(elements),
  });
}

const CT_WINDOWS = {
  lung: { centres: [-600, 40], widths: [1500, 400], names: ['LUNG', 'MEDIASTINUM'] },
  soft: { centres: [40, -600], widths: [400, 1500], names: ['MEDIASTINUM', 'LUNG'] },
} as const;

const RESCALE_INTERCEPT = -1024;

const CT_IMAGE_TYPES: Partial<Record<NonNullable<PlannedInstance['quirk']> | 'none', string[]>> & {
  none: string[];
} = {
  none: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
  localizer: ['ORIGINAL', 'PRIMARY', 'LOCALIZER'],
  reformat: ['DERIVED', 'SECONDARY', 'MPR'],
  'dose-screen': ['DERIVED', 'SECONDARY', 'OTHER'],
};

function ctFile(
  study: PlannedCtStudy,
  series: PlannedSeries,
  instance: PlannedInstance,
  image: CtImagePlan,
  hu: Float32Array,
): Uint8Array {
  const { device } = study;
  const pixels = reconstruct(
    hu,
    {
      kernel: image.kernel,
      bitsStored: device.bitsStored,
      rescaleIntercept: RESCALE_INTERCEPT,
      paddingValue: device.paddingValue,
    },
    createRandom(`${study.noiseKey}/${instance.sopInstanceUid}`),
  );
  const spacing = image.fieldOfView / CT_MATRIX;
  const corner = (centre: number): number =>
    Math.round((centre - image.fieldOfView / 2 + spacing / 2) * 1e4) / 1e4;
  const windows = CT_WINDOWS[image.kernel];
  const elements: DicomElement[] = [
    ...commonElements(study, series, instance),
    {
      tag: 0x00080008,
      vr: 'CS',
      value: CT_IMAGE_TYPES[instance.quirk ?? 'none'] ?? CT_IMAGE_TYPES.none,
    },
    { tag: 0x00180050, vr: 'DS', value: study.sliceThickness },
    { tag: 0x00180060, vr: 'DS', value: study.kvp },
    { tag: 0x00180088, vr: 'DS', value: study.sliceSpacing },
    { tag: 0x00180090, vr: 'DS', value: 500 },
    { tag: 0x00181030, vr: 'LO', value: 'Thorax Routine' },
    { tag: 0x00181100, vr: 'DS', value: image.fieldOfView },
    { tag: 0x00181120, vr: 'DS', value: 0 },
    { tag: 0x00181140, vr: 'CS', value: 'CW' },
    { tag: 0x00181150, vr: 'IS', value: 500 },
    { tag: 0x00181151, vr: 'IS', value: study.tubeCurrent },
    { tag: 0x00181152, vr: 'IS', value: Math.round(study.tubeCurrent / 2) },
    { tag: 0x00181210, vr: 'SH', value: device.kernels[image.kernel] },
    { tag: 0x00185100, vr: 'CS', value: 'HFS' },
    { tag: 0x00189345, vr: 'FD', value: study.ctdiVol },
    {
      tag: 0x00200032,
      vr: 'DS',
      value: [corner(image.centre[0]), corner(image.centre[1]), image.sliceLocation],
    },
    { tag: 0x00200037, vr: 'DS', value: [1, 0, 0, 0, 1, 0] },
    { tag: 0x00200052, vr: 'UI', value: study.frameOfReferenceUid },
    { tag: 0x00201041, vr: 'DS', value: image.sliceLocation },
    { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: CT_MATRIX },
    { tag: 0x00280011, vr: 'US', value: CT_MATRIX },
    { tag: 0x00280030, vr: 'DS', value: [spacing, spacing] },
    { tag: 0x00280101, vr: 'US', value: device.bitsStored },
    { tag: 0x00280102, vr: 'US', value: device.bitsStored - 1 },
    { tag: 0x00280103, vr: 'US', value: 1 },
    { tag: 0x00281050, vr: 'DS', value: [...windows.centres] },
    { tag: 0x00281051, vr: 'DS', value: [...windows.widths] },
    { tag: 0x00281052, vr: 'DS', value: RESCALE_INTERCEPT },
    { tag: 0x00281053, vr: 'DS', value: 1 },
    { tag: 0x00281054, vr: 'LO', value: 'HU' },
    { tag: 0x00281055, vr: 'LO', value: [...windows.names] },
    { tag: 0x7fe00010, vr: 'OW', value: pixels },
  ];
  if (device.paddingValue !== undefined) {
    elements.push({ tag: 0x00280120, vr: 'SS', value: device.paddingValue });
  }
  if (study.anatomy.contrast) {
    elements.push({ tag: 0x00180010, vr: 'LO', value: 'IOPAMIDOL 370' });
  }
  return writePart10({
    sopClassUid: instance.sopClassUid ?? study.sopClassUid,
    sopInstanceUid: instance.sopInstanceUid,
    transferSyntax: device.transferSyntax,
    elements: withCharacterSet(elements),
  });
}

/**
 * Yields the study's files one at a time so at most one image is in memory. CT slices of both
 * kernels share one anatomy render per level.
 */
export function* renderStudyFiles(study: PlannedStudy): Generator<StudyFile> {
  if (study.kind === 'chest-radiograph') {
    // The PA's pixels, which a re-sent copy repeats.
    let pa: Uint16Array | null = null;
    for (const series of study.series) {
      for (const instance of series.instances) {
        if (instance.image.kind !== 'radiograph') continue;
        const { quirk } = instance;
        let pixels: Uint16Array;
        if (quirk === 'unexposed') {
          pixels = new Uint16Array(instance.image.rows * instance.image.columns).fill(
            2 ** (study.device.bitsStored - 2),
          );
        } else if ((quirk === 'resent-copy' || quirk === 'resent-noisy-copy') && pa !== null) {
          pixels = resentPixels(pa, quirk === 'resent-noisy-copy', study.device.bitsStored);
        } else {
          pixels = radiographPixels(study, instance, instance.image);
          if (instance.image.view === 'PA') pa = pixels;
        }
        yield {
          series,
          instance,
          bytes: radiographFile(study, series, instance, instance.image, pixels),
        };
      }
    }
    return;
  }
  const slices = Math.max(...study.series.map((series) => series.instances.length));
  for (let n = 0; n < slices; n += 1) {
    let hu: Float32Array | undefined;
    for (const series of study.series) {
      const instance = series.instances[n];
      if (instance === undefined || instance.image.kind !== 'ct-slice') continue;
      hu ??= chestCtSlice(study.anatomy, instance.image.level, instance.image.fieldOfView);
      yield { series, instance, bytes: ctFile(study, series, instance, instance.image, hu) };
    }
  }
}
