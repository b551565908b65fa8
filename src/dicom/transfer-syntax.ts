import { EtlError } from '../domain/errors.js';

/**
 * What the renderer knows about each transfer syntax: how its data set is encoded (which decides
 * whether we can parse the header at all) and whether we can decode its pixel data. Adding a
 * codec later means giving its syntax a `pixels` entry here and a decoder in src/transform/codecs.
 */

/** How the data set after the file meta is encoded. */
type DatasetEncoding = 'implicit-le' | 'explicit-le' | 'explicit-be' | 'deflated';

/**
 * Pixel data encodings we can decode to stored values: native (the samples as they are) or
 * encapsulated (fragments of codestreams, decoded by src/transform/codecs).
 */
type PixelEncoding = 'native' | 'encapsulated';

export interface TransferSyntax {
  uid: string;
  name: string;
  encoding: DatasetEncoding;
  /** Undefined while no decoder exists for the syntax's pixel data. */
  pixels?: PixelEncoding;
}

export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';

const KNOWN: readonly TransferSyntax[] = [
  {
    uid: IMPLICIT_VR_LITTLE_ENDIAN,
    name: 'Implicit VR Little Endian',
    encoding: 'implicit-le',
    pixels: 'native',
  },
  {
    uid: EXPLICIT_VR_LITTLE_ENDIAN,
    name: 'Explicit VR Little Endian',
    encoding: 'explicit-le',
    pixels: 'native',
  },
  {
    uid: '1.2.840.10008.1.2.1.98',
    name: 'Encapsulated Uncompressed Explicit VR Little Endian',
    encoding: 'explicit-le',
  },
  {
    uid: '1.2.840.10008.1.2.1.99',
    name: 'Deflated Explicit VR Little Endian',
    encoding: 'deflated',
    pixels: 'native',
  },
  {
    uid: '1.2.840.10008.1.2.2',
    name: 'Explicit VR Big Endian (retired)',
    encoding: 'explicit-be',
    pixels: 'native',
  },
  {
    uid: '1.2.840.10008.1.2.4.50',
    name: 'JPEG Baseline (Process 1)',
    encoding: 'explicit-le',
    pixels: 'encapsulated',
  },
  {
    uid: '1.2.840.10008.1.2.4.51',
    name: 'JPEG Extended (Process 2 & 4)',
    encoding: 'explicit-le',
    pixels: 'encapsulated',
  },
  {
    uid: '1.2.840.10008.1.2.4.57',
    name: 'JPEG Lossless, Non-Hierarchical (Process 14)',
    encoding: 'explicit-le',
    pixels: 'encapsulated',
  },
  {
    uid: '1.2.840.10008.1.2.4.70',
    name: 'JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])',
    encoding: 'explicit-le',
    pixels: 'encapsulated',
  },
  {
    uid: '1.2.840.10008.1.2.4.80',
    name: 'JPEG-LS Lossless',
    encoding: 'explicit-le',
    pixels: 'encapsulated',
  },
  {
    uid: '1.2.840.10008.1.2.4.81',
    name: 'JPEG-LS Lossy (Near-Lossless)',
    encoding: 'explicit-le',
    pixels: 'encapsulated',
  },
  {
    uid: '1.2.840.10008.1.2.4.90',
    name: 'JPEG 2000 Image Compression (Lossless Only)',
    encoding: 'explicit-le',
    pixels: 'encapsulated',
  },
  {
    uid: '1.2.840.10008.1.2.4.91',
    name: 'JPEG 2000 Image Compression',
    encoding: 'explicit-le',
    pixels: 'encapsulated',
  },
  {
    uid: '1.2.840.10008.1.2.4.92',
    name: 'JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)',
    encoding: 'explicit-le',
  },
  {
    uid: '1.2.840.10008.1.2.4.93',
    name: 'JPEG 2000 Part 2 Multi-component Image Compression',
    encoding: 'explicit-le',
  },
  { uid: '1.2.840.10008.1.2.4.94', name: 'JPIP Referenced', encoding: 'explicit-le' },
  { uid: '1.2.840.10008.1.2.4.95', name: 'JPIP Referenced Deflate', encoding: 'deflated' },
  {
    uid: '1.2.840.10008.1.2.4.100',
    name: 'MPEG2 Main Profile / Main Level',
    encoding: 'explicit-le',
  },
  {
    uid: '1.2.840.10008.1.2.4.101',
    name: 'MPEG2 Main Profile / High Level',
    encoding: 'explicit-le',
  },
  {
    uid: '1.2.840.10008.1.2.4.102',
    name: 'MPEG-4 AVC/H.264 High Profile / Level 4.1',
    encoding: 'explicit-le',
  },
  {
    uid: '1.2.840.10008.1.2.4.103',
    name: 'MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1',
    encoding: 'explicit-le',
  },
  {
    uid: '1.2.840.10008.1.2.4.104',
    name: 'MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video',
    encoding: 'explicit-le',
  },
  {
    uid: '1.2.840.10008.1.2.4.105',
    name: 'MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video',
    encoding: 'explicit-le',
  },
  {
    uid: '1.2.840.10008.1.2.4.106',
    name: 'MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2',
    encoding: 'explicit-le',
  },
  {
    uid: '1.2.840.10008.1.2.4.107',
    name: 'HEVC/H.265 Main Profile / Level 5.1',
    encoding: 'explicit-le',
  },
  {
    uid: '1.2.840.10008.1.2.4.108',
    name: 'HEVC/H.265 Main 10 Profile / Level 5.1',
    encoding: 'explicit-le',
  },
  { uid: '1.2.840.10008.1.2.4.110', name: 'JPEG XL Lossless', encoding: 'explicit-le' },
  { uid: '1.2.840.10008.1.2.4.111', name: 'JPEG XL JPEG Recompression', encoding: 'explicit-le' },
  { uid: '1.2.840.10008.1.2.4.112', name: 'JPEG XL', encoding: 'explicit-le' },
  {
    uid: '1.2.840.10008.1.2.4.201',
    name: 'High-Throughput JPEG 2000 Image Compression (Lossless Only)',
    encoding: 'explicit-le',
    pixels: 'encapsulated',
  },
  {
    uid: '1.2.840.10008.1.2.4.202',
    name: 'High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)',
    encoding: 'explicit-le',
    pixels: 'encapsulated',
  },
  {
    uid: '1.2.840.10008.1.2.4.203',
    name: 'High-Throughput JPEG 2000 Image Compression',
    encoding: 'explicit-le',
    pixels: 'encapsulated',
  },
  {
    uid: '1.2.840.10008.1.2.5',
    name: 'RLE Lossless',
    encoding: 'explicit-le',
    pixels: 'encapsulated',
  },
];

const BY_UID: ReadonlyMap<string, TransferSyntax> = new Map(KNOWN.map((ts) => [ts.uid, ts]));

/** Undefined for a UID we have never heard of (private or garbage). */
export function lookupTransferSyntax(uid: string): TransferSyntax | undefined {
  return BY_UID.get(uid);
}

export function unsupportedTransferSyntax(uid: string): EtlError {
  const name = BY_UID.get(uid)?.name ?? 'unknown';
  return new EtlError('UNSUPPORTED_IMAGE', `transfer syntax ${uid} (${name}) is not supported`);
}
