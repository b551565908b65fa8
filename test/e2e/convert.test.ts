import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convert } from '../support/codec-corpus.js';
import { listFiles, runCli, tempDir } from '../support/cli.js';
import { grayDicom } from '../support/render-dicom.js';

const rows = 40;
const columns = 30;
const frame = (offset: number) =>
  Int16Array.from({ length: rows * columns }, (_, i) => -1000 + ((i * 13 + offset) % 2400));

describe('eden-etl convert', () => {
  let dir: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('convert'));
    const inputs = join(dir, 'in');
    await mkdir(join(inputs, 'nested'), { recursive: true });
    const ct = { rows, columns, window: { center: 40, width: 400 } };
    await writeFile(join(inputs, 'ct.dcm'), grayDicom({ ...ct, pixels: frame(0) }));
    const frames = Int16Array.from([...frame(0), ...frame(500), ...frame(900)]);
    await writeFile(
      join(inputs, 'nested/multi.dcm'),
      grayDicom({ ...ct, pixels: frames, frames: 3 }),
    );
    const lossless = await convert(dir, grayDicom({ ...ct, pixels: frame(7) }), 'dcmcjpls', [
      '+el',
    ]);
    await writeFile(join(inputs, 'jpeg-ls.dcm'), lossless);
    await writeFile(join(inputs, 'notes.txt'), 'not a DICOM file\n');
  });

  afterAll(async () => {
    await cleanup();
  });

  it('renders every file of a directory, names each failure and exits 3', async () => {
    const result = await runCli(['convert', 'in', '--out', 'out'], dir);
    expect(result.code).toBe(3);
    const failed = result.stdout.split('\n').filter((line) => line.startsWith('FAILED'));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatch(/notes\.txt: NOT_DICOM/);
    expect(result.stdout).toContain('converted 3 of 4 files');
    expect((await listFiles(join(dir, 'out'))).filter((name) => !name.startsWith('.'))).toEqual([
      'ct.jpg',
      'jpeg-ls.jpg',
      'multi.jpg',
    ]);
    const jpeg = await sharp(join(dir, 'out/ct.jpg')).metadata();
    expect(jpeg).toMatchObject({ format: 'jpeg', width: columns, height: rows, channels: 1 });
  });

  it('writes every frame as PNG with --frames all --format png, frames numbered from 1', async () => {
    const result = await runCli(
      ['convert', 'in/nested/multi.dcm', '--out', 'frames', '--frames', 'all', '--format', 'png'],
      dir,
    );
    expect(result.code).toBe(0);
    const names = (await listFiles(join(dir, 'frames'))).filter((name) => !name.startsWith('.'));
    expect(names).toEqual(['multi_1.png', 'multi_2.png', 'multi_3.png']);
    const first = await readFile(join(dir, 'frames/multi_1.png'));
    const second = await readFile(join(dir, 'frames/multi_2.png'));
    expect(first.equals(second)).toBe(false);
    expect(await sharp(first).metadata()).toMatchObject({ format: 'png', width: columns });
  });

  it('downsamples with --max-size and applies a --window override', async () => {
    const result = await runCli(
      ['convert', 'in/ct.dcm', '--out', 'small', '--max-size', '15', '--window', '-600,1500'],
      dir,
    );
    expect(result.code).toBe(0);
    // 40 rows × 30 columns: the longest side (rows) becomes 15, the other keeps the aspect.
    expect(await sharp(join(dir, 'small/ct.jpg')).metadata()).toMatchObject({
      width: 11,
      height: 15,
    });
  });

  it('refuses a missing input and a bad option with exit 2', async () => {
    expect((await runCli(['convert', 'missing.dcm', '--out', 'x'], dir)).code).toBe(2);
    const bad = await runCli(['convert', 'in', '--out', 'x', '--window', 'wide'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--window: received "wide"; expected CENTER,WIDTH');
    // A 16-bit JPEG stops before any file is read, not as a failure per instance.
    const deep = await runCli(['convert', 'in', '--out', 'x', '--bit-depth', '16'], dir);
    expect(deep.code).toBe(2);
    expect(deep.stderr).toContain('CONFIG_INVALID');
    expect(deep.stderr).toContain('16 with --format png');
  });
});
