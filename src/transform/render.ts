import { createHash } from 'node:crypto';
import { asEtlError, EtlError } from '../domain/errors.js';
import {
  DEFAULT_RENDER_OPTIONS,
  type RenderedImage,
  type RenderOptions,
  type RenderRecipe,
} from '../domain/render.js';
import { autoWindow } from './auto-window.js';
import { prepareCodecs } from './codecs/decode-frame.js';
import { toRgb8 } from './colour.js';
import { readPalette } from './palette.js';
import { parseDicom, type ParsedDicom } from '../dicom/parse.js';
import { readImage, type PixelImage, type StoredFrame } from './pixel-data.js';
import { readPresentation, type Presentation } from './presentation.js';
import { encodeImage, type Raster } from './encode-image.js';
import { imageStats } from './image-stats.js';
import { RecycledMemory } from './recycled-memory.js';
import {
  applyDisplayFunction,
  applyDisplayLut,
  buildDisplayLut,
  displayFunction,
  modalityFunction,
  type DisplayLutParams,
  type RasterMemory,
  type VoiTransform,
} from './lut.js';

/** Everything of the recipe but the encoding, which is not decided yet. */
type RasterRecipe = Omit<RenderRecipe, 'codec' | 'quality' | 'width' | 'height' | 'bitDepth'>;

export interface RasterFrame extends Raster {
  recipe: RasterRecipe;
}

type VoiRecipe = Pick<
  RenderRecipe,
  'windowSource' | 'windowCenter' | 'windowWidth' | 'voiFunction' | 'windowIndex'
>;

/**
 * The VOI stage: the caller's window; else the file's window number `windowIndex` (the first
 * usable one when that one is missing or unusable); else its VOI LUT of that number (or the
 * first); else a percentile window over frame 1, which then serves every frame so that a cine
 * loop does not flicker.
 */
function chooseVoi(
  presentation: Presentation,
  options: RenderOptions,
  firstFrame: StoredFrame,
): { voi: VoiTransform; recipe: VoiRecipe } {
  const fn = presentation.windowFunction;
  const windowVoi = (
    center: number,
    width: number,
    recipe: Omit<VoiRecipe, 'windowCenter' | 'windowWidth' | 'voiFunction'>,
  ) => ({
    voi: { kind: 'window', center, width, function: fn } as const,
    recipe: { ...recipe, windowCenter: center, windowWidth: width, voiFunction: fn },
  });
  if (options.window !== undefined) {
    const { center, width } = options.window;
    return windowVoi(center, width, { windowSource: 'override', windowIndex: null });
  }
  const wanted = options.windowIndex - 1;
  const { windows, voiLuts } = presentation;
  const windowAt =
    windows[wanted] !== undefined ? wanted : windows.findIndex((w) => w !== undefined);
  const window = windows[windowAt];
  if (window !== undefined) {
    return windowVoi(window.center, window.width, {
      windowSource: 'file',
      windowIndex: windowAt + 1,
    });
  }
  if (voiLuts.length > 0) {
    const lutAt = wanted < voiLuts.length ? wanted : 0;
    return {
      voi: { kind: 'lut', lut: voiLuts[lutAt]! },
      recipe: {
        windowSource: 'voi-lut',
        windowCenter: null,
        windowWidth: null,
        voiFunction: 'LUT',
        windowIndex: lutAt + 1,
      },
    };
  }
  const auto = autoWindow({
    frame: firstFrame,
    toModality: modalityFunction(presentation.modality),
    padding: presentation.padding,
  });
  return {
    voi: { kind: 'window', center: auto.center, width: auto.width, function: 'LINEAR' },
    recipe: {
      windowSource: auto.source,
      windowCenter: auto.center,
      windowWidth: auto.width,
      voiFunction: 'LINEAR',
      windowIndex: null,
    },
  };
}

function baseRecipe(
  image: PixelImage,
  first: StoredFrame,
): Omit<RasterRecipe, keyof VoiRecipe | 'inverted' | 'frame'> {
  return {
    photometricInterpretation: image.photometric,
    modalityTransform: 'RESCALE',
    rescaleSlope: 1,
    rescaleIntercept: 0,
    bitsStored: first.bitsStored,
    frames: image.frames,
    sourceWidth: image.columns,
    sourceHeight: image.rows,
  };
}

type FrameRenderer = (frame: StoredFrame) => Omit<RasterFrame, 'recipe' | 'width' | 'height'>;

/**
 * The grayscale pipeline (PS3.4 N.2). Inversion: MONOCHROME1 and Presentation LUT Shape INVERSE
 * describe the same single inversion after the VOI LUT, never two. PS3.3 C.8.11.1.1.1 (DX) makes
 * INVERSE the shape to pair with MONOCHROME1 ("output after inversion is in P-Values"), so a
 * MONOCHROME1 image with INVERSE is inverted once, like one without the attribute; MONOCHROME2
 * with INVERSE is inverted too. IDENTITY does not cancel MONOCHROME1: the same clause forbids
 * that pairing in an image, and files that carry it anyway are mislabelled far more often than
 * meant to be shown as negatives. dcmtk differs there alone (it lets IDENTITY win).
 */
function grayPlan(
  image: PixelImage,
  presentation: Presentation,
  options: RenderOptions,
  first: StoredFrame,
  memory: RasterMemory | undefined,
): { render: FrameRenderer; recipe: Omit<RasterRecipe, 'frame'> } {
  const { voi, recipe: voiRecipe } = chooseVoi(presentation, options, first);
  const inverted =
    image.photometric === 'MONOCHROME1' || presentation.presentationLutShape === 'INVERSE';
  const outMax = options.bitDepth === 16 && options.format === 'png' ? 65535 : 255;
  const params: DisplayLutParams = {
    bitsStored: first.bitsStored,
    signed: first.signed,
    modality: presentation.modality,
    voi,
    invert: inverted,
    outMax,
  };
  const { modality } = presentation;
  const recipe = {
    ...baseRecipe(image, first),
    ...voiRecipe,
    inverted,
    modalityTransform: modality.kind === 'lut' ? 'LUT' : 'RESCALE',
    rescaleSlope: modality.kind === 'lut' ? 1 : modality.slope,
    rescaleIntercept: modality.kind === 'lut' ? 0 : modality.intercept,
  } as const;
  if (first.bitsAllocated === 32) {
    const display = displayFunction(params);
    return {
      recipe,
      render: (frame) => ({ pixels: applyDisplayFunction(frame, display, outMax), channels: 1 }),
    };
  }
  const lut = buildDisplayLut(params);
  return {
    recipe,
    render: (frame) => ({ pixels: applyDisplayLut(frame, lut, memory), channels: 1 }),
  };
}

function colourPlan(
  image: PixelImage,
  parsed: ReturnType<typeof parseDicom>,
  first: StoredFrame,
): { render: FrameRenderer; recipe: Omit<RasterRecipe, 'frame'> } {
  const palette =
    image.photometric === 'PALETTE COLOR' ? readPalette(parsed.dataSet, first.signed) : undefined;
  const { photometric, planarConfiguration } = image;
  return {
    recipe: {
      ...baseRecipe(image, first),
      windowSource: 'none',
      windowCenter: null,
      windowWidth: null,
      voiFunction: 'NONE',
      windowIndex: null,
      inverted: false,
    },
    render: (frame) => ({
      pixels: toRgb8({
        frame,
        photometric: frame.photometric ?? photometric,
        planarConfiguration: frame.planarConfiguration ?? planarConfiguration,
        palette,
      }),
      channels: 3,
    }),
  };
}

/**
 * DICOM bytes → display rasters, one frame at a time (frame 1 only unless options.frames is
 * 'all'): parse, choose the window once, fold modality → VOI → presentation into one LUT, then
 * per frame read its stored values and apply the LUT. Only one frame's raster is alive per step,
 * so a 500-frame file costs its bytes plus one frame. Grayscale 8-bit rasters live in `memory`
 * when given. Throws EtlError: NOT_DICOM, DICOM_TRUNCATED, DICOM_INVALID, NOT_AN_IMAGE,
 * UNSUPPORTED_IMAGE (options are validated once, by the configuration).
 */
function* rasterFrames(
  parsed: ParsedDicom,
  options: RenderOptions,
  memory?: RasterMemory,
): Generator<RasterFrame> {
  const image = readImage(parsed);
  const first = image.frame(0);
  const plan =
    image.samplesPerPixel === 1 && image.photometric !== 'PALETTE COLOR'
      ? grayPlan(image, readPresentation(parsed.dataSet, first.signed), options, first, memory)
      : colourPlan(image, parsed, first);
  const count = options.frames === 'all' ? image.frames : 1;
  for (let index = 0; index < count; index += 1) {
    const frame = index === 0 ? first : image.frame(index);
    yield {
      ...plan.render(frame),
      width: image.columns,
      height: image.rows,
      recipe: { ...plan.recipe, frame: index + 1 },
    };
  }
}

/**
 * Frame 1's display raster, before encoding (8-bit unless a 16-bit PNG is asked for). Synchronous:
 * JPEG Extended and JPEG lossless need `prepareCodecs()` to have resolved in this thread first
 * (INTERNAL otherwise).
 */
export function renderToRaster(
  bytes: Uint8Array,
  options: Partial<RenderOptions> = {},
): RasterFrame {
  const first = { ...DEFAULT_RENDER_OPTIONS, ...options, frames: 'first' as const };
  for (const raster of rasterFrames(parseDicom(bytes), first)) return raster;
  throw new EtlError('INTERNAL', 'image without a frame 1');
}

/**
 * The memory of renderDicomFrames' 8-bit rasters, recycled: a raster lives only until sharp has
 * encoded it (about 2.5 ms of the 3000×2500 CR's 7 ms LUT pass is saved). renderToRaster's
 * rasters, which its caller keeps, never come from here.
 */
const rasterMemory = new RecycledMemory({ idle: 2, largestKept: 64 * 2 ** 20, chunk: 2 ** 18 });
const lendRasterMemory: RasterMemory = (byteLength) => rasterMemory.lend(byteLength);

async function encode(
  raster: RasterFrame,
  options: RenderOptions,
  withStats: boolean,
): Promise<RenderedImage> {
  // sharp encodes on a libuv thread: the statistics are taken meanwhile, from the same raster
  // (the gates judge the pixels, not what the codec made of them).
  const encoding = encodeImage(raster, options);
  let stats: ReturnType<typeof imageStats> | undefined;
  try {
    if (withStats) stats = imageStats(raster);
  } finally {
    // Settled before anything leaves, so that the raster is never recycled while sharp reads it.
    await encoding.catch(() => undefined);
  }
  const encoded = await encoding;
  return {
    bytes: encoded.bytes,
    ...(stats === undefined
      ? {}
      : {
          stats: { ...stats, fileSha256: createHash('sha256').update(encoded.bytes).digest('hex') },
        }),
    recipe: {
      ...raster.recipe,
      width: encoded.width,
      height: encoded.height,
      codec: options.format,
      quality: options.format === 'jpeg' ? options.quality : null,
      bitDepth: raster.pixels instanceof Uint16Array ? 16 : 8,
    },
  };
}

/**
 * Renders and encodes the frames of a DICOM file one at a time (frame 1 only unless
 * options.frames is 'all'): each frame is encoded before the next is decoded. Throws EtlError
 * with the codes of rasterFrames, RENDER_FAILED when encoding fails. `subject` is left unset:
 * the caller knows which instance this is. `source` is the file, or the parse of it the caller
 * already made (the render worker reads the header facts from the same parse). `stats: false`
 * leaves out the images' statistics (and the hash of their bytes), which only the quality gates
 * read: about a tenth of a large radiograph's render time.
 */
export async function* renderDicomFrames(
  source: Uint8Array | ParsedDicom,
  options: RenderOptions,
  { stats = true }: { stats?: boolean } = {},
): AsyncGenerator<RenderedImage> {
  try {
    const parsed = source instanceof Uint8Array ? parseDicom(source) : source;
    // Only the codec this file's transfer syntax needs, and only if it starts asynchronously.
    await prepareCodecs(parsed.transferSyntax.uid);
    for (const raster of rasterFrames(parsed, options, lendRasterMemory)) {
      let image: RenderedImage;
      try {
        image = await encode(raster, options, stats);
      } finally {
        // sharp has settled: it no longer reads the raster, succeeded or not.
        rasterMemory.giveBack(raster.pixels.buffer);
      }
      yield image;
    }
  } catch (error) {
    throw asEtlError(error, 'RENDER_FAILED');
  }
}

/** Renders frame 1 of a DICOM file, whatever options.frames says. */
export async function renderDicom(
  bytes: Uint8Array,
  options: RenderOptions,
): Promise<RenderedImage> {
  for await (const image of renderDicomFrames(bytes, { ...options, frames: 'first' })) return image;
  throw new EtlError('INTERNAL', 'image without a frame 1');
}
