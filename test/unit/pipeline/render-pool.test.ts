import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { EtlError } from '../../../src/domain/errors.js';
import { DEFAULT_RENDER_OPTIONS } from '../../../src/domain/render.js';
import { RenderPool } from '../../../src/pipeline/render-pool.js';
import { convert, withTempDir } from '../../support/codec-corpus.js';
import { grayDicom, type GrayDicomSpec } from '../../support/render-dicom.js';

const spec: GrayDicomSpec = {
  rows: 48,
  columns: 64,
  pixels: Uint16Array.from({ length: 48 * 64 }, (_, i) => (i * 7) % 4096),
  bitsStored: 12,
  window: { center: 2048, width: 4096 },
};

/** A file in a buffer of its own, so the pool moves it instead of copying it. */
function ownedFile(): Uint8Array {
  return new Uint8Array(grayDicom(spec));
}

let pool: RenderPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('RenderPool', () => {
  it('renders in a worker, moving the input there and handing it back intact', async () => {
    pool = RenderPool.create({ threads: 1 });
    const bytes = ownedFile();
    const original = new Uint8Array(bytes);
    const pending = pool.render(bytes, DEFAULT_RENDER_OPTIONS);
    // Moved to the worker thread: the caller's view is detached.
    expect(bytes.byteLength).toBe(0);
    const outcome = await pending;
    expect(outcome.ok).toBe(true);
    expect(outcome.dicom).toEqual(original);
    if (!outcome.ok) throw outcome.error;
    expect(outcome.image.recipe).toMatchObject({ width: 64, height: 48, windowSource: 'file' });
    const metadata = await sharp(outcome.image.bytes).metadata();
    expect(metadata).toMatchObject({ format: 'jpeg', width: 64, height: 48, channels: 1 });
  });

  it('decodes JPEG 2000 in its workers with the decoder it is given, to the same image', async () => {
    await withTempDir(async (dir) => {
      const j2k = await convert(dir, grayDicom(spec), 'gdcmconv', ['--j2k']);
      const images: Uint8Array[] = [];
      for (const j2kDecoder of ['native', 'wasm'] as const) {
        pool = RenderPool.create({ threads: 2, j2kDecoder });
        const outcome = await pool.render(new Uint8Array(j2k), DEFAULT_RENDER_OPTIONS);
        if (!outcome.ok) throw outcome.error;
        images.push(outcome.image.bytes);
        await pool.close();
        pool = undefined;
      }
      expect(Buffer.from(images[0]!).equals(Buffer.from(images[1]!))).toBe(true);
      // And the same as the uncompressed file renders to.
      pool = RenderPool.create({ threads: 1 });
      const plain = await pool.render(ownedFile(), DEFAULT_RENDER_OPTIONS);
      if (!plain.ok) throw plain.error;
      expect(Buffer.from(plain.image.bytes).equals(Buffer.from(images[0]!))).toBe(true);
    });
  });

  it('copies a view into a larger buffer and hands back the caller’s own array', async () => {
    pool = RenderPool.create({ threads: 1 });
    const file = grayDicom(spec);
    const larger = new Uint8Array(file.length + 10);
    larger.set(file, 3);
    const view = larger.subarray(3, 3 + file.length);
    const outcome = await pool.render(view, DEFAULT_RENDER_OPTIONS);
    expect(outcome.ok).toBe(true);
    expect(outcome.dicom).toBe(view);
    expect(view).toEqual(new Uint8Array(file));
    expect(larger.byteLength).toBe(file.length + 10);
  });

  it('returns bad input as ok:false with a typed error, and the bytes', async () => {
    pool = RenderPool.create({ threads: 1 });
    const notDicom = new TextEncoder().encode('<html>404</html>');
    const truncated = ownedFile().slice(0, 2000);
    const [first, second] = await Promise.all([
      pool.render(notDicom, DEFAULT_RENDER_OPTIONS),
      pool.render(truncated, DEFAULT_RENDER_OPTIONS),
    ]);
    expect(first.ok).toBe(false);
    if (first.ok) return;
    expect(first.error).toBeInstanceOf(EtlError);
    expect(first.error.code).toBe('NOT_DICOM');
    expect(first.error.retryable).toBe(false);
    expect(new TextDecoder().decode(first.dicom)).toBe('<html>404</html>');
    expect(second).toMatchObject({ ok: false, error: { code: 'DICOM_TRUNCATED' } });
    expect(second.dicom.length).toBe(2000);
  });

  it('renders many files concurrently on several threads, each outcome with its own bytes', async () => {
    pool = RenderPool.create({ threads: 2 });
    const files = Array.from(
      { length: 12 },
      (_, i) =>
        new Uint8Array(grayDicom({ ...spec, rows: 8 + i, pixels: new Uint16Array(64 * (8 + i)) })),
    );
    const lengths = files.map((file) => file.length);
    const outcomes = await Promise.all(
      files.map((file) => pool!.render(file, DEFAULT_RENDER_OPTIONS)),
    );
    outcomes.forEach((outcome, i) => {
      expect(outcome.dicom.length).toBe(lengths[i]);
      expect(outcome).toMatchObject({ ok: true, image: { recipe: { height: 8 + i } } });
    });
  });

  it('stops a render that outlives its timeout with RENDER_FAILED, and goes on', async () => {
    // 1 ms: shorter than any render, so the deadline always fires first.
    pool = RenderPool.create({ threads: 1, timeoutMs: 1 });
    const big = grayDicom({
      ...spec,
      rows: 2000,
      columns: 2000,
      pixels: Uint16Array.from({ length: 2000 * 2000 }, (_, i) => i % 4096),
    });
    const error = await pool.render(new Uint8Array(big), DEFAULT_RENDER_OPTIONS).then(
      () => null,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(EtlError);
    expect(error).toMatchObject({ code: 'RENDER_FAILED', retryable: false });
    expect((error as EtlError).message).toContain('longer than 0.001 s');
    await pool.close();
    // A pool with a sane timeout renders the same file.
    pool = RenderPool.create({ threads: 1 });
    expect((await pool.render(new Uint8Array(big), DEFAULT_RENDER_OPTIONS)).ok).toBe(true);
  });

  it('close() waits for work in flight, then refuses new work', async () => {
    pool = RenderPool.create({ threads: 1 });
    const inFlight = pool.render(ownedFile(), DEFAULT_RENDER_OPTIONS);
    await pool.close();
    expect((await inFlight).ok).toBe(true);
    const refused = ownedFile();
    await expect(pool.render(refused, DEFAULT_RENDER_OPTIONS)).rejects.toMatchObject({
      code: 'RENDER_FAILED',
      retryable: true,
    });
    expect(refused.byteLength).toBeGreaterThan(0);
    pool = undefined;
  });

  it('renderFrames returns the encoded image of every frame, in order, with frames all', async () => {
    pool = RenderPool.create({ threads: 1 });
    const frames = new Uint8Array(
      grayDicom({ ...spec, pixels: new Uint16Array(48 * 64 * 3), frames: 3 }),
    );
    const outcome = await pool.renderFrames(frames, { ...DEFAULT_RENDER_OPTIONS, frames: 'all' });
    if (!outcome.ok) throw outcome.error;
    expect(outcome.images.map((image) => image.recipe.frame)).toEqual([1, 2, 3]);
    for (const image of outcome.images) {
      expect(await sharp(image.bytes).metadata()).toMatchObject({ format: 'jpeg', width: 64 });
    }
    const first = await pool.render(outcome.dicom, { ...DEFAULT_RENDER_OPTIONS, frames: 'all' });
    expect(first).toMatchObject({ ok: true, image: { recipe: { frame: 1, frames: 3 } } });
  });

  it('leaves the statistics out when told to, and the image is the same bytes', async () => {
    pool = RenderPool.create({ threads: 1 });
    const withStats = await pool.renderFrames(ownedFile(), DEFAULT_RENDER_OPTIONS);
    const without = await pool.renderFrames(ownedFile(), DEFAULT_RENDER_OPTIONS, { stats: false });
    if (!withStats.ok) throw withStats.error;
    if (!without.ok) throw without.error;
    expect(withStats.images[0]?.stats).toMatchObject({ std: expect.any(Number) as unknown });
    expect(without.images[0]?.stats).toBeUndefined();
    expect(Buffer.from(without.images[0]?.bytes ?? []).equals(withStats.images[0]!.bytes)).toBe(
      true,
    );
    expect(without.images[0]?.recipe).toEqual(withStats.images[0]?.recipe);
  });

  it('renders local files read in the worker, as renderFrames renders their bytes', async () => {
    pool = RenderPool.create({ threads: 1 });
    const dir = await mkdtemp(join(tmpdir(), 'eden-render-local-'));
    try {
      // Largest first: the smaller files are read into the memory the larger one used.
      const files = [96, 48, 64].map((side, index) => ({
        path: join(dir, `f${index}.dcm`),
        bytes: grayDicom({
          rows: side,
          columns: side,
          pixels: Uint16Array.from({ length: side * side }, (_, i) => (i * (7 + index)) % 4096),
          bitsStored: 12,
        }),
      }));
      for (const file of files) await writeFile(file.path, file.bytes);
      for (const file of files) {
        const local = { path: file.path, maxBytes: 1 << 20, subject: 'instance x' };
        const read = await pool.renderLocalFile(local, DEFAULT_RENDER_OPTIONS);
        const given = await pool.renderFrames(new Uint8Array(file.bytes), DEFAULT_RENDER_OPTIONS);
        if (!read.ok) throw read.error;
        if (!given.ok) throw given.error;
        expect(read.dicom.byteLength).toBe(0);
        expect(Buffer.from(read.images[0]!.bytes).equals(given.images[0]!.bytes)).toBe(true);
        expect(read.images[0]?.recipe).toEqual(given.images[0]?.recipe);
        expect(read.attributes).toEqual(given.attributes);
      }
      const missing = await pool.renderLocalFile(
        { path: join(dir, 'gone.dcm'), maxBytes: 1 << 20, subject: 'instance 5' },
        DEFAULT_RENDER_OPTIONS,
      );
      expect(missing.ok).toBe(false);
      if (missing.ok) return;
      expect(missing.error).toBeInstanceOf(EtlError);
      expect(missing.error.code).toBe('FILE_MISSING');
      expect(missing.error.subject).toBe('instance 5');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
