import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EtlError } from '../../../src/domain/errors.js';
import { LOCAL_TEMP_DIR, openLocalStore, tempFileName } from '../../../src/store/local-store.js';
import { CONTENT_TYPES } from '../../../src/dataset/object-keys.js';
import type { ObjectStore, PutOutcome } from '../../../src/domain/object-store.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const md5 = (text: string) => createHash('md5').update(text).digest('base64');

async function rejection(promise: Promise<unknown>): Promise<EtlError> {
  const error: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(EtlError);
  return error as EtlError;
}

let root: string;
let store: ObjectStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'eden-local-store-'));
  store = await openLocalStore(root);
});

afterEach(async () => {
  await store.close();
  await rm(root, { recursive: true, force: true });
});

const tempFiles = () => readdir(join(root, LOCAL_TEMP_DIR));

describe('openLocalStore', () => {
  it('creates a missing root and reports it as a file URL', async () => {
    const nested = join(root, 'a', 'b');
    const other = await openLocalStore(nested);
    expect((await stat(nested)).isDirectory()).toBe(true);
    expect(other.displayUrl).toBe(`file://${nested}`);
    await other.close();
  });

  it('refuses a root that cannot be created', async () => {
    // Root ignores directory permissions, so use a path below a regular file instead.
    const error = await rejection(openLocalStore('/etc/hostname/x'));
    expect(error.code).toBe('DESTINATION_UNAVAILABLE');
    expect(error.message).toContain('/etc/hostname/x');
  });

  it('sweeps temp files of dead processes and keeps those of live ones', async () => {
    const child = spawnSync(process.execPath, ['-e', '']);
    expect(child.status).toBe(0);
    const dead = tempFileName(child.pid);
    const live = tempFileName(process.pid);
    const foreign = 'not-ours.tmp';
    for (const name of [dead, live, foreign]) {
      await writeFile(join(root, LOCAL_TEMP_DIR, name), 'partial');
    }
    const reopened = await openLocalStore(root);
    expect((await tempFiles()).sort()).toEqual([foreign, live].sort());
    await reopened.close();
  });
});

describe('create', () => {
  const key = 'prefix/dicom-files/1.2.3.dcm';

  it('creates an object, making parent directories, and reports its checksums', async () => {
    const result = await store.create(key, bytes('hello'), CONTENT_TYPES.dicom);
    expect(result).toEqual({
      key,
      size: 5,
      md5: md5('hello'),
      sha256: createHash('sha256').update('hello').digest('hex'),
      outcome: 'created',
    });
    expect(await readFile(join(root, 'prefix', 'dicom-files', '1.2.3.dcm'), 'utf8')).toBe('hello');
    expect(await tempFiles()).toEqual([]);
  });

  it('leaves an identical object untouched', async () => {
    await store.create(key, bytes('hello'), CONTENT_TYPES.dicom);
    const path = join(root, ...key.split('/'));
    const before = await stat(path);
    await sleep(20);
    const again = await store.create(key, bytes('hello'), CONTENT_TYPES.dicom);
    expect(again.outcome).toBe('already-present');
    const after = await stat(path);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(after.ino).toBe(before.ino);
    expect(await tempFiles()).toEqual([]);
  });

  it('refuses to overwrite different content, naming the key and both checksums', async () => {
    await store.create(key, bytes('hello'), CONTENT_TYPES.dicom);
    const error = await rejection(store.create(key, bytes('other'), CONTENT_TYPES.dicom));
    expect(error.code).toBe('OBJECT_CONFLICT');
    expect(error.subject).toBe(key);
    expect(error.message).toContain(md5('hello'));
    expect(error.message).toContain(md5('other'));
    expect(await store.read(key)).toEqual(bytes('hello'));
    expect(await tempFiles()).toEqual([]);
  });

  it('lets exactly one of two concurrent writers create the object', async () => {
    const results = await Promise.all([
      store.create(key, bytes('same'), CONTENT_TYPES.dicom),
      store.create(key, bytes('same'), CONTENT_TYPES.dicom),
    ]);
    const expected: PutOutcome[] = ['already-present', 'created'];
    expect(results.map((result) => result.outcome).sort()).toEqual(expected);
    expect(await tempFiles()).toEqual([]);
  });

  it('lets one of two concurrent writers with different bytes win and the other conflict', async () => {
    const settled = await Promise.allSettled([
      store.create(key, bytes('one'), CONTENT_TYPES.dicom),
      store.create(key, bytes('two'), CONTENT_TYPES.dicom),
    ]);
    const statuses = settled.map((outcome) => outcome.status).sort();
    expect(statuses).toEqual(['fulfilled', 'rejected']);
    const failure = settled.find((outcome) => outcome.status === 'rejected');
    expect((failure as PromiseRejectedResult).reason).toMatchObject({ code: 'OBJECT_CONFLICT' });
    expect(await tempFiles()).toEqual([]);
  });

  it('reports a filesystem problem as STORE_FAILED naming the key', async () => {
    await store.create('blocker', bytes('file'), CONTENT_TYPES.csv);
    const error = await rejection(store.create('blocker/inside', bytes('x'), CONTENT_TYPES.csv));
    expect(error.code).toBe('STORE_FAILED');
    expect(error.subject).toBe('blocker/inside');
    expect(error.retryable).toBe(false);
    expect(error.hint).toBeDefined();
    expect(await tempFiles()).toEqual([]);
  });
});

describe('replace', () => {
  it('writes, then replaces, then recognises identical content', async () => {
    expect((await store.replace('data.csv', bytes('v1'), CONTENT_TYPES.csv)).outcome).toBe(
      'created',
    );
    expect((await store.replace('data.csv', bytes('v2'), CONTENT_TYPES.csv)).outcome).toBe(
      'created',
    );
    expect(await store.read('data.csv')).toEqual(bytes('v2'));
    const before = await stat(join(root, 'data.csv'));
    const same = await store.replace('data.csv', bytes('v2'), CONTENT_TYPES.csv);
    expect(same).toMatchObject({ outcome: 'already-present', md5: md5('v2'), size: 2 });
    expect((await stat(join(root, 'data.csv'))).ino).toBe(before.ino);
    expect(await tempFiles()).toEqual([]);
  });
});

describe('stat and read', () => {
  it('return null for absent objects', async () => {
    expect(await store.stat('nothing/here')).toBeNull();
    expect(await store.read('nothing/here')).toBeNull();
  });

  it('describe and return stored objects', async () => {
    await store.create('a/b.jpg', bytes('jpeg'), CONTENT_TYPES.jpeg);
    expect(await store.stat('a/b.jpg')).toEqual({
      key: 'a/b.jpg',
      size: 4,
      md5: md5('jpeg'),
      sha256: createHash('sha256').update('jpeg').digest('hex'),
    });
    expect(Buffer.from((await store.read('a/b.jpg')) ?? []).toString()).toBe('jpeg');
  });
});

describe('key validation', () => {
  it.each([
    '/absolute',
    '../escape',
    'a/../b',
    'a/./b',
    'a//b',
    'trailing/',
    'back\\slash',
    'nul\u0000byte',
    '',
  ])('rejects %j', async (key) => {
    const error = await rejection(store.create(key, bytes('x'), CONTENT_TYPES.csv));
    expect(error.code).toBe('INVALID_IDENTIFIER');
    expect(error.message).toContain(JSON.stringify(key));
  });

  it('keeps keys out of the temp directory', async () => {
    const error = await rejection(store.read(`${LOCAL_TEMP_DIR}/x`));
    expect(error.code).toBe('INVALID_IDENTIFIER');
  });
});

describe('close', () => {
  it('waits for writes in flight and refuses later calls', async () => {
    const write = store.create('late.dcm', bytes('x'), CONTENT_TYPES.dicom);
    await store.close();
    expect((await write).outcome).toBe('created');
    const error = await rejection(store.read('late.dcm'));
    expect(error.code).toBe('INTERNAL');
  });
});
