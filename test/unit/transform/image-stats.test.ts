import { describe, expect, it } from 'vitest';
import { hammingDistance, thumbnailDistance } from '../../../src/quality/near-duplicates.js';
import { imageStats } from '../../../src/transform/image-stats.js';

function raster(width: number, height: number, value: (x: number, y: number) => number) {
  const pixels = new Uint8Array(width * height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) pixels[y * width + x] = value(x, y);
  }
  return { pixels, width, height, channels: 1 as const };
}

/** A chest-like frontal image: bright middle band, dark lung fields either side. */
const chest = (x: number, y: number, width: number) =>
  Math.abs(x - width / 2) < width / 10 ? 220 : 60 + ((x * 7 + y * 3) % 40);

describe('imageStats', () => {
  it('finds no spread in a uniform image', () => {
    const stats = imageStats(raster(300, 200, () => 77));
    expect(stats).toMatchObject({ mean: 77, std: 0, p01: 77, p99: 77 });
  });

  it('measures spread, percentiles, and the centre against the lung fields', () => {
    const stats = imageStats(raster(1200, 1000, (x, y) => chest(x, y, 1200)));
    expect(stats.std).toBeGreaterThan(40);
    expect(stats.p01).toBeLessThan(70);
    expect(stats.p99).toBe(220);
    expect(stats.centreMean).toBeCloseTo(220, 0);
    expect(stats.sidesMean).toBeLessThan(110);
    const inverted = imageStats(raster(1200, 1000, (x, y) => 255 - chest(x, y, 1200)));
    expect(inverted.centreMean).toBeLessThan(inverted.sidesMean);
  });

  it('gives a copy the same dHash and a near copy a near one', () => {
    const image = raster(800, 600, (x, y) => chest(x, y, 800));
    const copy = raster(800, 600, (x, y) => chest(x, y, 800));
    const noisy = raster(800, 600, (x, y) => chest(x, y, 800) + ((x + y) % 5 === 0 ? 1 : 0));
    const other = raster(800, 600, (x, y) => (x * 255) / 800 - (y % 3));
    const [a, b, c, d] = [image, copy, noisy, other].map(imageStats);
    expect(b!.dHash).toBe(a!.dHash);
    expect(thumbnailDistance(a!.thumbnail, b!.thumbnail)).toBe(0);
    expect(thumbnailDistance(a!.thumbnail, c!.thumbnail)).toBeLessThan(0.5);
    expect(thumbnailDistance(a!.thumbnail, d!.thumbnail)).toBeGreaterThan(10);
    expect(Buffer.from(a!.thumbnail, 'base64')).toHaveLength(17 * 16);
    expect(a!.dHash).toMatch(/^[0-9a-f]{64}$/);
    expect(hammingDistance(a!.dHash, c!.dHash)).toBeLessThanOrEqual(7);
    expect(hammingDistance(a!.dHash, d!.dHash)).toBeGreaterThan(20);
  });

  it('reads colour as luma and 16-bit rasters by their top byte', () => {
    const rgb = new Uint8Array(4 * 4 * 3).fill(100);
    expect(imageStats({ pixels: rgb, width: 4, height: 4, channels: 3 }).mean).toBe(100);
    const wide = new Uint16Array(16).fill(200 * 256);
    expect(imageStats({ pixels: wide, width: 4, height: 4, channels: 1 }).mean).toBe(200);
  });
});
