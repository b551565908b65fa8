/** Types shared by the renderer and its callers (pipeline, ledger, dataset files). */

export interface RenderOptions {
  /** JPEG quality, 1..100. Default 90. */
  quality: number;
  /** Huffman-optimised JPEG coding: about 10% smaller, about twice the encode time. Default off. */
  optimiseCoding: boolean;
}

export const DEFAULT_RENDER_OPTIONS: Readonly<RenderOptions> = Object.freeze({
  quality: 90,
  optimiseCoding: false,
});

/** Where the VOI window came from. */
export type WindowSource = 'file' | 'percentile' | 'full-range';

/** How an image was made from its DICOM: recorded in the ledger and in the CSV's extra columns. */
export interface RenderRecipe {
  windowSource: WindowSource;
  windowCenter: number;
  windowWidth: number;
  /** VOI LUT function applied. */
  voiFunction: 'LINEAR';
  /** True when the output was inverted (MONOCHROME1). */
  inverted: boolean;
  photometricInterpretation: string;
  rescaleSlope: number;
  rescaleIntercept: number;
  bitsStored: number;
  /** 1-based frame number rendered. */
  frame: number;
  width: number;
  height: number;
  codec: 'jpeg';
  quality: number;
}

export interface RenderedImage {
  /** The encoded image file (JPEG). */
  bytes: Uint8Array;
  recipe: RenderRecipe;
}
