import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtlError } from '../../../src/domain/errors.js';
import { readLocalFile, type LocalFile } from '../../../src/source/local-file.js';

describe('readLocalFile', () => {
  let dir: string;
  const file = (name: string, maxBytes = 1024): LocalFile => ({
    path: join(dir, name),
    maxBytes,
    subject: 'instance 9',
  });
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected a failure');
      },
      (error: unknown) => {
        expect(error).toBeInstanceOf(EtlError);
        return error as EtlError;
      },
    );

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'eden-local-file-'));
    await writeFile(join(dir, 'a.dcm'), 'twelve bytes');
    await mkdir(join(dir, 'folder'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the whole file into a buffer of its own', async () => {
    const bytes = await readLocalFile(file('a.dcm'));
    expect(Buffer.from(bytes).toString()).toBe('twelve bytes');
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.buffer.byteLength).toBe(12);
  });

  it('reads into the memory the caller gives, and returns the view of the file', async () => {
    const memory = new ArrayBuffer(64);
    new Uint8Array(memory).fill(0x2a);
    const sizes: number[] = [];
    const bytes = await readLocalFile(file('a.dcm'), (size) => {
      sizes.push(size);
      return new Uint8Array(memory, 0, size);
    });
    expect(sizes).toEqual([12]);
    expect(bytes.buffer).toBe(memory);
    expect(Buffer.from(bytes).toString()).toBe('twelve bytes');
  });

  it('names a missing file FILE_MISSING, permanently', async () => {
    const error = await failure(readLocalFile(file('gone.dcm')));
    expect(error.code).toBe('FILE_MISSING');
    expect(error.retryable).toBe(false);
    expect(error.oneLine()).toContain(`instance 9: ${join(dir, 'gone.dcm')} does not exist`);
  });

  it('refuses a file above the cap before reading it, with the fix', async () => {
    let allocated = false;
    const error = await failure(
      readLocalFile(file('a.dcm', 11), () => {
        allocated = true;
        return new Uint8Array(0);
      }),
    );
    expect(error.code).toBe('FILE_TOO_LARGE');
    expect(error.message).toContain('has 12 bytes, above the cap of 11');
    expect(error.hint).toContain('--max-file-bytes');
    expect(allocated).toBe(false);
  });

  it('refuses a directory permanently', async () => {
    const error = await failure(readLocalFile(file('folder')));
    expect(error.code).toBe('FETCH_FAILED');
    expect(error.retryable).toBe(false);
  });
});
