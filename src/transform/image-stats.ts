import { createHash } from 'node:crypto';
import type { ImageStats } from '../domain/render.js';
import type { Raster } from './encode-image.js';

/** Samples per side at most: about 65k samples whatever the image size, so the pass stays cheap. */
const SAMPLES_PER_SIDE = 256;
/** dHash grid: 16 gradients across 16 rows, 256 bits. */
const HASH_COLUMNS = 17;
const HASH_ROWS = 16;

/**
 * The quality-gate statistics of a display raster (see ImageStats), in one sampled pass plus a
 * hash of the whole raster. On a 3000×2500 radiograph this costs a few milliseconds, most of it
 * the SHA-256, against tens for the render and encode it sits between.
 */
export function imageStats(raster: Raster): ImageStats {
  const { pixels, width, height, channels } = raster;
  const wide = pixels instanceof Uint16Array;
  const grey = (index: number): number => {
    if (channels === 1) return wide ? pixels[index]! >> 8 : pixels[index]!;
    const at = index * 3;
    const [r, g, b] = [pixels[at]!, pixels[at + 1]!, pixels[at + 2]!].map((value) =>
      wide ? value >> 8 : value,
    ) as [number, number, number];
    return Math.round(0.299 * r + 0.587 * g + 0.114 * b);
  };
  const stepX = Math.max(1, Math.ceil(width / SAMPLES_PER_SIDE));
  const stepY = Math.max(1, Math.ceil(height / SAMPLES_PER_SIDE));
  const histogram = new Float64Array(256);
  const blockSum = new Float64Array(HASH_COLUMNS * HASH_ROWS);
  const blockCount = new Float64Array(HASH_COLUMNS * HASH_ROWS);
  const band = width / 6;
  const inBand = (x: number, centre: number) => Math.abs(x - centre) < band / 2;
  let centreSum = 0;
  let centreCount = 0;
  let sidesSum = 0;
  let sidesCount = 0;
  for (let y = Math.floor(stepY / 2); y < height; y += stepY) {
    const middle = y >= height / 4 && y < (3 * height) / 4;
    const hashRow = Math.floor((y * HASH_ROWS) / height);
    for (let x = Math.floor(stepX / 2); x < width; x += stepX) {
      const value = grey(y * width + x);
      histogram[value] = histogram[value]! + 1;
      const block = hashRow * HASH_COLUMNS + Math.floor((x * HASH_COLUMNS) / width);
      blockSum[block] = blockSum[block]! + value;
      blockCount[block] = blockCount[block]! + 1;
      if (middle) {
        if (inBand(x, width / 2)) {
          centreSum += value;
          centreCount += 1;
        } else if (inBand(x, width / 4) || inBand(x, (3 * width) / 4)) {
          sidesSum += value;
          sidesCount += 1;
        }
      }
    }
  }
  let count = 0;
  let sum = 0;
  let squares = 0;
  for (let value = 0; value < 256; value += 1) {
    const n = histogram[value]!;
    count += n;
    sum += n * value;
    squares += n * value * value;
  }
  const percentile = (fraction: number): number => {
    const target = count * fraction;
    let seen = 0;
    for (let value = 0; value < 256; value += 1) {
      seen += histogram[value]!;
      if (seen >= target && seen > 0) return value;
    }
    return 255;
  };
  const mean = count === 0 ? 0 : sum / count;
  const blockMean = (index: number) =>
    blockCount[index] === 0 ? 0 : blockSum[index]! / blockCount[index]!;
  let hash = 0n;
  for (let row = 0; row < HASH_ROWS; row += 1) {
    for (let column = 0; column < HASH_COLUMNS - 1; column += 1) {
      const left = blockMean(row * HASH_COLUMNS + column);
      const right = blockMean(row * HASH_COLUMNS + column + 1);
      hash = (hash << 1n) | (left > right ? 1n : 0n);
    }
  }
  const round = (value: number) => Math.round(value * 100) / 100;
  return {
    mean: round(mean),
    std: round(count === 0 ? 0 : Math.sqrt(Math.max(0, squares / count - mean * mean))),
    p01: percentile(0.01),
    p99: percentile(0.99),
    centreMean: round(centreCount === 0 ? mean : centreSum / centreCount),
    sidesMean: round(sidesCount === 0 ? mean : sidesSum / sidesCount),
    pixelSha256: createHash('sha256')
      .update(new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength))
      .digest('hex'),
    dHash: hash.toString(16).padStart(64, '0'),
  };
}

/** Bits that differ between two dHash values of the same length (hex). */
export function hammingDistance(a: string, b: string): number {
  let diff = BigInt(`0x${a}`) ^ BigInt(`0x${b}`);
  let bits = 0;
  while (diff > 0n) {
    bits += Number(diff & 1n);
    diff >>= 1n;
  }
  return bits;
}
