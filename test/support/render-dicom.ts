import { writePart10, type DicomElement, type TransferSyntax } from '../../src/dicom/writer.js';

/** Builds the grayscale DICOM inputs of the renderer tests with the sample PACS's writer. */

const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
export const CR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.1';
const SECONDARY_CAPTURE_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.7';
const BASIC_TEXT_SR = '1.2.840.10008.5.1.4.1.1.88.11';
/** A syntax the renderer will not decode (video), for the UNSUPPORTED_IMAGE paths. */
export const MPEG2_MAIN_PROFILE = '1.2.840.10008.1.2.4.100';

export interface GrayDicomSpec {
  rows: number;
  columns: number;
  /** One sample per pixel and frame; Uint8Array means Bits Allocated 8. */
  pixels: Uint8Array | Uint16Array | Int16Array;
  bitsStored?: number;
  highBit?: number;
  signed?: boolean;
  photometric?: 'MONOCHROME1' | 'MONOCHROME2';
  /** Window Center/Width; several windows as arrays. */
  window?: { center: number | number[]; width: number | number[] };
  rescale?: { slope: number; intercept: number };
  padding?: number;
  paddingLimit?: number;
  frames?: number;
  transferSyntax?: TransferSyntax;
  sopClassUid?: string;
  /** Added as they are; replace the generated element with the same tag. */
  extra?: DicomElement[];
}

let instanceCounter = 0;

export function grayDicom(spec: GrayDicomSpec): Uint8Array {
  const eightBit = spec.pixels instanceof Uint8Array;
  const bitsAllocated = eightBit ? 8 : 16;
  const bitsStored = spec.bitsStored ?? bitsAllocated;
  const signed = spec.signed ?? spec.pixels instanceof Int16Array;
  const paddingVr = signed ? 'SS' : 'US';
  const elements: DicomElement[] = [
    { tag: 0x00080060, vr: 'CS', value: 'OT' },
    { tag: 0x00280002, vr: 'US', value: 1 },
    { tag: 0x00280004, vr: 'CS', value: spec.photometric ?? 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: spec.rows },
    { tag: 0x00280011, vr: 'US', value: spec.columns },
    { tag: 0x00280100, vr: 'US', value: bitsAllocated },
    { tag: 0x00280101, vr: 'US', value: bitsStored },
    { tag: 0x00280102, vr: 'US', value: spec.highBit ?? bitsStored - 1 },
    { tag: 0x00280103, vr: 'US', value: signed ? 1 : 0 },
    { tag: 0x7fe00010, vr: eightBit ? 'OB' : 'OW', value: spec.pixels },
  ];
  if (spec.frames !== undefined) elements.push({ tag: 0x00280008, vr: 'IS', value: spec.frames });
  if (spec.window !== undefined) {
    elements.push(
      { tag: 0x00281050, vr: 'DS', value: [spec.window.center].flat() },
      { tag: 0x00281051, vr: 'DS', value: [spec.window.width].flat() },
    );
  }
  if (spec.rescale !== undefined) {
    elements.push(
      { tag: 0x00281052, vr: 'DS', value: spec.rescale.intercept },
      { tag: 0x00281053, vr: 'DS', value: spec.rescale.slope },
      { tag: 0x00281054, vr: 'LO', value: 'HU' },
    );
  }
  if (spec.padding !== undefined) {
    elements.push({ tag: 0x00280120, vr: paddingVr, value: spec.padding });
  }
  if (spec.paddingLimit !== undefined) {
    elements.push({ tag: 0x00280121, vr: paddingVr, value: spec.paddingLimit });
  }
  const extraTags = new Set((spec.extra ?? []).map((element) => element.tag));
  instanceCounter += 1;
  return writePart10({
    sopClassUid: spec.sopClassUid ?? CT_IMAGE_STORAGE,
    sopInstanceUid: `2.25.${process.pid}${instanceCounter}`,
    transferSyntax: spec.transferSyntax ?? 'explicit-le',
    elements: [...elements.filter((element) => !extraTags.has(element.tag)), ...(spec.extra ?? [])],
  });
}

/** A data set without any pixel data, like a structured report. */
export function reportDicom(): Uint8Array {
  instanceCounter += 1;
  return writePart10({
    sopClassUid: BASIC_TEXT_SR,
    sopInstanceUid: `2.25.${process.pid}${instanceCounter}`,
    transferSyntax: 'explicit-le',
    elements: [
      { tag: 0x00080060, vr: 'CS', value: 'SR' },
      { tag: 0x0040a040, vr: 'CS', value: 'CONTAINER' },
    ],
  });
}

/** Offset just after the file meta group, which the writer ends with its group length. */
export function datasetOffset(part10: Uint8Array): number {
  const view = new DataView(part10.buffer, part10.byteOffset, part10.byteLength);
  return 132 + 12 + view.getUint32(140, true);
}

/**
 * Rewrites the Transfer Syntax UID in the file meta (and the meta group length with it), for
 * syntaxes the writer does not produce. The data set bytes stay as they are.
 */
export function withTransferSyntaxUid(part10: Uint8Array, uid: string): Uint8Array {
  const view = new DataView(part10.buffer, part10.byteOffset, part10.byteLength);
  const end = datasetOffset(part10);
  const chunks: Uint8Array[] = [];
  let offset = 144;
  while (offset < end) {
    const group = view.getUint16(offset, true);
    const element = view.getUint16(offset + 2, true);
    const vr = String.fromCharCode(part10[offset + 4]!, part10[offset + 5]!);
    const long = vr === 'OB';
    const length = long ? view.getUint32(offset + 8, true) : view.getUint16(offset + 6, true);
    const headerLength = long ? 12 : 8;
    const next = offset + headerLength + length;
    if (group === 0x0002 && element === 0x0010) {
      const value = Buffer.from(uid.length % 2 === 0 ? uid : `${uid}\0`, 'latin1');
      const header = Buffer.alloc(8);
      header.writeUInt16LE(0x0002, 0);
      header.writeUInt16LE(0x0010, 2);
      header.write('UI', 4, 'latin1');
      header.writeUInt16LE(value.length, 6);
      chunks.push(header, value);
    } else {
      chunks.push(part10.subarray(offset, next));
    }
    offset = next;
  }
  const meta = Buffer.concat(chunks);
  const groupLength = Buffer.alloc(12);
  groupLength.writeUInt16LE(0x0002, 0);
  groupLength.writeUInt16LE(0x0000, 2);
  groupLength.write('UL', 4, 'latin1');
  groupLength.writeUInt16LE(4, 6);
  groupLength.writeUInt32LE(meta.length, 8);
  return Buffer.concat([part10.subarray(0, 132), groupLength, meta, part10.subarray(end)]);
}

/** The data set alone, as some PACS store it: no preamble, no file meta. */
export function bareDataset(part10: Uint8Array): Uint8Array {
  // Not part10.slice(): the writer returns a Buffer, whose slice is a view.
  return new Uint8Array(part10.subarray(datasetOffset(part10)));
}

export interface ColourDicomSpec {
  rows: number;
  columns: number;
  photometric: 'RGB' | 'YBR_FULL' | 'YBR_FULL_422' | 'YBR_ICT' | 'YBR_RCT' | 'PALETTE COLOR';
  /** All samples of all frames as stored; Uint8Array means Bits Allocated 8. */
  pixels: Uint8Array | Uint16Array;
  planar?: 0 | 1;
  bitsStored?: number;
  frames?: number;
  /** Palette descriptors and data, or anything else. */
  extra?: DicomElement[];
}

/** Builds the colour inputs of the renderer tests. */
export function colourDicom(spec: ColourDicomSpec): Uint8Array {
  const palette = spec.photometric === 'PALETTE COLOR';
  return grayDicom({
    rows: spec.rows,
    columns: spec.columns,
    pixels: spec.pixels,
    ...(spec.bitsStored === undefined ? {} : { bitsStored: spec.bitsStored }),
    ...(spec.frames === undefined ? {} : { frames: spec.frames }),
    sopClassUid: SECONDARY_CAPTURE_IMAGE_STORAGE,
    extra: [
      { tag: 0x00280002, vr: 'US', value: palette ? 1 : 3 },
      { tag: 0x00280004, vr: 'CS', value: spec.photometric },
      ...(palette ? [] : [{ tag: 0x00280006, vr: 'US', value: spec.planar ?? 0 } as const]),
      ...(spec.extra ?? []),
    ],
  });
}
