/** Types shared by the renderer and its callers (pipeline, ledger, dataset files). */

export interface RenderOptions {
  /** JPEG quality, 1..100. Default 90. */
  quality: number;
  /** Huffman-optimised JPEG coding: about 10% smaller, about twice the encode time. Default off. */
  optimiseCoding: boolean;
  /** Output file format. PNG is lossless. Default 'jpeg'. */
  format: OutputFormat;
  /**
   * 16 writes a 16-bit grayscale PNG master: the same modality → VOI → presentation pipeline
   * as the 8-bit image, with the VOI output range 0..65535 instead of 0..255, so the 8-bit image
   * is the master divided by 257 (to rounding). Only with format 'png' and grayscale images;
   * colour images stay 8-bit. Default 8.
   */
  bitDepth: 8 | 16;
  /** Longest side of the output in pixels; larger images are downsampled (lanczos3), aspect kept. */
  maxSize?: number | undefined;
  /** VOI window to use instead of the file's (modality units); centre any number, width > 0. */
  window?: { center: number; width: number } | undefined;
  /** Which of the file's windows (or VOI LUTs) to use, from 1. Default 1. */
  windowIndex: number;
  /** 'all' renders every frame of a multi-frame image, one at a time. Default 'first'. */
  frames: 'first' | 'all';
}

type OutputFormat = 'jpeg' | 'png';

/** The renderer's defaults: the configuration's (src/config/schema.ts takes them from here). */
export const DEFAULT_RENDER_OPTIONS: Readonly<RenderOptions> = Object.freeze({
  quality: 90,
  optimiseCoding: false,
  format: 'jpeg',
  bitDepth: 8,
  windowIndex: 1,
  frames: 'first',
});

/**
 * Where the VOI came from: the file's window or VOI LUT, the caller's override, the percentile
 * or full-range fallback, or 'none' for colour images, which have no VOI stage.
 */
export type WindowSource = 'file' | 'voi-lut' | 'override' | 'percentile' | 'full-range' | 'none';

/** VOI LUT Function (0028,1056), 'LUT' for a VOI LUT Sequence, 'NONE' for colour. */
type VoiFunction = 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID' | 'LUT' | 'NONE';

/**
 * How an image was made from its DICOM: recorded in the ledger and in the CSV's extra columns.
 * Fields added after the first release are optional so that recipes already stored still read;
 * the renderer always sets them.
 */
export interface RenderRecipe {
  windowSource: WindowSource;
  /** Null when the VOI is a LUT or there is no VOI (colour). */
  windowCenter: number | null;
  windowWidth: number | null;
  /** VOI LUT function applied. */
  voiFunction: VoiFunction;
  /** 1-based index of the file's window or VOI LUT used; null when it came from elsewhere. */
  windowIndex?: number | null;
  /** True when the output was inverted (MONOCHROME1, or Presentation LUT Shape INVERSE). */
  inverted: boolean;
  photometricInterpretation: string;
  /** 'LUT' when a Modality LUT Sequence replaced the rescale (slope 1, intercept 0 are then moot). */
  modalityTransform?: 'RESCALE' | 'LUT';
  rescaleSlope: number;
  rescaleIntercept: number;
  bitsStored: number;
  /** 1-based frame number rendered. */
  frame: number;
  /** Number of Frames of the source image. */
  frames?: number;
  /** Output size (after any maxSize downsampling). */
  width: number;
  height: number;
  /** Size of the DICOM image. */
  sourceWidth?: number;
  sourceHeight?: number;
  codec: OutputFormat;
  /** JPEG quality; null for PNG. */
  quality: number | null;
  /** Bits per sample of the output file. */
  bitDepth?: 8 | 16;
}

/**
 * Cheap statistics of a rendered frame, taken from its display raster before encoding, for the
 * quality gates. Grey levels are 0..255 (luma for colour, the top byte of a 16-bit raster);
 * everything but `fileSha256` comes from a sample of at most about 65k pixels.
 */
export interface ImageStats {
  mean: number;
  /** Standard deviation of the grey levels. */
  std: number;
  /** 1st and 99th percentiles of the grey levels. */
  p01: number;
  p99: number;
  /** Mean of the central vertical band (middle sixth of the width, middle half of the height). */
  centreMean: number;
  /** Mean of the two bands centred at a quarter and three quarters of the width, same height. */
  sidesMean: number;
  /**
   * SHA-256 of the encoded image file (hex). The encoder is deterministic, so equal rasters give
   * equal files; hashing the file (a tenth of the raster's bytes) keeps this cheap.
   */
  fileSha256: string;
  /** The 17×16 block means of the dHash grid, one byte each, base64: a tiny thumbnail. */
  thumbnail: string;
  /**
   * 256-bit difference hash, 64 hex digits: the sign of the gradient between neighbouring block
   * means of a 17×16 grid, row by row. 64 bits (9×8) proved too coarse: CT slices of different
   * patients at the same level came within 3 bits of each other.
   */
  dHash: string;
}

export interface RenderedImage {
  /** The encoded image file (JPEG or PNG). */
  bytes: Uint8Array;
  recipe: RenderRecipe;
  /** Statistics of the raster the file encodes; absent from images rendered before they existed. */
  stats?: ImageStats;
}
