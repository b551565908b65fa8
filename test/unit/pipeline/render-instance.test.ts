import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { datasetKeys } from '../../../src/dataset/object-keys.js';
import { EtlError } from '../../../src/domain/errors.js';
import type { ObjectStore } from '../../../src/domain/object-store.js';
import { DEFAULT_RENDER_OPTIONS, type RenderOptions } from '../../../src/domain/render.js';
import { RenderPool } from '../../../src/pipeline/render-pool.js';
import { fetchAndRender, storeImages } from '../../../src/pipeline/render-instance.js';
import type { Fetcher, FetchTarget } from '../../../src/source/fetcher.js';
import { openLocalStore } from '../../../src/store/local-store.js';
import {
  grayDicom,
  MPEG2_MAIN_PROFILE,
  withTransferSyntaxUid,
} from '../../support/render-dicom.js';

const ROWS = 24;
const COLUMNS = 32;
const FRAMES = 3;
/** Three frames, each a brighter copy of the same gradient, so every frame encodes differently. */
const MULTIFRAME = grayDicom({
  rows: ROWS,
  columns: COLUMNS,
  pixels: Uint16Array.from(
    { length: ROWS * COLUMNS * FRAMES },
    (_, i) => ((i % (ROWS * COLUMNS)) * 3 + Math.floor(i / (ROWS * COLUMNS)) * 900) % 4096,
  ),
  bitsStored: 12,
  window: { center: 2048, width: 4096 },
  frames: FRAMES,
});
const VIDEO = withTransferSyntaxUid(
  grayDicom({ rows: ROWS, columns: COLUMNS, pixels: new Uint8Array(ROWS * COLUMNS) }),
  MPEG2_MAIN_PROFILE,
);
const TARGET: FetchTarget = { instanceId: 'i9', filePath: null, fileUrl: 'file:///pacs/i9.dcm' };
const ALL_PNG: RenderOptions = { ...DEFAULT_RENDER_OPTIONS, frames: 'all', format: 'png' };
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47];
const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];

function fetcherOf(answer: Uint8Array | EtlError): Fetcher {
  return {
    fetch: () =>
      answer instanceof EtlError
        ? Promise.reject(answer)
        : // A copy each time: the render pool moves the bytes it is given.
          Promise.resolve(new Uint8Array(answer)),
  };
}

describe('fetchAndRender', () => {
  let pool: RenderPool;
  beforeAll(() => {
    pool = RenderPool.create({ threads: 1 });
  });
  afterAll(async () => {
    await pool.close();
  });

  it('renders the first frame only by default, telling each stage as it ends', async () => {
    const laps: string[] = [];
    const outcome = await fetchAndRender(
      { fetcher: fetcherOf(MULTIFRAME), renderer: pool },
      TARGET,
      DEFAULT_RENDER_OPTIONS,
      {},
      (stage) => laps.push(stage),
    );
    expect(laps).toEqual(['fetch', 'render']);
    if (!outcome.ok) throw outcome.error;
    expect(outcome.images.map((image) => image.recipe.frame)).toEqual([1]);
    expect([...(outcome.images[0]?.bytes.subarray(0, 3) ?? [])]).toEqual(JPEG_SIGNATURE);
    expect(Buffer.from(outcome.dicom).equals(MULTIFRAME)).toBe(true);
    expect(outcome.phi).toBeNull();
  });

  it('renders every frame, in order, when asked', async () => {
    const outcome = await fetchAndRender(
      { fetcher: fetcherOf(MULTIFRAME), renderer: pool },
      TARGET,
      ALL_PNG,
      {},
    );
    if (!outcome.ok) throw outcome.error;
    expect(outcome.images.map((image) => image.recipe.frame)).toEqual([1, 2, 3]);
    for (const image of outcome.images) {
      expect([...image.bytes.subarray(0, 4)]).toEqual(PNG_SIGNATURE);
    }
    const distinct = new Set(
      outcome.images.map((image) => Buffer.from(image.bytes).toString('hex')),
    );
    expect(distinct.size).toBe(FRAMES);
  });

  it('returns the de-identified file and the original facts when given de-identification', async () => {
    const named = grayDicom({
      rows: ROWS,
      columns: COLUMNS,
      pixels: Uint16Array.from({ length: ROWS * COLUMNS }, (_, i) => i * 5),
      bitsStored: 12,
      extra: [
        { tag: 0x00100010, vr: 'PN', value: 'Cnryrenderinst^Patient' },
        { tag: 0x00100020, vr: 'LO', value: 'CNRYPID4242' },
      ],
    });
    const deid = { secret: 'render-instance-secret-0123', keep: [], remove: [] };
    const outcome = await fetchAndRender(
      { fetcher: fetcherOf(named), renderer: pool },
      TARGET,
      DEFAULT_RENDER_OPTIONS,
      { deid },
    );
    if (!outcome.ok) throw outcome.error;
    const text = Buffer.from(outcome.dicom).toString('latin1');
    expect(text).not.toContain('Cnryrenderinst');
    expect(text).not.toContain('CNRYPID4242');
    expect(outcome.phi?.facts.ids).toContain('CNRYPID4242');
  });

  it('gives back an image it cannot decode as a failed render, with its file', async () => {
    const laps: string[] = [];
    const outcome = await fetchAndRender(
      { fetcher: fetcherOf(VIDEO), renderer: pool },
      TARGET,
      DEFAULT_RENDER_OPTIONS,
      {},
      (stage) => laps.push(stage),
    );
    expect(laps).toEqual(['fetch', 'render']);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error.code).toBe('UNSUPPORTED_IMAGE');
    expect(outcome.dicom.byteLength).toBe(VIDEO.byteLength);
  });

  it('has a local file read by the render thread when the caller needs no DICOM bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'eden-render-instance-local-'));
    try {
      const path = join(dir, 'i9.dcm');
      await writeFile(path, MULTIFRAME);
      const fetched: string[] = [];
      const local: Fetcher = {
        fetch: (target) => {
          fetched.push(target.instanceId);
          return Promise.resolve(new Uint8Array(MULTIFRAME));
        },
        localFile: (target) =>
          target.fileUrl?.startsWith('http') === true
            ? null
            : { path, maxBytes: 1 << 20, subject: `instance ${target.instanceId}` },
      };
      const deps = { fetcher: local, renderer: pool };
      const read = await fetchAndRender(deps, TARGET, DEFAULT_RENDER_OPTIONS, { dicom: false });
      expect(fetched).toEqual([]);
      if (!read.ok) throw read.error;
      expect(read.dicom.byteLength).toBe(0);
      // With the bytes wanted, or a file that is not local, the fetcher reads it here.
      const given = await fetchAndRender(deps, TARGET, DEFAULT_RENDER_OPTIONS, {});
      const remote = { ...TARGET, fileUrl: 'http://pacs/i9.dcm' };
      const served = await fetchAndRender(deps, remote, DEFAULT_RENDER_OPTIONS, { dicom: false });
      expect(fetched).toEqual(['i9', 'i9']);
      if (!given.ok || !served.ok) throw new Error('not rendered');
      expect(Buffer.from(given.dicom).equals(MULTIFRAME)).toBe(true);
      expect(served.dicom.byteLength).toBe(MULTIFRAME.byteLength);
      for (const other of [given, served]) {
        expect(Buffer.from(other.images[0]!.bytes).equals(read.images[0]!.bytes)).toBe(true);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('throws what the fetch throws, before any stage ends', async () => {
    const laps: string[] = [];
    const missing = new EtlError('FILE_MISSING', 'no such file', { subject: 'instance i9' });
    await expect(
      fetchAndRender(
        { fetcher: fetcherOf(missing), renderer: pool },
        TARGET,
        DEFAULT_RENDER_OPTIONS,
        {},
        (stage) => laps.push(stage),
      ),
    ).rejects.toBe(missing);
    expect(laps).toEqual([]);
  });
});

describe('storeImages', () => {
  let pool: RenderPool;
  let root: string;
  let store: ObjectStore;
  const keys = datasetKeys('ds');
  beforeAll(() => {
    pool = RenderPool.create({ threads: 1 });
  });
  afterAll(async () => {
    await pool.close();
  });
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'eden-render-instance-'));
    store = await openLocalStore(root);
  });
  afterEach(async () => {
    await store.close();
    await rm(root, { recursive: true, force: true });
  });

  async function rendered(render: RenderOptions) {
    const outcome = await pool.renderFrames(new Uint8Array(MULTIFRAME), render);
    if (!outcome.ok) throw outcome.error;
    return outcome.images;
  }

  /** Writes into the real store, keeping the content type each write was given. */
  function writer() {
    const types: Record<string, string> = {};
    const write = (key: string, bytes: Uint8Array, contentType: string) => {
      types[key] = contentType;
      return store.create(key, bytes, contentType);
    };
    return { types, write };
  }

  it('stores every frame under its own numbered key, in frame order', async () => {
    const images = await rendered(ALL_PNG);
    const { types, write } = writer();
    const stored = await storeImages(
      images,
      ALL_PNG,
      (frame) => keys.image('i9', 'png', frame).full,
      write,
    );
    expect(stored.map(({ key, frame }) => [key, frame])).toEqual([
      ['ds/images-png/i9_1.png', 1],
      ['ds/images-png/i9_2.png', 2],
      ['ds/images-png/i9_3.png', 3],
    ]);
    expect((await readdir(join(root, 'ds/images-png'))).sort()).toEqual([
      'i9_1.png',
      'i9_2.png',
      'i9_3.png',
    ]);
    for (const [index, image] of images.entries()) {
      const onDisk = await readFile(join(root, `ds/images-png/i9_${index + 1}.png`));
      expect(onDisk.equals(image.bytes)).toBe(true);
      expect(stored[index]).toMatchObject({ size: image.bytes.byteLength, outcome: 'created' });
    }
    expect(new Set(Object.values(types))).toEqual(new Set(['image/png']));
  });

  it('stores the only image under the instance’s key, with no frame number', async () => {
    const images = await rendered(DEFAULT_RENDER_OPTIONS);
    const { types, write } = writer();
    const stored = await storeImages(
      images,
      DEFAULT_RENDER_OPTIONS,
      (frame) => keys.image('i9', 'jpeg', frame).full,
      write,
    );
    expect(stored).toMatchObject([{ key: 'ds/images-jpg/i9.jpg', frame: 1, outcome: 'created' }]);
    expect(await readdir(join(root, 'ds/images-jpg'))).toEqual(['i9.jpg']);
    expect(types).toEqual({ 'ds/images-jpg/i9.jpg': 'image/jpeg' });
  });

  it('reports images already stored with the same bytes as already present', async () => {
    const images = await rendered(ALL_PNG);
    const keyOf = (frame: number | null) => keys.image('i9', 'png', frame).full;
    await storeImages(images, ALL_PNG, keyOf, writer().write);
    const again = await storeImages(images, ALL_PNG, keyOf, writer().write);
    expect(again.map((image) => image.outcome)).toEqual([
      'already-present',
      'already-present',
      'already-present',
    ]);
  });

  it('stops at the first image the store refuses, leaving the later frames unwritten', async () => {
    const images = await rendered(ALL_PNG);
    const conflict = new EtlError('OBJECT_CONFLICT', 'other bytes there');
    const written: string[] = [];
    const write = (key: string, bytes: Uint8Array, contentType: string) => {
      if (key.endsWith('_2.png')) return Promise.reject(conflict);
      written.push(key);
      return store.create(key, bytes, contentType);
    };
    await expect(
      storeImages(images, ALL_PNG, (frame) => keys.image('i9', 'png', frame).full, write),
    ).rejects.toBe(conflict);
    expect(await readdir(join(root, 'ds/images-png'))).toEqual(['i9_1.png']);
    expect(written).toEqual(['ds/images-png/i9_1.png']);
  });

  it('stores nothing for no images', async () => {
    const stored = await storeImages([], ALL_PNG, () => 'unused', writer().write);
    expect(stored).toEqual([]);
    expect(await readdir(root).then((entries) => entries.filter((e) => e !== '.eden-tmp'))).toEqual(
      [],
    );
  });
});
