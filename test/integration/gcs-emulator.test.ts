import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Storage, type StorageOptions } from '@google-cloud/storage';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { crc32cBase64, crc32cUpdate } from '../../tools/gcs-emulator/crc32c.js';
import { startGcsEmulator, type GcsEmulator } from '../../tools/gcs-emulator/server.js';

let emulator: GcsEmulator;

beforeEach(async () => {
  emulator = await startGcsEmulator({ port: 0 });
});

afterEach(async () => {
  await emulator.close();
});

/** The real client, pointed at the emulator; a custom apiEndpoint skips authentication. */
function client(extra: Partial<StorageOptions> = {}): Storage {
  return new Storage({
    apiEndpoint: emulator.url,
    projectId: 'test',
    retryOptions: {
      autoRetry: true,
      maxRetries: 3,
      retryDelayMultiplier: 1.1,
      maxRetryDelay: 1, // save() wraps uploads in async-retry, whose minTimeout is 1 s
      totalTimeout: 20,
    },
    ...extra,
  });
}

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('base64');
const crc = (b: Buffer): string => crc32cBase64(crc32cUpdate(0, b));

async function newBucket(storage: Storage, name = 'eden-test') {
  const [bucket] = await storage.createBucket(name);
  return bucket;
}

describe('crc32c', () => {
  it('matches the Castagnoli check value and the client library', async () => {
    expect(crc32cUpdate(0, Buffer.from('123456789'))).toBe(0xe3069283);
    const data = randomBytes(100_000);
    const split = crc32cUpdate(crc32cUpdate(0, data.subarray(0, 777)), data.subarray(777));
    expect(split).toBe(crc32cUpdate(0, data));
    const { CRC32C } = await import('@google-cloud/storage');
    const theirs = new CRC32C();
    theirs.update(data);
    expect(crc(data)).toBe(theirs.toString());
  });
});

describe('gcs emulator driven by @google-cloud/storage', () => {
  it('creates and gets a bucket; a missing bucket is a 404 in the GCS error shape', async () => {
    const storage = client();
    await newBucket(storage);
    const [exists] = await storage.bucket('eden-test').exists();
    expect(exists).toBe(true);
    await expect(storage.bucket('nope').getMetadata()).rejects.toMatchObject({ code: 404 });
    const res = await fetch(`${emulator.url}/storage/v1/b/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: {
        code: 404,
        message: 'The specified bucket does not exist.',
        errors: [
          { message: 'The specified bucket does not exist.', domain: 'global', reason: 'notFound' },
        ],
      },
    });
  });

  it('saves a small object (multipart), downloads it, reports md5/crc32c, deletes it', async () => {
    const bucket = await newBucket(client());
    const body = Buffer.from('hello, eden\n'.repeat(100));
    const file = bucket.file('dicom-files/1.2.3.dcm');
    await file.save(body, { resumable: false, contentType: 'application/dicom' });
    const [meta] = await file.getMetadata();
    expect(meta).toMatchObject({
      name: 'dicom-files/1.2.3.dcm',
      bucket: 'eden-test',
      contentType: 'application/dicom',
      size: String(body.length),
      md5Hash: md5(body),
      crc32c: crc(body),
      metageneration: '1',
    });
    expect(Number(meta.generation)).toBeGreaterThan(0);
    expect(typeof meta.updated).toBe('string');
    const [downloaded] = await file.download();
    expect(downloaded.equals(body)).toBe(true);
    const [part] = await file.download({ start: 6, end: 9 });
    expect(part.toString()).toBe(' ede');
    await file.delete();
    const [exists] = await file.exists();
    expect(exists).toBe(false);
  });

  it('accepts uploadType=media and checks a client-sent x-goog-hash', async () => {
    await newBucket(client());
    const body = Buffer.from('media body');
    const url = `${emulator.url}/upload/storage/v1/b/eden-test/o?uploadType=media&name=a.txt`;
    const ok = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'text/plain',
        'x-goog-hash': `crc32c=${crc(body)},md5=${md5(body)}`,
      },
      body,
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ name: 'a.txt', contentType: 'text/plain', size: '10' });
    const bad = await fetch(url, {
      method: 'POST',
      headers: { 'x-goog-hash': `md5=${md5(Buffer.from('other'))}` },
      body,
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      error: { code: 400, errors: [{ reason: 'invalid' }] },
    });
  });

  it('rejects a multipart upload whose metadata md5Hash does not match', async () => {
    const bucket = await newBucket(client({ retryOptions: { autoRetry: false } }));
    const file = bucket.file('x.bin');
    await expect(
      file.save(Buffer.from('abc'), {
        resumable: false,
        metadata: { md5Hash: md5(Buffer.from('abd')) },
      }),
    ).rejects.toMatchObject({ code: 400 });
  });

  it('generations increase per write; ifGenerationMatch 0 refuses an existing object with 412', async () => {
    const bucket = await newBucket(client());
    const file = bucket.file('once.txt');
    await file.save('one', { resumable: false });
    const [first] = await file.getMetadata();
    await file.save('two', { resumable: false });
    const [second] = await file.getMetadata();
    expect(Number(second.generation)).toBeGreaterThan(Number(first.generation));

    const guarded = bucket.file('guarded.txt');
    await guarded.save('first', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    await expect(
      guarded.save('second', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }),
    ).rejects.toMatchObject({ code: 412 });
    const [content] = await guarded.download();
    expect(content.toString()).toBe('first');
  });

  it('lists with prefix, delimiter and paging', async () => {
    const bucket = await newBucket(client());
    const names = [
      'dicom-files/a.dcm',
      'dicom-files/b.dcm',
      'dicom-files/c.dcm',
      'images-jpg/a.jpg',
      'README-dataset.md',
    ];
    for (const name of names) await bucket.file(name).save(name, { resumable: false });

    const [dicom] = await bucket.getFiles({ prefix: 'dicom-files/' });
    expect(dicom.map((f) => f.name)).toEqual(names.slice(0, 3));

    const [page1, next, raw] = await bucket.getFiles({
      prefix: 'dicom-files/',
      maxResults: 2,
      autoPaginate: false,
    });
    expect(page1.map((f) => f.name)).toEqual(['dicom-files/a.dcm', 'dicom-files/b.dcm']);
    expect(raw).toHaveProperty('nextPageToken');
    const [page2, last] = await bucket.getFiles({ ...(next as object), autoPaginate: false });
    expect(page2.map((f) => f.name)).toEqual(['dicom-files/c.dcm']);
    expect(last).toBeNull();

    const res = await fetch(`${emulator.url}/storage/v1/b/eden-test/o?delimiter=/`);
    expect(await res.json()).toMatchObject({
      items: [{ name: 'README-dataset.md' }],
      prefixes: ['dicom-files/', 'images-jpg/'],
    });
  });

  it('uploads > 8 MiB resumably in chunks; hashes match', async () => {
    const bucket = await newBucket(client());
    const body = randomBytes(9 * 1024 * 1024 + 123);
    const file = bucket.file('big.bin');
    await file.save(body, { resumable: true, chunkSize: 2 * 1024 * 1024 });
    const [meta] = await file.getMetadata();
    expect(meta).toMatchObject({
      size: String(body.length),
      md5Hash: md5(body),
      crc32c: crc(body),
    });
    const [downloaded] = await file.download();
    expect(downloaded.equals(body)).toBe(true);
  });

  it('answers a resumable status query with 308 + Range, and finishes with bytes */N', async () => {
    await newBucket(client());
    const start = await fetch(
      `${emulator.url}/upload/storage/v1/b/eden-test/o?uploadType=resumable&name=r.bin`,
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' },
    );
    const session = start.headers.get('location')!;
    expect(session).toContain('upload_id=');
    const body = randomBytes(1000);
    const put1 = await fetch(session, {
      method: 'PUT',
      headers: { 'content-range': 'bytes 0-599/*' },
      body: body.subarray(0, 600),
    });
    expect(put1.status).toBe(308);
    expect(put1.headers.get('range')).toBe('bytes=0-599');
    const status = await fetch(session, {
      method: 'PUT',
      headers: { 'content-range': 'bytes */*' },
    });
    expect(status.status).toBe(308);
    expect(status.headers.get('range')).toBe('bytes=0-599');
    const put2 = await fetch(session, {
      method: 'PUT',
      headers: { 'content-range': 'bytes 600-999/*' },
      body: body.subarray(600),
    });
    expect(put2.status).toBe(308);
    const done = await fetch(session, {
      method: 'PUT',
      headers: { 'content-range': 'bytes */1000' },
    });
    expect(done.status).toBe(200);
    expect(await done.json()).toMatchObject({ name: 'r.bin', size: '1000', md5Hash: md5(body) });
  });

  it('retries through injected 503s and a 429 with Retry-After', async () => {
    const bucket = await newBucket(client());
    emulator.failures.fail503(2, { method: 'POST', path: 'uploadType=multipart' });
    emulator.failures.fail429(1, 1, { method: 'GET', path: '/o/retry.txt' });
    const file = bucket.file('retry.txt');
    await file.save('after failures', {
      resumable: false,
      preconditionOpts: { ifGenerationMatch: 0 },
    });
    const [meta] = await file.getMetadata();
    expect(meta.size).toBe('14');
    expect(emulator.failures.injected.map((f) => f.kind)).toEqual(['503', '503', '429']);

    const raw = await (async () => {
      emulator.failures.fail429(1, 7);
      return fetch(`${emulator.url}/storage/v1/b/eden-test`);
    })();
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('7');
    expect(await raw.json()).toMatchObject({ error: { code: 429 } });
  });

  it('refuses with 401 and 403 as GCS does, and the client does not retry them', async () => {
    const bucket = await newBucket(client());
    emulator.failures.deny(403, Infinity, { method: 'POST', path: '/o' });
    const file = bucket.file('denied.txt');
    await expect(
      file.save('x', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }),
    ).rejects.toMatchObject({
      code: 403,
      message: expect.stringMatching(/storage\.objects\.create/) as unknown,
    });
    expect(emulator.failures.injected.map((f) => f.kind)).toEqual(['403']);
    emulator.failures.clear();

    emulator.failures.deny(401, 1, { method: 'GET' });
    await expect(bucket.exists()).rejects.toMatchObject({ code: 401 });
    expect(emulator.failures.injected.map((f) => f.kind)).toEqual(['403', '401']);
  });

  it('a resumable upload survives 503s on its chunks and a connection reset mid-chunk', async () => {
    const bucket = await newBucket(client());
    const body = randomBytes(9 * 1024 * 1024);
    emulator.failures.resetUploadChunk(1, 700 * 1024);
    emulator.failures.fail503(1, { method: 'PUT', path: 'upload_id=' });
    const file = bucket.file('resumed.bin');
    await file.save(body, {
      resumable: true,
      chunkSize: 1024 * 1024,
      preconditionOpts: { ifGenerationMatch: 0 },
    });
    const kinds = emulator.failures.injected.map((f) => f.kind);
    expect(kinds).toContain('reset');
    expect(kinds).toContain('503');
    // The client asked where to resume and went on from the bytes the server kept.
    const ranges = emulator.requests.flatMap((r) => (r.contentRange ? [r.contentRange] : []));
    const query = ranges.indexOf('bytes */*');
    expect(query).toBeGreaterThan(0);
    expect(ranges.slice(query + 1).some((r) => r.startsWith(`bytes ${700 * 1024}-`))).toBe(true);
    const sessions = emulator.requests.filter(
      (r) => r.method === 'POST' && r.path.includes('uploadType=resumable'),
    );
    expect(sessions).toHaveLength(1); // resumed, not restarted
    const [meta] = await file.getMetadata();
    expect(meta).toMatchObject({
      size: String(body.length),
      md5Hash: md5(body),
      crc32c: crc(body),
    });
    const [downloaded] = await file.download();
    expect(downloaded.equals(body)).toBe(true);
  });

  it('the client does not retry a resumable upload without a generation precondition', async () => {
    // RetryConditional (the default) treats an upload without ifGenerationMatch as not
    // idempotent: a reset is then fatal. Loaders must send ifGenerationMatch.
    const bucket = await newBucket(client());
    emulator.failures.resetUploadChunk(1, 100 * 1024);
    await expect(
      bucket
        .file('unguarded.bin')
        .save(randomBytes(2 * 1024 * 1024), { resumable: true, chunkSize: 1024 * 1024 }),
    ).rejects.toThrow(/ECONNRESET/);
  });

  it('persists objects in a directory across restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gcs-emulator-'));
    try {
      const first = await startGcsEmulator({ dir });
      const a = new Storage({ apiEndpoint: first.url, projectId: 'test' });
      const [bucket] = await a.createBucket('kept');
      await bucket.file('k.txt').save('kept bytes', { resumable: false });
      await first.close();
      const second = await startGcsEmulator({ dir });
      try {
        const b = new Storage({ apiEndpoint: second.url, projectId: 'test' });
        const [content] = await b.bucket('kept').file('k.txt').download();
        expect(content.toString()).toBe('kept bytes');
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
