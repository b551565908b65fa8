import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtlError } from '../../../src/domain/errors.js';
import { createFetcher, type ClosableFetcher } from '../../../src/source/fetcher.js';

describe('createFetcher routes by scheme', () => {
  let dir: string;
  let fetcher: ClosableFetcher;
  const server = createServer((_, response) => response.end('from http'));
  let origin: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'eden-fetcher-'));
    await writeFile(join(dir, 'a.dcm'), 'from disk');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    fetcher = createFetcher({
      maxBytes: 1024 * 1024,
      filesRoot: dir,
      http: { maxConnectionsPerHost: 1, connectTimeoutMs: 1000, readTimeoutMs: 1000 },
    });
  });

  afterAll(async () => {
    await fetcher.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const text = (bytes: Uint8Array) => Buffer.from(bytes).toString();
  const target = (fileUrl: string | null, filePath: string | null = null) => ({
    instanceId: '7',
    fileUrl,
    filePath,
  });

  it('reads file:// URLs, absolute paths and file_path under the files root from disk', async () => {
    const path = join(dir, 'a.dcm');
    expect(text(await fetcher.fetch(target(pathToFileURL(path).href)))).toBe('from disk');
    expect(text(await fetcher.fetch(target(path)))).toBe('from disk');
    expect(text(await fetcher.fetch(target(null, 'a.dcm')))).toBe('from disk');
  });

  it('downloads http:// URLs (any case of the scheme)', async () => {
    expect(text(await fetcher.fetch(target(`${origin}/x`)))).toBe('from http');
    expect(text(await fetcher.fetch(target(origin.replace('http', 'HTTP') + '/x')))).toBe(
      'from http',
    );
  });

  it('refuses other schemes permanently, naming the ones it supports', async () => {
    const error = await fetcher.fetch(target('ftp://pacs/x.dcm')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EtlError);
    expect((error as EtlError).retryable).toBe(false);
    expect((error as EtlError).message).toMatch(/"ftp".*http:\/\/, https:\/\//);
  });

  it('says where a local file is, with its cap, and that an http one is not local', () => {
    const path = join(dir, 'a.dcm');
    const local = { path, maxBytes: 1024 * 1024, subject: 'instance 7' };
    expect(fetcher.localFile?.(target(pathToFileURL(path).href))).toEqual(local);
    expect(fetcher.localFile?.(target(null, 'a.dcm'))).toEqual(local);
    expect(fetcher.localFile?.(target(`${origin}/x`))).toBeNull();
    expect(() => fetcher.localFile?.(target('ftp://pacs/x.dcm'))).toThrow(EtlError);
  });
});
