import { createHash } from 'node:crypto';

/**
 * Deterministic randomness for the sample PACS. Every stream is keyed by a string such as
 * `seed/7/study`, so study 7 comes out identical whether it is generated alone or after six
 * others, and adding studies later never changes the existing ones.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [min, max). */
  between(min: number, max: number): number;
  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  chance(probability: number): boolean;
  pick<T>(choices: readonly T[]): T;
  /** Normally distributed (Box–Muller). */
  normal(mean: number, sd: number): number;
  /** A 32-bit integer, for seeding the per-pixel noise generators. */
  uint32(): number;
}

/** sfc32 seeded from SHA-256 of the key: fast, 128-bit state, identical on every platform. */
export function createRandom(key: string): Random {
  const digest = createHash('sha256').update(key).digest();
  let a = digest.readUInt32LE(0);
  let b = digest.readUInt32LE(4);
  let c = digest.readUInt32LE(8);
  let d = digest.readUInt32LE(12);
  const uint32 = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return t >>> 0;
  };
  // The first outputs of sfc32 still correlate with the seed words; discard them.
  for (let i = 0; i < 12; i += 1) uint32();
  const next = (): number => uint32() / 4294967296;
  return {
    next,
    uint32,
    between: (min, max) => min + (max - min) * next(),
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (probability) => next() < probability,
    pick<T>(choices: readonly T[]): T {
      if (choices.length === 0) throw new RangeError('pick() needs at least one choice');
      return choices[Math.floor(next() * choices.length)] as T;
    },
    normal: (mean, sd) => {
      const u = 1 - next();
      return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    },
  };
}

/**
 * A DICOM UID under 2.25 from a name-based (SHA-1, version 5) UUID, as ISO/IEC 9834-8 allows:
 * unique without a registered root, and the same name always gives the same UID.
 */
export function nameBasedUid(name: string): string {
  const hash = createHash('sha1').update(`eden-sample-pacs:${name}`).digest().subarray(0, 16);
  hash[6] = ((hash[6] as number) & 0x0f) | 0x50;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  return `2.25.${BigInt(`0x${hash.toString('hex')}`).toString(10)}`;
}

/**
 * Gaussian samples for per-pixel noise. Drawing Box–Muller per pixel would dominate the cost of
 * a 7-megapixel radiograph, so renderers index this table with an inline xorshift instead.
 */
export function gaussianTable(random: Random, size = 1 << 14): Float32Array {
  const table = new Float32Array(size);
  for (let i = 0; i < size; i += 1) table[i] = random.normal(0, 1);
  return table;
}
