import { describe, expect, it } from 'vitest';
import {
  chestCtSlice,
  CT_MATRIX,
  planLungVessels,
  reconstruct,
} from '../../../src/demo/chest-ct.js';
import {
  renderChestRadiograph,
  type ChestAnatomy,
  type RadiographGeometry,
} from '../../../src/demo/chest-radiograph.js';
import { createRandom } from '../../../src/demo/seeded-random.js';

const BODY: ChestAnatomy = {
  sex: 'M',
  thoraxHalfWidth: 150,
  apDepth: 230,
  apexY: 75,
  lungHeight: 235,
  cardiothoracicRatio: 0.45,
  offsetX: 0,
  textureSeed: 42,
};

/** 1 mm pixels keep these images tiny; anatomy is in mm, so it looks the same. */
const SMALL: RadiographGeometry = {
  view: 'PA',
  rows: 430,
  columns: 350,
  pixelSpacing: 1,
  bitsStored: 12,
  photometric: 'MONOCHROME2',
  collimation: [0, 0, 0, 0],
};

/** Mean stored value in a 9 × 9 patch around (x, y) mm from the top centre of the detector. */
function patch(pixels: Uint16Array, geometry: RadiographGeometry, x: number, y: number): number {
  const column = Math.round(geometry.columns / 2 + x / geometry.pixelSpacing);
  const row = Math.round(y / geometry.pixelSpacing);
  let sum = 0;
  for (let dy = -4; dy <= 4; dy += 1) {
    for (let dx = -4; dx <= 4; dx += 1)
      sum += pixels[(row + dy) * geometry.columns + column + dx] as number;
  }
  return sum / 81;
}

describe('renderChestRadiograph', () => {
  const lungY = BODY.apexY + 90;
  const regions = (pixels: Uint16Array, geometry: RadiographGeometry) => ({
    background: patch(pixels, geometry, -165, 420),
    lung: patch(pixels, geometry, -80, lungY),
    mediastinum: patch(pixels, geometry, 0, lungY),
    abdomen: patch(pixels, geometry, -60, BODY.apexY + BODY.lungHeight + 70),
  });

  it('makes MONOCHROME2 lungs darker than mediastinum and abdomen, and air darkest', () => {
    const values = regions(renderChestRadiograph(BODY, SMALL, createRandom('a')), SMALL);
    expect(values.background).toBeLessThan(values.lung);
    expect(values.lung).toBeLessThan(values.mediastinum - 300);
    expect(values.lung).toBeLessThan(values.abdomen - 300);
  });

  it('inverts the stored values for MONOCHROME1 (high value = dark)', () => {
    const geometry = { ...SMALL, photometric: 'MONOCHROME1' as const };
    const values = regions(renderChestRadiograph(BODY, geometry, createRandom('a')), geometry);
    expect(values.background).toBeGreaterThan(values.lung);
    expect(values.lung).toBeGreaterThan(values.mediastinum + 300);
  });

  it('stays within BitsStored and is not flat noise', () => {
    const geometry = { ...SMALL, bitsStored: 14, collimation: [12, 8, 10, 15] as const };
    const pixels = renderChestRadiograph(BODY, geometry, createRandom('b'));
    expect(pixels.reduce((a, b) => Math.max(a, b), 0)).toBeLessThan(2 ** 14);
    // Collimated border: unexposed, so as bright as MONOCHROME2 gets.
    expect(patch(pixels, geometry, -170, 5)).toBeGreaterThan(0.9 * 2 ** 14);
    // Neighbours differ far less than distant pixels: structure, not noise.
    let adjacent = 0;
    let distant = 0;
    for (let i = 0; i < pixels.length - 1; i += 1) {
      adjacent += Math.abs((pixels[i] as number) - (pixels[i + 1] as number));
      distant += Math.abs((pixels[i] as number) - (pixels[(i * 7919) % pixels.length] as number));
    }
    expect(adjacent / distant).toBeLessThan(0.1);
  });

  it('is deterministic for the same random stream', () => {
    const a = renderChestRadiograph(BODY, { ...SMALL, view: 'LL' }, createRandom('c'));
    const b = renderChestRadiograph(BODY, { ...SMALL, view: 'LL' }, createRandom('c'));
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
  });
});

describe('chest CT', () => {
  const body = {
    sex: 'F' as const,
    bodyHalfWidth: 165,
    bodyHalfDepth: 115,
    fat: 18,
    cardiothoracicRatio: 0.48,
    offsetX: 0,
    offsetY: -8,
    contrast: false,
    vessels: planLungVessels(createRandom('vessels')),
  };
  const fieldOfView = 400;
  const at = (values: ArrayLike<number>, xMm: number, yMm: number): number => {
    const column = Math.round(CT_MATRIX / 2 + xMm / (fieldOfView / CT_MATRIX));
    const row = Math.round(CT_MATRIX / 2 + yMm / (fieldOfView / CT_MATRIX));
    return values[row * CT_MATRIX + column] as number;
  };

  it('paints anatomy in Hounsfield units: air, lung, soft tissue, bone, table', () => {
    const hu = chestCtSlice(body, 0.55, fieldOfView);
    expect(at(hu, 0, -180)).toBe(-1000);
    const lung = [-100, -60, 0, 60, 100].map((y) => at(hu, -95, y));
    expect(lung.filter((value) => value === -870).length).toBeGreaterThanOrEqual(3);
    expect(at(hu, 0, 75)).toBeGreaterThan(200);
    expect(at(hu, -155, 0)).toBeGreaterThan(-150);
    expect(at(hu, -155, 0)).toBeLessThan(60);
  });

  it('stores signed values with intercept -1024 and pads outside the field of view', () => {
    const hu = chestCtSlice(body, 0.55, fieldOfView);
    const padded = reconstruct(
      hu,
      { kernel: 'soft', bitsStored: 12, rescaleIntercept: -1024, paddingValue: -2000 },
      createRandom('e'),
    );
    expect(padded[0]).toBe(-2000);
    expect(padded[CT_MATRIX * CT_MATRIX - 1]).toBe(-2000);
    expect(padded.reduce((a, b) => Math.min(a, b), 0)).toBeGreaterThanOrEqual(-2048);
    expect(padded.reduce((a, b) => Math.max(a, b), 0)).toBeLessThanOrEqual(2047);
    // Air inside the field of view: about -1000 HU, so about 24 stored.
    expect(Math.abs(at(padded, 0, -185) - 24)).toBeLessThan(80);

    const unpadded = reconstruct(
      hu,
      { kernel: 'lung', bitsStored: 16, rescaleIntercept: -1024, paddingValue: undefined },
      createRandom('e'),
    );
    expect(unpadded[0]).toBe(0);
  });

  it('gives the lung kernel more noise than the soft-tissue kernel', () => {
    const hu = chestCtSlice(body, 0.55, fieldOfView);
    const spread = (kernel: 'lung' | 'soft'): number => {
      const stored = reconstruct(
        hu,
        { kernel, bitsStored: 16, rescaleIntercept: -1024, paddingValue: undefined },
        createRandom('f'),
      );
      const values = Array.from({ length: 200 }, (_, i) =>
        at(stored, -10 + (i % 20), -185 + Math.floor(i / 20)),
      );
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
    };
    expect(spread('lung')).toBeGreaterThan(2 * spread('soft'));
  });
});
