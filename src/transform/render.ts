import { asEtlError } from '../domain/errors.js';
import type { RenderedImage, RenderOptions, RenderRecipe } from '../domain/render.js';
import { autoWindow, type WindowChoice } from './auto-window.js';
import { parseDicom } from './dicom/parse.js';
import { readFirstFrame } from './dicom/pixel-data.js';
import { readPresentation } from './dicom/presentation.js';
import { encodeJpeg, type Gray8Raster } from './encode-jpeg.js';
import { applyDisplayLut, buildDisplayLut } from './lut.js';

export interface Gray8Image extends Gray8Raster {
  /** Everything of the recipe but the encoding, which is not decided yet. */
  recipe: Omit<RenderRecipe, 'codec' | 'quality'>;
}

/**
 * DICOM bytes → the 8-bit display raster of frame 1: parse, locate the stored values, choose the
 * window, fold modality → VOI → presentation into one LUT, apply it. Synchronous and allocation
 * bounded by the input size (the raster is one byte per pixel, the LUT 2^BitsStored bytes).
 * Throws EtlError: NOT_DICOM, DICOM_TRUNCATED, DICOM_INVALID, NOT_AN_IMAGE, UNSUPPORTED_IMAGE.
 */
export function renderToGray8(bytes: Uint8Array): Gray8Image {
  const parsed = parseDicom(bytes);
  const image = readFirstFrame(parsed);
  const { frame } = image;
  const presentation = readPresentation(parsed.dataSet, frame.signed);
  const { rescaleSlope, rescaleIntercept } = presentation;
  const window: WindowChoice =
    presentation.window === undefined
      ? autoWindow({ frame, rescaleSlope, rescaleIntercept, padding: presentation.padding })
      : { ...presentation.window, source: 'file' };
  const inverted = image.photometric === 'MONOCHROME1';
  const lut = buildDisplayLut({
    bitsStored: frame.bitsStored,
    signed: frame.signed,
    rescaleSlope,
    rescaleIntercept,
    windowCenter: window.center,
    windowWidth: window.width,
    invert: inverted,
  });
  return {
    pixels: applyDisplayLut(frame, lut),
    width: image.columns,
    height: image.rows,
    recipe: {
      windowSource: window.source,
      windowCenter: window.center,
      windowWidth: window.width,
      voiFunction: 'LINEAR',
      inverted,
      photometricInterpretation: image.photometric,
      rescaleSlope,
      rescaleIntercept,
      bitsStored: frame.bitsStored,
      frame: 1,
      width: image.columns,
      height: image.rows,
    },
  };
}

/**
 * Renders frame 1 of a DICOM file to a JPEG. Throws EtlError with the codes of renderToGray8,
 * RENDER_FAILED when encoding fails, INTERNAL for invalid options. `subject` is left unset: the
 * caller knows which instance this is.
 */
export async function renderDicom(
  bytes: Uint8Array,
  options: RenderOptions,
): Promise<RenderedImage> {
  try {
    const gray = renderToGray8(bytes);
    const jpeg = await encodeJpeg(gray, options);
    return { bytes: jpeg, recipe: { ...gray.recipe, codec: 'jpeg', quality: options.quality } };
  } catch (error) {
    throw asEtlError(error, 'RENDER_FAILED');
  }
}
