// The duplicate gate's decision: how close two images' fingerprints (from transform/image-stats)
// must be to count as one image.

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

/** How far apart two images may be and still count as one, from the near-duplicate gate. */
export interface NearDuplicateLimits {
  /** dHash bits that may differ. */
  bits: number;
  /** Mean thumbnail difference allowed, in grey levels. */
  grey: number;
}

/**
 * Whether an admitted image is a near duplicate of `image`: both the dHash and the thumbnail must
 * be close, since a dHash alone matches different images with the same layout. Returns why
 * (the two distances), or null when they differ.
 */
export function nearDuplicateOf(
  image: { dHash: string; thumbnail: string },
  limits: NearDuplicateLimits,
): (admitted: { dHash: string; thumbnail: string }) => string | null {
  return (admitted) => {
    const bits = hammingDistance(admitted.dHash, image.dHash);
    const grey = thumbnailDistance(admitted.thumbnail, image.thumbnail);
    if (bits > limits.bits || grey > limits.grey) return null;
    return `dHash ${bits} bits and thumbnail ${grey.toFixed(2)} grey levels`;
  };
}
