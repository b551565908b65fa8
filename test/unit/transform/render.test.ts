import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EtlError, type ErrorCode } from '../../../src/domain/errors.js';
import type { DicomElement } from '../../../src/dicom/writer.js';
import { DEFAULT_RENDER_OPTIONS, type RenderOptions } from '../../../src/domain/render.js';
import { imageStats } from '../../../src/transform/image-stats.js';
import { renderDicom, renderDicomFrames, renderToRaster } from '../../../src/transform/render.js';
import {
  bareDataset,
  colourDicom,
  CR_IMAGE_STORAGE,
  grayDicom,
  MPEG2_MAIN_PROFILE,
  reportDicom,
  withTransferSyntaxUid,
  type GrayDicomSpec,
} from '../../support/render-dicom.js';

const run = promisify(execFile);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eden-render-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Deterministic pseudo-random integers, so a failure can be reproduced. */
function randomInts(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state >>> 8;
  };
}

/** A smooth ramp with noise: every stored value region, including both window edges. */
function ramp(rows: number, columns: number, min: number, max: number, seed = 1): number[] {
  const random = randomInts(seed);
  return Array.from({ length: rows * columns }, (_, i) => {
    const x = i % columns;
    const y = Math.floor(i / columns);
    const base = min + ((max - min) * (x + y * 0.5)) / (columns + rows * 0.5);
    const noisy = Math.round(base + ((random() % 201) - 100) * ((max - min) / 2000));
    return Math.min(max, Math.max(min, noisy));
  });
}

async function failureOf(bytes: Uint8Array): Promise<EtlError> {
  try {
    await renderDicom(bytes, DEFAULT_RENDER_OPTIONS);
  } catch (error) {
    if (error instanceof EtlError) return error;
    throw error;
  }
  throw new Error('expected renderDicom to fail');
}

const ct: GrayDicomSpec = {
  rows: 48,
  columns: 64,
  pixels: Int16Array.from(ramp(48, 64, -1024, 2000)),
  bitsStored: 16,
  rescale: { slope: 1, intercept: -1024 },
  window: { center: [40, -600], width: [400, 1500] },
};

describe('renderDicom', () => {
  for (const transferSyntax of ['implicit-le', 'explicit-le'] as const) {
    it(`renders a ${transferSyntax} file to a one-channel JPEG of the image's size`, async () => {
      const image = await renderDicom(grayDicom({ ...ct, transferSyntax }), DEFAULT_RENDER_OPTIONS);
      const metadata = await sharp(image.bytes).metadata();
      expect(metadata).toMatchObject({ format: 'jpeg', width: 64, height: 48, channels: 1 });
      expect(metadata.space).toBe('b-w');
      expect(metadata.hasProfile).toBe(false);
      expect(metadata.exif).toBeUndefined();
      expect(metadata.icc).toBeUndefined();
      expect(metadata.xmp).toBeUndefined();
      expect(image.recipe).toEqual({
        windowSource: 'file',
        windowCenter: 40,
        windowWidth: 400,
        voiFunction: 'LINEAR',
        windowIndex: 1,
        inverted: false,
        photometricInterpretation: 'MONOCHROME2',
        modalityTransform: 'RESCALE',
        rescaleSlope: 1,
        rescaleIntercept: -1024,
        bitsStored: 16,
        frame: 1,
        frames: 1,
        width: 64,
        height: 48,
        sourceWidth: 64,
        sourceHeight: 48,
        codec: 'jpeg',
        quality: 90,
        bitDepth: 8,
      });
    });
  }

  it('returns the statistics of the raster it encoded, and the SHA-256 of the file', async () => {
    const file = grayDicom(ct);
    const image = await renderDicom(file, DEFAULT_RENDER_OPTIONS);
    expect(image.stats).toEqual({
      ...imageStats(renderToRaster(file)),
      fileSha256: createHash('sha256').update(image.bytes).digest('hex'),
    });
    // The encoder is deterministic: the same raster, the same file.
    expect((await renderDicom(file, DEFAULT_RENDER_OPTIONS)).stats?.fileSha256).toBe(
      image.stats?.fileSha256,
    );
  });

  it('encodes the display raster: the decoded JPEG is within JPEG error of it', async () => {
    const file = grayDicom(ct);
    const gray = renderToRaster(file);
    const image = await renderDicom(file, {
      ...DEFAULT_RENDER_OPTIONS,
      quality: 95,
      optimiseCoding: true,
    });
    expect(image.recipe.quality).toBe(95);
    const decoded = await sharp(image.bytes).toColourspace('b-w').raw().toBuffer();
    expect(decoded.length).toBe(gray.pixels.length);
    let total = 0;
    for (let i = 0; i < decoded.length; i += 1) total += Math.abs(decoded[i]! - gray.pixels[i]!);
    expect(total / decoded.length).toBeLessThan(2);
  });

  it('renders a bare data set like its Part 10 file', () => {
    const file = grayDicom({ ...ct, transferSyntax: 'implicit-le' });
    expect(renderToRaster(bareDataset(file)).pixels).toEqual(renderToRaster(file).pixels);
  });

  it('renders the same from a view at any byte offset of a larger buffer', () => {
    const file = grayDicom(ct);
    const expected = renderToRaster(file).pixels;
    for (const offset of [1, 2, 3, 5]) {
      const buffer = new Uint8Array(file.length + offset + 7);
      buffer.set(file, offset);
      const view = buffer.subarray(offset, offset + file.length);
      expect(renderToRaster(view).pixels, `offset ${offset}`).toEqual(expected);
    }
  });

  it('recycles raster memory without mixing images: concurrent renders, frame after frame', async () => {
    const png = { ...DEFAULT_RENDER_OPTIONS, format: 'png' } as const;
    const decoded = async (bytes: Uint8Array) =>
      new Uint8Array(await sharp(bytes).toColourspace('b-w').raw().toBuffer());
    const sizes = [
      [48, 64],
      [40, 60],
      [48, 64],
      [7, 9],
    ] as const;
    const files = sizes.map(([rows, columns], i) =>
      grayDicom({
        ...ct,
        rows,
        columns,
        pixels: Int16Array.from(ramp(rows, columns, -1024, 2000, i + 2)),
      }),
    );
    for (let round = 0; round < 3; round += 1) {
      const images = await Promise.all(files.map((file) => renderDicom(file, png)));
      for (const [i, image] of images.entries()) {
        expect(await decoded(image.bytes), `file ${i}`).toEqual(renderToRaster(files[i]!).pixels);
      }
    }
    const frames = [1, 2, 3].map((seed) => Int16Array.from(ramp(48, 64, -1024, 2000, seed)));
    const multiFrame = grayDicom({
      ...ct,
      frames: 3,
      pixels: Int16Array.from(frames.flatMap((frame) => [...frame])),
    });
    const rendered: Uint8Array[] = [];
    for await (const image of renderDicomFrames(multiFrame, { ...png, frames: 'all' })) {
      rendered.push(await decoded(image.bytes));
    }
    expect(rendered).toEqual(
      frames.map((pixels) => renderToRaster(grayDicom({ ...ct, pixels })).pixels),
    );
  });

  it('windows an image without window by percentiles, and records it', () => {
    const gray = renderToRaster(grayDicom({ ...ct, window: undefined, padding: -2000 }));
    expect(gray.recipe.windowSource).toBe('percentile');
    expect(gray.recipe.windowWidth).toBeGreaterThan(2000);
    expect(Math.min(...gray.pixels)).toBe(0);
    expect(Math.max(...gray.pixels)).toBe(255);
  });

  it('gives a constant image the full range', () => {
    const gray = renderToRaster(
      grayDicom({ rows: 4, columns: 4, pixels: new Uint16Array(16).fill(2048), bitsStored: 12 }),
    );
    expect(gray.recipe).toMatchObject({
      windowSource: 'full-range',
      windowCenter: 2048,
      windowWidth: 4096,
    });
    expect(new Set(gray.pixels)).toEqual(new Set([128]));
  });

  it('inverts MONOCHROME1 after the window: a narrow window is not all white', () => {
    const gray = renderToRaster(
      grayDicom({
        rows: 1,
        columns: 3,
        pixels: Uint16Array.from([50, 100, 200]),
        bitsStored: 12,
        photometric: 'MONOCHROME1',
        window: { center: 100, width: 10 },
      }),
    );
    expect([...gray.pixels]).toEqual([255, 113, 0]);
    expect(gray.recipe).toMatchObject({ inverted: true, photometricInterpretation: 'MONOCHROME1' });
  });

  it('rejects bad input with the typed error of each case', async () => {
    const file = grayDicom(ct);
    const cases: [string, Uint8Array, ErrorCode][] = [
      ['a PNG', Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), 'NOT_DICOM'],
      ['cut in the pixel data', file.subarray(0, file.length - 100), 'DICOM_TRUNCATED'],
      ['cut in the header', file.subarray(0, 400), 'DICOM_TRUNCATED'],
      ['a structured report', reportDicom(), 'NOT_AN_IMAGE'],
      ['MPEG-2 video', withTransferSyntaxUid(file, MPEG2_MAIN_PROFILE), 'UNSUPPORTED_IMAGE'],
    ];
    for (const [name, bytes, code] of cases) {
      const error = await failureOf(bytes);
      expect(error.code, `${name}: ${error.message}`).toBe(code);
      expect(error.message).not.toContain('\n');
      expect(error.subject).toBeUndefined();
    }
  });

  it('never hangs or throws anything but an EtlError on corrupted files', async () => {
    const file = grayDicom({ ...ct, transferSyntax: 'implicit-le' });
    const random = randomInts(7);
    const started = performance.now();
    const codes = new Set<string>();
    for (let round = 0; round < 400; round += 1) {
      const copy = new Uint8Array(file);
      // Header bytes mostly: that is where a bad byte changes the structure.
      for (let flips = 1 + (random() % 4); flips > 0; flips -= 1) {
        copy[132 + (random() % 600)] = random() & 0xff;
      }
      const cut = round % 3 === 0 ? copy.subarray(0, 132 + (random() % (copy.length - 132))) : copy;
      try {
        await renderDicom(cut, DEFAULT_RENDER_OPTIONS);
        codes.add('ok');
      } catch (error) {
        expect(error).toBeInstanceOf(EtlError);
        codes.add((error as EtlError).code);
      }
    }
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(codes).toContain('DICOM_TRUNCATED');
    expect(codes).not.toContain('RENDER_FAILED');
  });
});

/** Reads a binary PGM or PPM (P5/P6, maxval 255) as dcmj2pnm writes it. */
function readPnm(bytes: Buffer): { width: number; height: number; pixels: Uint8Array } {
  const fields: string[] = [];
  let offset = 0;
  while (fields.length < 4) {
    while (/\s/.test(String.fromCharCode(bytes[offset]!))) offset += 1;
    if (bytes[offset] === 0x23) {
      while (bytes[offset] !== 0x0a) offset += 1;
      continue;
    }
    let field = '';
    while (!/\s/.test(String.fromCharCode(bytes[offset]!))) {
      field += String.fromCharCode(bytes[offset]!);
      offset += 1;
    }
    fields.push(field);
  }
  const [magic, width, height, maxval] = fields;
  expect(['P5', 'P6']).toContain(magic);
  expect(maxval).toBe('255');
  // Exactly one whitespace byte separates the header from the raster.
  return {
    width: Number(width),
    height: Number(height),
    pixels: new Uint8Array(bytes.subarray(offset + 1)),
  };
}

const lutItem = (descriptor: number[], data: number[]): DicomElement[][] => [
  [
    { tag: 0x00283002, vr: 'US', value: descriptor },
    { tag: 0x00283006, vr: 'OW', value: Uint16Array.from(data) },
  ],
];

const cr12: GrayDicomSpec = {
  rows: 40,
  columns: 50,
  pixels: Uint16Array.from(ramp(40, 50, 0, 4095, 4)),
  bitsStored: 12,
  window: { center: 2000, width: 1500 },
  sopClassUid: CR_IMAGE_STORAGE,
};

const rgbPixels = Uint8Array.from({ length: 40 * 50 * 3 }, (_, i) => (i * 37 + (i % 3) * 90) % 256);

interface DcmtkCase {
  name: string;
  file: Uint8Array;
  /** dcmj2pnm's window options. */
  dcmtk: string[];
  ours?: Partial<RenderOptions>;
  /** Allowed difference per sample; 1 (we round where dcmtk truncates) unless explained. */
  tolerance?: number;
}

const dcmtkCases = (): DcmtkCase[] => [
  {
    name: '12-bit MONOCHROME2 with rescale and garbage above Bits Stored',
    file: grayDicom({
      rows: 40,
      columns: 50,
      // Random bits 12..15, which both renderers must mask away.
      pixels: Uint16Array.from(ramp(40, 50, 0, 4095, 2), (v, i) => v | ((i * 0x9e37) & 0xf000)),
      bitsStored: 12,
      rescale: { slope: 2, intercept: -1024 },
      window: { center: 2500, width: 5000 },
      sopClassUid: CR_IMAGE_STORAGE,
    }),
    dcmtk: ['+Wi', '1'],
  },
  {
    name: '16-bit MONOCHROME1',
    file: grayDicom({
      rows: 40,
      columns: 50,
      pixels: Uint16Array.from(ramp(40, 50, 0, 65535, 3)),
      photometric: 'MONOCHROME1',
      window: { center: 30000, width: 20000 },
      sopClassUid: CR_IMAGE_STORAGE,
    }),
    dcmtk: ['+Wi', '1'],
  },
  { name: 'signed CT, first of two windows', file: grayDicom(ct), dcmtk: ['+Wi', '1'] },
  {
    name: 'signed CT, second window (windowIndex 2)',
    file: grayDicom(ct),
    dcmtk: ['+Wi', '2'],
    ours: { windowIndex: 2 },
  },
  {
    name: 'window override',
    file: grayDicom(ct),
    dcmtk: ['+Ww', '300', '700'],
    ours: { window: { center: 300, width: 700 } },
  },
  {
    name: 'SIGMOID',
    file: grayDicom({ ...cr12, extra: [{ tag: 0x00281056, vr: 'CS', value: 'SIGMOID' }] }),
    dcmtk: ['+Wi', '1'],
  },
  {
    name: 'LINEAR_EXACT',
    file: grayDicom({ ...cr12, extra: [{ tag: 0x00281056, vr: 'CS', value: 'LINEAR_EXACT' }] }),
    dcmtk: ['+Wi', '1'],
  },
  {
    name: 'VOI LUT Sequence',
    file: grayDicom({
      ...cr12,
      window: undefined,
      extra: [
        {
          tag: 0x00283010,
          vr: 'SQ',
          value: lutItem(
            [2048, 1000, 16],
            Array.from({ length: 2048 }, (_, i) => Math.round(65535 * Math.sqrt(i / 2047))),
          ),
        },
      ],
    }),
    dcmtk: ['+Wl', '1'],
  },
  {
    name: 'MONOCHROME1 with Presentation LUT Shape INVERSE',
    file: grayDicom({
      ...cr12,
      photometric: 'MONOCHROME1',
      extra: [{ tag: 0x20500020, vr: 'CS', value: 'INVERSE' }],
    }),
    dcmtk: ['+Wi', '1'],
  },
  {
    name: 'MONOCHROME2 with Presentation LUT Shape INVERSE',
    file: grayDicom({ ...cr12, extra: [{ tag: 0x20500020, vr: 'CS', value: 'INVERSE' }] }),
    dcmtk: ['+Wi', '1'],
  },
  {
    name: 'RGB, planar configuration 0',
    file: colourDicom({ rows: 40, columns: 50, photometric: 'RGB', pixels: rgbPixels }),
    dcmtk: [],
  },
  {
    name: 'RGB, planar configuration 1',
    file: colourDicom({ rows: 40, columns: 50, photometric: 'RGB', pixels: rgbPixels, planar: 1 }),
    dcmtk: [],
  },
  {
    name: 'YBR_FULL',
    file: colourDicom({ rows: 40, columns: 50, photometric: 'YBR_FULL', pixels: rgbPixels }),
    dcmtk: [],
    // dcmtk (diybrpxt.h) centres chroma on maxvalue / 2 = 127.5, not on the standard's 128, which
    // moves R and B by 0.7 of a level before it truncates; the hand-computed tests pin ours.
    tolerance: 2,
  },
  {
    name: 'PALETTE COLOR, 16-bit entries',
    file: colourDicom({
      rows: 40,
      columns: 50,
      photometric: 'PALETTE COLOR',
      pixels: Uint8Array.from(ramp(40, 50, 0, 255, 5)),
      extra: [0, 1, 2].flatMap((channel): DicomElement[] => [
        { tag: 0x00281101 + channel, vr: 'US', value: [256, 0, 16] },
        {
          tag: 0x00281201 + channel,
          vr: 'OW',
          value: Uint16Array.from({ length: 256 }, (_, i) => ((i * (channel + 1) * 7) % 256) * 257),
        },
      ]),
    }),
    dcmtk: [],
  },
];

describe('renderToRaster against dcmtk (dcmj2pnm, same window choice)', () => {
  for (const { name, file, dcmtk, ours, tolerance = 1 } of dcmtkCases()) {
    it(`matches within one grey level on every pixel: ${name}`, async () => {
      const input = join(dir, 'in.dcm');
      const output = join(dir, 'out.pnm');
      await writeFile(input, file);
      await run('dcmj2pnm', [...dcmtk, '+op', input, output]);
      const reference = readPnm(await readFile(output));
      const raster = renderToRaster(file, ours);
      expect([raster.width, raster.height]).toEqual([reference.width, reference.height]);
      expect(raster.pixels.length).toBe(reference.pixels.length);
      let worst = 0;
      let exact = 0;
      for (let i = 0; i < raster.pixels.length; i += 1) {
        const difference = Math.abs(raster.pixels[i]! - reference.pixels[i]!);
        worst = Math.max(worst, difference);
        if (difference === 0) exact += 1;
      }
      expect(worst).toBeLessThanOrEqual(tolerance);
      // Both clip most pixels of these ramps the same way; a flipped image would not.
      expect(exact / raster.pixels.length).toBeGreaterThan(0.3);
    });
  }
});
