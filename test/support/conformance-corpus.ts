import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

/**
 * The conformance corpus: the real DICOM test files Debian's python3-pydicom ships, and
 * dcmtk's dcmj2pnm as the reference renderer for them.
 */

/** Where python3-pydicom keeps its data files, or undefined when the package is absent. */
function pydicomDataDir(): string | undefined {
  try {
    const dir = execFileSync(
      '/usr/bin/python3',
      ['-c', 'import pydicom,os;print(os.path.dirname(pydicom.__file__))'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    ).trim();
    const data = join(dir, 'data');
    return existsSync(join(data, 'test_files')) ? data : undefined;
  } catch {
    // No python3 or no pydicom: the caller skips the suite and says why.
    return undefined;
  }
}

function dcmFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return dcmFilesUnder(path);
    return entry.name.endsWith('.dcm') ? [path] : [];
  });
}

/**
 * Every `.dcm` file python3-pydicom ships (test_files, charset_files, palettes), by base name,
 * or undefined when the package is not installed.
 */
export function pydicomTestFiles(): Map<string, string> | undefined {
  const data = pydicomDataDir();
  if (data === undefined) return undefined;
  const files = new Map<string, string>();
  for (const path of dcmFilesUnder(data)) {
    const name = basename(path);
    if (files.has(name)) throw new Error(`two pydicom test files named ${name}`);
    files.set(name, path);
  }
  return files;
}

/** dcmtk's renderer; installed by .ci/run with the rest of dcmtk. */
const DCMJ2PNM = 'dcmj2pnm';

export interface Pnm {
  width: number;
  height: number;
  channels: 1 | 3;
  pixels: Uint8Array;
}

/** Reads a binary 8-bit PGM (P5) or PPM (P6), as dcmj2pnm +op writes them. */
function parsePnm(bytes: Uint8Array): Pnm {
  const fields: string[] = [];
  let at = 0;
  while (fields.length < 4) {
    while (at < bytes.length && /\s/.test(String.fromCharCode(bytes[at]!))) at += 1;
    if (bytes[at] === 0x23) {
      while (at < bytes.length && bytes[at] !== 0x0a) at += 1;
      continue;
    }
    const start = at;
    while (at < bytes.length && !/\s/.test(String.fromCharCode(bytes[at]!))) at += 1;
    if (start === at) throw new Error('PNM header ends early');
    fields.push(Buffer.from(bytes.subarray(start, at)).toString('latin1'));
  }
  const [magic, width, height, max] = fields as [string, string, string, string];
  if ((magic !== 'P5' && magic !== 'P6') || max !== '255') {
    throw new Error(`not an 8-bit binary PGM/PPM: ${magic} max ${max}`);
  }
  const channels = magic === 'P5' ? 1 : 3;
  const w = Number(width);
  const h = Number(height);
  const start = at + 1;
  const pixels = bytes.subarray(start, start + w * h * channels);
  if (pixels.length !== w * h * channels) throw new Error('PNM pixel data ends early');
  return { width: w, height: h, channels, pixels };
}

/**
 * Renders `input` with `dcmj2pnm +op args… input out.pnm` in `dir` and reads the result.
 * Overlays are off (-O): the renderer does not burn them in.
 */
export async function dcmj2pnm(dir: string, input: string, args: readonly string[]): Promise<Pnm> {
  const output = join(dir, `${basename(input)}.pnm`);
  execFileSync(DCMJ2PNM, ['-q', '+op', '-O', ...args, input, output], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return parsePnm(new Uint8Array(await readFile(output)));
}

/** The largest absolute difference between two rasters of the same length, and where. */
export function maxDifference(
  ours: Uint8Array,
  theirs: Uint8Array,
): { max: number; at: number; over: (tolerance: number) => number } {
  if (ours.length !== theirs.length) {
    throw new Error(`rasters differ in length: ${ours.length} vs ${theirs.length}`);
  }
  let max = 0;
  let at = -1;
  for (let i = 0; i < ours.length; i += 1) {
    const d = Math.abs(ours[i]! - theirs[i]!);
    if (d > max) {
      max = d;
      at = i;
    }
  }
  const over = (tolerance: number) => {
    let count = 0;
    for (let i = 0; i < ours.length; i += 1)
      if (Math.abs(ours[i]! - theirs[i]!) > tolerance) count += 1;
    return count;
  };
  return { max, at, over };
}
