import type { ImageStats } from '../domain/render.js';
import type { Raster } from './encode-image.js';

/** Samples per side at most: about 65k samples whatever the image size, so the pass stays cheap. */
const SAMPLES_PER_SIDE = 256;
/** dHash grid: 16 gradients across 16 rows, 256 bits. */
const HASH_COLUMNS = 17;
const HASH_ROWS = 16;

/**
 * The quality-gate statistics of a display raster (see ImageStats) but its file hash, which the
 * caller takes of the encoded file. One pass over about 65k sampled pixels: about 2 ms on a
 * 3000×2500 radiograph, against tens for the render and encode it sits between.
 */
export function imageStats(raster: Raster): Omit<ImageStats, 'fileSha256'> {
  const { pixels, width, height, channels } = raster;
  const shift = pixels instanceof Uint16Array ? 8 : 0;
  const stepX = Math.max(1, Math.ceil(width / SAMPLES_PER_SIDE));
  const stepY = Math.max(1, Math.ceil(height / SAMPLES_PER_SIDE));
  // Per sampled column, once: its hash block column and its band (1 centre, 2 sides, 0 none).
  const columns: number[] = [];
  for (let x = Math.floor(stepX / 2); x < width; x += stepX) columns.push(x);
  const blockColumn = new Int32Array(columns.length);
  const band = new Uint8Array(columns.length);
  const bandWidth = width / 6;
  const within = (x: number, centre: number) => Math.abs(x - centre) < bandWidth / 2;
  columns.forEach((x, i) => {
    blockColumn[i] = Math.floor((x * HASH_COLUMNS) / width);
    band[i] = within(x, width / 2) ? 1 : within(x, width / 4) || within(x, (3 * width) / 4) ? 2 : 0;
  });
  const histogram = new Float64Array(256);
  const blockSum = new Float64Array(HASH_COLUMNS * HASH_ROWS);
  const blockCount = new Float64Array(HASH_COLUMNS * HASH_ROWS);
  let centreSum = 0;
  let centreCount = 0;
  let sidesSum = 0;
  let sidesCount = 0;
  for (let y = Math.floor(stepY / 2); y < height; y += stepY) {
    const middle = y >= height / 4 && y < (3 * height) / 4;
    const hashRow = Math.floor((y * HASH_ROWS) / height) * HASH_COLUMNS;
    const row = y * width;
    for (let i = 0; i < columns.length; i += 1) {
      const at = row + columns[i]!;
      const value =
        channels === 1
          ? pixels[at]! >> shift
          : Math.round(
              0.299 * (pixels[at * 3]! >> shift) +
                0.587 * (pixels[at * 3 + 1]! >> shift) +
                0.114 * (pixels[at * 3 + 2]! >> shift),
            );
      histogram[value]! += 1;
      const block = hashRow + blockColumn[i]!;
      blockSum[block]! += value;
      blockCount[block]! += 1;
      if (middle && band[i] === 1) {
        centreSum += value;
        centreCount += 1;
      } else if (middle && band[i] === 2) {
        sidesSum += value;
        sidesCount += 1;
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
  const thumbnail = Buffer.from(
    Array.from({ length: HASH_COLUMNS * HASH_ROWS }, (_, index) => Math.round(blockMean(index))),
  ).toString('base64');
  const round = (value: number) => Math.round(value * 100) / 100;
  return {
    mean: round(mean),
    std: round(count === 0 ? 0 : Math.sqrt(Math.max(0, squares / count - mean * mean))),
    p01: percentile(0.01),
    p99: percentile(0.99),
    centreMean: round(centreCount === 0 ? mean : centreSum / centreCount),
    sidesMean: round(sidesCount === 0 ? mean : sidesSum / sidesCount),
    dHash: hash.toString(16).padStart(64, '0'),
    thumbnail,
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

/** Mean absolute difference of two thumbnails (base64 block means), in grey levels. */
export function thumbnailDistance(a: string, b: string): number {
  const left = Buffer.from(a, 'base64');
  const right = Buffer.from(b, 'base64');
  if (left.length !== right.length || left.length === 0) return Number.POSITIVE_INFINITY;
  let total = 0;
  for (let i = 0; i < left.length; i += 1) total += Math.abs(left[i]! - right[i]!);
  return total / left.length;
}
