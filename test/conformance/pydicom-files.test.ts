import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { EtlError, type ErrorCode } from '../../src/domain/errors.js';
import { renderToRaster, type RasterFrame } from '../../src/transform/render.js';
import { run, withTempDir } from '../support/codec-corpus.js';
import { dcmj2pnm, maxDifference, pydicomTestFiles } from '../support/conformance-corpus.js';
import { prepareCodecs } from '../../src/transform/codecs/decode-frame.js';

// JPEG Extended and JPEG lossless decode synchronously once dcmjs-codecs has started.
beforeAll(() => prepareCodecs());

/**
 * Conformance over the real DICOM test files of Debian's python3-pydicom (issue 3, "Correctness,
 * proven"): every file has one expected outcome below, and every file we render that dcmtk can
 * render matches dcmj2pnm's 8-bit output (same window) to within one grey level on every pixel.
 * We round (PS3.3 C.11.2.1.2.1 maps onto 0..255 and rounds); dcmtk truncates. YBR_FULL gets two:
 * dcmtk centres chroma on 127.5, the standard on 128 (see src/transform/colour.ts).
 */

/**
 * How we check a rendered file's pixels: against dcmj2pnm with the same window choice, pixel by
 * pixel. `decompress` first when dcmj2pnm lacks the decoder (dcmtk 3.6.7's dcmj2pnm has JPEG and
 * RLE, not JPEG-LS nor JPEG 2000); `args` for choices dcmtk makes differently by default; `twin`:
 * render this other file of the corpus instead, the same image in a form dcmtk reads as pydicom.
 */
interface Reference {
  decompress?: readonly [tool: string, ...options: string[]];
  args?: string[];
  twin?: string;
  why?: string;
}

type Expectation =
  | { outcome: 'renders'; width: number; height: number; channels: 1 | 3; reference: Reference }
  | { outcome: ErrorCode; reason: string };

const DCMTK: Reference = {};
const JPEG_LS: Reference = { decompress: ['dcmdjpls'] };
/** JPEG 2000: dcmtk has no decoder; gdcm (OpenJPEG) decompresses, dcmtk renders. */
const J2K: Reference = { decompress: ['gdcmconv', '--raw'] };
/**
 * Big endian 32-bit samples in OW: dcmtk swaps them as 16-bit words (all white at our window);
 * pydicom, which made these files from their little endian twins, swaps 32-bit words, as do we.
 */
const twin32 = (name: string): Reference => ({
  twin: name,
  why: 'dcmtk reads big endian 32-bit OW as 16-bit words',
});

function renders(
  width: number,
  height: number,
  channels: 1 | 3,
  reference: Reference = DCMTK,
): Expectation {
  return { outcome: 'renders', width, height, channels, reference };
}

function fails(outcome: ErrorCode, reason: string): Expectation {
  return { outcome, reason };
}

const PALETTE_IOD = 'Color Palette IOD (PS3.3 A.58): a palette for other images, no Pixel Data';

/** Every .dcm file python3-pydicom ships, by base name, and what the renderer does with it. */
const EXPECTED: Record<string, Expectation> = {
  // charset_files: 32×32 images whose point is the Specific Character Set of their text.
  'chrArab.dcm': renders(32, 32, 1),
  'chrFren.dcm': renders(32, 32, 1),
  'chrFrenMulti.dcm': renders(32, 32, 1),
  'chrGerm.dcm': renders(32, 32, 1),
  'chrGreek.dcm': renders(32, 32, 1),
  'chrH31.dcm': renders(32, 32, 1),
  'chrH32.dcm': renders(32, 32, 1),
  'chrHbrw.dcm': renders(32, 32, 1),
  'chrI2.dcm': renders(32, 32, 1),
  'chrRuss.dcm': renders(32, 32, 1),
  'chrX1.dcm': renders(32, 32, 1),
  'chrX2.dcm': renders(32, 32, 1),
  'chrJapMulti.dcm': fails(
    'DICOM_TRUNCATED',
    'CR image attributes (Rows, Columns, window) and no Pixel Data: an image SOP class without pixels counts as cut',
  ),
  'chrJapMultiExplicitIR6.dcm': fails(
    'DICOM_TRUNCATED',
    'CR image header but the file ends before Pixel Data',
  ),
  'chrKoreanMulti.dcm': fails(
    'DICOM_TRUNCATED',
    'CR image header but the file ends before Pixel Data',
  ),
  'chrSQEncoding.dcm': fails('NOT_AN_IMAGE', 'character set test data set without pixels'),
  'chrSQEncoding1.dcm': fails('NOT_AN_IMAGE', 'character set test data set without pixels'),

  // palettes: the standard's well-known colour palettes.
  'fall.dcm': fails('NOT_AN_IMAGE', PALETTE_IOD),
  'hotiron.dcm': fails('NOT_AN_IMAGE', PALETTE_IOD),
  'hotmetalblue.dcm': fails('NOT_AN_IMAGE', PALETTE_IOD),
  'pet.dcm': fails('NOT_AN_IMAGE', PALETTE_IOD),
  'pet20step.dcm': fails('NOT_AN_IMAGE', PALETTE_IOD),
  'spring.dcm': fails('NOT_AN_IMAGE', PALETTE_IOD),
  'summer.dcm': fails('NOT_AN_IMAGE', PALETTE_IOD),
  'winter.dcm': fails('NOT_AN_IMAGE', PALETTE_IOD),

  // test_files
  '693_J2KI.dcm': renders(512, 512, 1, J2K),
  'CT_small.dcm': renders(128, 128, 1),
  'ExplVR_BigEnd.dcm': renders(80, 60, 3),
  'ExplVR_BigEndNoMeta.dcm': fails(
    'NOT_DICOM',
    'a bare big endian data set (no preamble, no meta): indistinguishable from garbage',
  ),
  'ExplVR_LitEndNoMeta.dcm': fails('NOT_AN_IMAGE', 'bare RT Ion Plan data set'),
  'GDCMJ2K_TextGBR.dcm': renders(400, 400, 3, J2K),
  'J2K_pixelrep_mismatch.dcm': renders(512, 512, 1, J2K),
  'JPEG-lossy.dcm': renders(256, 1024, 1),
  'JPEG2000-embedded-sequence-delimiter.dcm': fails(
    'DICOM_INVALID',
    'JPEG2000.dcm with 4 codestream bytes replaced by a Sequence Delimitation Item (pydicom #1140): ' +
      'the encapsulation is valid and read as one item, as dcmtk does; the codestream is not (OpenJPEG in gdcmconv refuses it too)',
  ),
  'JPEG2000.dcm': renders(256, 1024, 1, J2K),
  'JPGExtended.dcm': renders(256, 1024, 1),
  'MR_small.dcm': renders(64, 64, 1),
  'MR_small_RLE.dcm': renders(64, 64, 1),
  'MR_small_bigendian.dcm': renders(64, 64, 1),
  'MR_small_expb.dcm': renders(64, 64, 1),
  'MR_small_implicit.dcm': renders(64, 64, 1),
  'MR_small_jp2klossless.dcm': renders(64, 64, 1, {
    twin: 'MR_small.dcm',
    why: 'JPEG 2000 lossless: dcmtk renders the uncompressed source',
  }),
  'MR_small_jpeg_ls_lossless.dcm': renders(64, 64, 1, JPEG_LS),
  'MR_small_padded.dcm': renders(64, 64, 1),
  'MR_truncated.dcm': fails('DICOM_TRUNCATED', 'Pixel Data is 62 bytes short of 64×64×16-bit'),
  'SC_jpeg_no_color_transform.dcm': renders(256, 256, 3),
  'SC_jpeg_no_color_transform_2.dcm': renders(256, 256, 3),
  'SC_rgb_dcmtk_+eb+cr.dcm': renders(100, 100, 3),
  'SC_rgb_dcmtk_+eb+cy+n1.dcm': renders(100, 100, 3),
  'SC_rgb_dcmtk_+eb+cy+n2.dcm': renders(100, 100, 3),
  'SC_rgb_dcmtk_+eb+cy+np.dcm': renders(100, 100, 3),
  'SC_rgb_dcmtk_+eb+cy+s2.dcm': renders(100, 100, 3),
  'SC_rgb_dcmtk_+eb+cy+s4.dcm': renders(100, 100, 3),
  'SC_rgb_gdcm_KY.dcm': renders(100, 100, 3, {
    twin: 'SC_rgb_rle.dcm',
    why: 'JPEG 2000 lossless (gdcm): dcmtk renders the RLE lossless copy of the same image',
  }),
  'SC_rgb_jpeg.dcm': fails(
    'DICOM_INVALID',
    'meta says JPEG Baseline (explicit VR) but highdicom 0.1.0 wrote the data set in implicit VR; ' +
      'pydicom guesses and reads it, dcmtk fails; we name the mismatch',
  ),
  'SC_rgb_jpeg_app14_dcmd.dcm': renders(256, 256, 3),
  'SC_rgb_jpeg_dcmd.dcm': renders(256, 256, 3),
  'SC_rgb_jpeg_dcmtk.dcm': renders(100, 100, 3),
  'SC_rgb_jpeg_gdcm.dcm': renders(100, 100, 3),
  // Labelled RGB, but the JPEG is YCbCr (component ids 1, 2, 3, as libjpeg guesses): the first
  // bar is red for us, Y/Cb/Cr = 76/85/255 for dcmtk's default (+cp: convert only if YBR_*).
  'SC_rgb_jpeg_lossy_gdcm.dcm': renders(100, 100, 3, {
    args: ['+cg'],
    why: 'the label lies; compare with dcmtk following the JPEG decoder guess too',
  }),
  'SC_rgb_rle.dcm': renders(100, 100, 3),
  'SC_rgb_rle_16bit.dcm': renders(100, 100, 3),
  'SC_rgb_rle_16bit_2frame.dcm': renders(100, 100, 3),
  'SC_rgb_rle_2frame.dcm': renders(100, 100, 3),
  'SC_rgb_rle_32bit.dcm': renders(100, 100, 3),
  'SC_rgb_rle_32bit_2frame.dcm': renders(100, 100, 3),
  'SC_rgb_small_odd.dcm': renders(3, 3, 3),
  'SC_rgb_small_odd_jpeg.dcm': renders(3, 3, 3),
  'SC_ybr_full_422_uncompressed.dcm': renders(100, 100, 3),
  'UN_sequence.dcm': fails('NOT_AN_IMAGE', 'a sequence of VR UN, no pixels'),
  'badVR.dcm': fails('DICOM_INVALID', 'Number of Frames (0028,0008) is "1A"'),
  'DICOMDIR-empty.dcm': fails('NOT_AN_IMAGE', 'a DICOMDIR'),
  'empty_charset_LEI.dcm': fails('NOT_AN_IMAGE', 'character set test data set without pixels'),
  'image_dfl.dcm': renders(512, 512, 1),
  'liver_1frame.dcm': renders(512, 512, 1),
  'liver_expb_1frame.dcm': renders(512, 512, 1),
  'meta_missing_tsyntax.dcm': fails(
    'DICOM_INVALID',
    'file meta without Transfer Syntax UID (0002,0010), then a complete implicit VR data set; ' +
      'dcmtk and pydicom guess implicit VR, we refuse the invalid meta by name',
  ),
  'nested_priv_SQ.dcm': fails(
    'DICOM_INVALID',
    'illegal group-0001 private sequences (read, as dcmtk does), then 2 bytes of Pixel Data and no Rows',
  ),
  'no_meta.dcm': fails(
    'NOT_DICOM',
    "CT_small.dcm from byte 335: the meta's last byte (a space) before the first element; dcmtk and pydicom fail too",
  ),
  'no_meta_group_length.dcm': fails('NOT_AN_IMAGE', 'a data set without pixels'),
  'priv_SQ.dcm': fails('NOT_AN_IMAGE', 'a private sequence, no pixels'),
  'reportsi.dcm': fails('NOT_AN_IMAGE', 'Basic Text SR'),
  'reportsi_with_empty_number_tags.dcm': fails('NOT_AN_IMAGE', 'Basic Text SR'),
  'rtdose.dcm': renders(10, 10, 1),
  'rtdose_1frame.dcm': renders(10, 10, 1),
  'rtdose_expb.dcm': renders(10, 10, 1, twin32('rtdose.dcm')),
  'rtdose_expb_1frame.dcm': renders(10, 10, 1, twin32('rtdose_1frame.dcm')),
  'rtdose_rle.dcm': renders(10, 10, 1),
  'rtdose_rle_1frame.dcm': renders(10, 10, 1),
  'rtplan.dcm': fails('NOT_AN_IMAGE', 'RT Plan'),
  'rtplan_truncated.dcm': fails(
    'DICOM_TRUNCATED',
    'cut inside Isocenter Position (300A,012C); dcmtk: premature end of stream',
  ),
  'rtstruct.dcm': fails('NOT_AN_IMAGE', 'RT Structure Set'),
  'test-SR.dcm': fails('NOT_AN_IMAGE', 'Comprehensive SR'),
  'waveform_ecg.dcm': fails('NOT_AN_IMAGE', '12-lead ECG waveform'),
};

/**
 * Files whose pixels differ from dcmtk by more than the tolerance, with the measured maximum and
 * the reason. The tolerance stays global; these are checked against their own maximum.
 */
const KNOWN_DIFFERENCES: Record<string, { max: number; reason: string }> = {};

type Outcome = { raster: RasterFrame } | { error: EtlError };

function renderFile(path: string): Outcome {
  try {
    return { raster: renderToRaster(new Uint8Array(readFileSync(path))) };
  } catch (error) {
    if (error instanceof EtlError) return { error };
    throw new Error(`${path} threw something other than an EtlError`, { cause: error });
  }
}

/** dcmj2pnm's options for the VOI we chose, so that both sides use the same window. */
function dcmtkWindowArgs(raster: RasterFrame): string[] {
  const { recipe } = raster;
  if ((raster.channels ?? 1) === 3) return [];
  if (recipe.windowSource === 'file') return ['+Wi', String(recipe.windowIndex)];
  if (recipe.windowSource === 'voi-lut') return ['+Wl', String(recipe.windowIndex)];
  if (recipe.windowCenter === null || recipe.windowWidth === null) {
    throw new Error(`grayscale recipe without a window: ${JSON.stringify(recipe)}`);
  }
  return ['+Ww', String(recipe.windowCenter), String(recipe.windowWidth)];
}

function tolerance(raster: RasterFrame): number {
  const photometric = raster.recipe.photometricInterpretation;
  return photometric === 'YBR_FULL' || photometric === 'YBR_FULL_422' ? 2 : 1;
}

const files = pydicomTestFiles();

describe.skipIf(files === undefined)('python3-pydicom test files', () => {
  const corpus = files ?? new Map<string, string>();

  test('the table names every file the package ships, and only those', () => {
    expect([...corpus.keys()].sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  const names = [...corpus.keys()].filter((name) => name in EXPECTED).sort();

  test.each(names)('%s', async (name) => {
    const path = corpus.get(name)!;
    const expected = EXPECTED[name]!;
    const outcome = renderFile(path);
    if (expected.outcome !== 'renders') {
      expect('error' in outcome ? outcome.error.code : 'renders').toBe(expected.outcome);
      return;
    }
    if ('error' in outcome) throw outcome.error;
    const { raster } = outcome;
    expect([raster.width, raster.height, raster.channels ?? 1]).toEqual([
      expected.width,
      expected.height,
      expected.channels,
    ]);
    expect(raster.pixels).toBeInstanceOf(Uint8Array);
    expect(raster.pixels.length).toBe(expected.width * expected.height * expected.channels);

    const { decompress, args = [], twin } = expected.reference;
    const reference = await withTempDir(async (dir) => {
      const source = twin === undefined ? path : corpus.get(twin)!;
      const input = decompress === undefined ? source : join(dir, `decompressed-${name}`);
      if (decompress !== undefined) {
        const [tool, ...options] = decompress;
        run(tool, [...options, source, input]);
      }
      return dcmj2pnm(dir, input, [...dcmtkWindowArgs(raster), ...args]);
    });
    expect([reference.width, reference.height, reference.channels]).toEqual([
      expected.width,
      expected.height,
      expected.channels,
    ]);
    const difference = maxDifference(raster.pixels as Uint8Array, reference.pixels);
    const known = KNOWN_DIFFERENCES[name];
    const limit = known?.max ?? tolerance(raster);
    expect(
      difference.max,
      `${name}: max difference ${difference.max} at sample ${difference.at} (ours ${raster.pixels[difference.at]}, dcmtk ${reference.pixels[difference.at]}), ${difference.over(tolerance(raster))} samples over ${tolerance(raster)}`,
    ).toBeLessThanOrEqual(limit);
    if (known !== undefined) {
      // A known difference that has gone away must leave the table.
      expect(difference.max, `${name} now matches dcmtk: drop it from KNOWN_DIFFERENCES`).toBe(
        known.max,
      );
    }
  });
});

test.skipIf(files !== undefined)(
  'python3-pydicom is not installed: conformance suite skipped',
  () => {
    console.warn(
      'python3-pydicom is not installed (apt-get install python3-pydicom): the conformance suite over its test files is skipped',
    );
  },
);
