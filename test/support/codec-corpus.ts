import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDicom, PIXEL_DATA_TAG } from '../../src/dicom/parse.js';

/**
 * The compressed corpus of the codec tests: uncompressed files from render-dicom.ts, compressed
 * by the tools radiology actually uses (dcmtk, gdcm, OpenJPH), in a temp dir per test.
 */

export async function withTempDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'eden-codec-'));
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs a command-line tool of the corpus, failing the test with its stderr. */
export function run(tool: string, args: readonly string[]): void {
  execFileSync(tool, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Runs `tool args… in out` on `input` and returns the output file. */
export async function convert(
  dir: string,
  input: Uint8Array,
  tool: string,
  args: readonly string[],
): Promise<Uint8Array> {
  const source = join(dir, `in-${tool}-${args.join('')}.dcm`);
  const target = join(dir, `out-${tool}-${args.join('')}.dcm`);
  await writeFile(source, input);
  run(tool, [...args, source, target]);
  return new Uint8Array(await readFile(target));
}

/** Offset of the first item of encapsulated Pixel Data, as the parser locates it. */
export function encapsulatedOffset(part10: Uint8Array): number {
  const element = parseDicom(part10).dataSet.elements[PIXEL_DATA_TAG];
  if (element?.hadUndefinedLength !== true) throw new Error('Pixel Data is not encapsulated');
  return element.dataOffset;
}

function item(value: Uint8Array, element = 0xe000): Uint8Array {
  const header = Buffer.alloc(8);
  header.writeUInt16LE(0xfffe, 0);
  header.writeUInt16LE(element, 2);
  header.writeUInt32LE(value.length, 4);
  return Buffer.concat([header, value]);
}

/**
 * Encapsulated Pixel Data items (from the first item to the delimiter) holding `frames`, each
 * cut into fragments, with a Basic Offset Table or an empty one.
 */
export function encapsulate(frames: readonly (readonly Uint8Array[])[], table: boolean): Buffer {
  const fragments = frames.map((frame) => frame.map((fragment) => item(fragment)));
  const offsets = Buffer.alloc(table ? frames.length * 4 : 0);
  let at = 0;
  fragments.forEach((frame, i) => {
    if (table) offsets.writeUInt32LE(at, i * 4);
    at += frame.reduce((sum, fragment) => sum + fragment.length, 0);
  });
  return Buffer.concat([item(offsets), ...fragments.flat(), item(new Uint8Array(0), 0xe0dd)]);
}

/** The file with its encapsulated Pixel Data items (Pixel Data must be last) replaced. */
export function withPixelItems(part10: Uint8Array, items: Uint8Array): Buffer {
  return Buffer.concat([part10.subarray(0, encapsulatedOffset(part10)), items]);
}
