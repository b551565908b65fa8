import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { EtlError, RetryAfterError } from '../../src/domain/errors.js';
import {
  createHttpFetcher,
  type HttpFetcher,
  type HttpFetcherOptions,
} from '../../src/source/http-fetcher.js';
import { openPglite } from '../../src/sql/pglite-client.js';
import { runCli, tempDir } from '../support/cli.js';
import { startTestServer, type TestServer } from '../support/http-test-server.js';
import { csvObjects } from '../support/rfc4180.js';

const DICOM = new Uint8Array(randomBytes(256 * 1024));
const SECRET = 's3cr3t-Pa55';
const TOKEN = 'tok-abc-123';

let server: TestServer | undefined;
let fetcher: HttpFetcher | undefined;

afterEach(async () => {
  await fetcher?.close();
  await server?.close();
  fetcher = undefined;
  server = undefined;
});

function open(options: Partial<HttpFetcherOptions> = {}): HttpFetcher {
  fetcher = createHttpFetcher({
    maxBytes: 16 * 1024 * 1024,
    maxConnectionsPerHost: 4,
    connectTimeoutMs: 2000,
    readTimeoutMs: 2000,
    ...options,
  });
  return fetcher;
}

async function serve(handler: Parameters<typeof startTestServer>[0]): Promise<TestServer> {
  server = await startTestServer(handler);
  return server;
}

function sendDicom(response: ServerResponse): void {
  response.writeHead(200, {
    'content-type': 'application/dicom',
    'content-length': String(DICOM.length),
  });
  response.end(DICOM);
}

async function failure(promise: Promise<unknown>): Promise<EtlError> {
  const error = await promise.then(
    () => new Error('expected the fetch to fail'),
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof EtlError)) throw error;
  return error;
}

/** Everything a user could see of an error: message, hint, subject, one line. */
function shown(error: EtlError): string {
  return `${error.oneLine()} ${error.message} ${error.hint ?? ''} ${error.subject ?? ''}`;
}

const target = (url: string) => ({ instanceId: '1.2.3', fileUrl: url });

describe('HTTP fetcher against a real node:http server', () => {
  it('downloads a body with Content-Length', async () => {
    const { origin } = await serve((_, response) => sendDicom(response));
    const bytes = await open().fetch(target(`${origin}/instances/1/file`));
    expect(Buffer.from(bytes).equals(Buffer.from(DICOM))).toBe(true);
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.buffer.byteLength).toBe(DICOM.length);
  });

  it('downloads a chunked body', async () => {
    const { origin } = await serve((_, response) => {
      response.writeHead(200, { 'content-type': 'application/dicom' });
      for (let at = 0; at < DICOM.length; at += 10_000) {
        response.write(DICOM.subarray(at, at + 10_000));
      }
      response.end();
    });
    const bytes = await open().fetch(target(`${origin}/x`));
    expect(Buffer.from(bytes).equals(Buffer.from(DICOM))).toBe(true);
  });

  it('maps 404 to FILE_MISSING', async () => {
    const { origin } = await serve((_, response) => response.writeHead(404).end('no such file'));
    const error = await failure(open().fetch(target(`${origin}/missing`)));
    expect(error.code).toBe('FILE_MISSING');
    expect(error.retryable).toBe(false);
    expect(error.subject).toBe('instance 1.2.3');
  });

  describe('authentication', () => {
    const basic = `Basic ${Buffer.from(`pacs:${SECRET}`).toString('base64')}`;
    const authServer = () =>
      serve((request, response) => {
        const given = request.headers.authorization;
        if (given === basic || given === `Bearer ${TOKEN}`) sendDicom(response);
        else response.writeHead(401, { 'www-authenticate': 'Basic realm="pacs"' }).end();
      });

    it('401 without credentials is permanent, with a hint about them', async () => {
      const { origin } = await authServer();
      const error = await failure(open().fetch(target(`${origin}/f`)));
      expect(error.code).toBe('FETCH_FAILED');
      expect(error.retryable).toBe(false);
      expect(error.message).toContain('401');
      expect(error.hint).toMatch(/PACS_HTTP_USER/);
    });

    it('sends Basic auth from configuration', async () => {
      const { origin } = await authServer();
      const bytes = await open({ auth: { user: 'pacs', password: SECRET } }).fetch(
        target(`${origin}/f`),
      );
      expect(bytes.length).toBe(DICOM.length);
    });

    it('sends Basic auth from the URL itself', async () => {
      const { origin } = await authServer();
      const url = origin.replace('http://', `http://pacs:${encodeURIComponent(SECRET)}@`);
      const bytes = await open().fetch(target(`${url}/f`));
      expect(bytes.length).toBe(DICOM.length);
    });

    it('sends a Bearer token', async () => {
      const { origin } = await authServer();
      const bytes = await open({ auth: { token: TOKEN } }).fetch(target(`${origin}/f`));
      expect(bytes.length).toBe(DICOM.length);
    });

    it('403 with wrong credentials is permanent', async () => {
      const { origin } = await serve((_, response) => response.writeHead(403).end());
      const error = await failure(
        open({ auth: { user: 'pacs', password: 'wrong' } }).fetch(target(`${origin}/f`)),
      );
      expect(error.code).toBe('FETCH_FAILED');
      expect(error.retryable).toBe(false);
    });
  });

  it('503 is retryable, and a retry after it succeeds', async () => {
    let failures = 2;
    const { origin } = await serve((_, response) => {
      if (failures-- > 0) response.writeHead(503).end('busy');
      else sendDicom(response);
    });
    const http = open();
    for (let i = 0; i < 2; i += 1) {
      const error = await failure(http.fetch(target(`${origin}/f`)));
      expect(error.code).toBe('FETCH_FAILED');
      expect(error.retryable).toBe(true);
      expect(error).not.toBeInstanceOf(RetryAfterError);
    }
    expect((await http.fetch(target(`${origin}/f`))).length).toBe(DICOM.length);
  });

  it('429 with Retry-After in seconds or as an HTTP date exposes the delay, capped', async () => {
    const answers = ['2', new Date(Date.now() + 5000).toUTCString(), '3600'];
    const { origin } = await serve((_, response) => {
      response.writeHead(429, { 'retry-after': answers.shift() ?? '1' }).end();
    });
    const http = open({ maxRetryAfterMs: 30_000 });
    const seconds = await failure(http.fetch(target(`${origin}/f`)));
    expect(seconds).toBeInstanceOf(RetryAfterError);
    expect(seconds.retryable).toBe(true);
    expect((seconds as RetryAfterError).retryAfterMs).toBe(2000);
    const date = (await failure(http.fetch(target(`${origin}/f`)))) as RetryAfterError;
    expect(date.retryAfterMs).toBeGreaterThan(2000);
    expect(date.retryAfterMs).toBeLessThanOrEqual(5000);
    const capped = (await failure(http.fetch(target(`${origin}/f`)))) as RetryAfterError;
    expect(capped.retryAfterMs).toBe(30_000);
  });

  it('other 4xx are permanent', async () => {
    const { origin } = await serve((_, response) => response.writeHead(400).end());
    const error = await failure(open().fetch(target(`${origin}/f`)));
    expect(error.code).toBe('FETCH_FAILED');
    expect(error.retryable).toBe(false);
  });

  it('a body cut short is a retryable failure, never a partial file', async () => {
    const { origin } = await serve((_, response) => {
      response.writeHead(200, { 'content-length': String(DICOM.length) });
      response.write(DICOM.subarray(0, 1000), () => response.socket?.destroy());
    });
    const error = await failure(open().fetch(target(`${origin}/f`)));
    expect(error.code).toBe('FETCH_FAILED');
    expect(error.retryable).toBe(true);
  });

  it('a connection reset is retryable', async () => {
    const { origin } = await serve((request) => request.socket.resetAndDestroy());
    const error = await failure(open().fetch(target(`${origin}/f`)));
    expect(error.code).toBe('FETCH_FAILED');
    expect(error.retryable).toBe(true);
  });

  it('a server slower than the read timeout fails retryably, without waiting for it', async () => {
    const { origin } = await serve((request, response) => {
      if (request.url === '/headers') setTimeout(() => sendDicom(response), 3000).unref();
      else {
        response.writeHead(200, { 'content-length': String(DICOM.length) });
        response.write(DICOM.subarray(0, 100));
      }
    });
    const http = open({ readTimeoutMs: 300 });
    for (const path of ['/headers', '/body']) {
      const started = performance.now();
      const error = await failure(http.fetch(target(`${origin}${path}`)));
      expect(error.code).toBe('FETCH_FAILED');
      expect(error.retryable).toBe(true);
      expect(error.message).toMatch(/timeout/);
      expect(performance.now() - started).toBeLessThan(2500);
    }
  });

  it('refuses a file above the size cap from its Content-Length, without reading it', async () => {
    let sent = 0;
    const { origin } = await serve((_, response) => {
      response.writeHead(200, { 'content-length': String(1024 * 1024 * 1024) });
      // Only the first megabyte is ever written; the fetcher must not wait for the rest.
      response.write(new Uint8Array(1024 * 1024), () => (sent += 1024 * 1024));
    });
    const error = await failure(open({ maxBytes: 64 * 1024 }).fetch(target(`${origin}/big`)));
    expect(error.code).toBe('FILE_TOO_LARGE');
    expect(error.retryable).toBe(false);
    expect(sent).toBeLessThanOrEqual(1024 * 1024);
  });

  it('stops a chunked body at the size cap', async () => {
    const { origin } = await serve((_, response) => {
      response.writeHead(200);
      const chunk = new Uint8Array(64 * 1024);
      const pump = () => {
        while (!response.destroyed && response.write(chunk));
        if (!response.destroyed) response.once('drain', pump);
      };
      response.on('error', () => undefined);
      pump();
    });
    const error = await failure(open({ maxBytes: 1024 * 1024 }).fetch(target(`${origin}/big`)));
    expect(error.code).toBe('FILE_TOO_LARGE');
  });

  it('never opens more connections per host than the bound, and reuses them', async () => {
    const srv = await serve((_, response) => {
      setTimeout(() => sendDicom(response), 30);
    });
    const http = open({ maxConnectionsPerHost: 4 });
    const all = await Promise.all(
      Array.from({ length: 20 }, (_, i) => http.fetch(target(`${srv.origin}/f${i}`))),
    );
    expect(all.every((bytes) => bytes.length === DICOM.length)).toBe(true);
    expect(srv.requests).toBe(20);
    expect(srv.maxOpenConnections).toBeLessThanOrEqual(4);
    expect(srv.connections).toBeLessThanOrEqual(4);
  });

  it('holds the rate limit across concurrent downloads', async () => {
    const { origin } = await serve((_, response) => sendDicom(response));
    const rate = 10;
    const count = 8;
    const http = open({ rateLimit: rate });
    const started = performance.now();
    await Promise.all(
      Array.from({ length: count }, (_, i) => http.fetch(target(`${origin}/${i}`))),
    );
    const elapsed = (performance.now() - started) / 1000;
    // (count - 1) / rate = 0.7 s at least; a generous margin for timers.
    expect(elapsed).toBeGreaterThanOrEqual(((count - 1) / rate) * 0.9);
  });

  it('never shows credentials in an error', async () => {
    const { origin } = await serve((request, response) => {
      if (request.url?.startsWith('/reset')) request.socket.destroy();
      else if (request.url?.startsWith('/gone')) response.writeHead(404).end();
      else if (request.url?.startsWith('/denied')) response.writeHead(401).end();
      else response.writeHead(500).end(`internal error for ${request.url}`);
    });
    const withUser = origin.replace('http://', `http://pacs:${SECRET}@`);
    const http = open({ auth: { token: TOKEN } });
    const errors = [];
    for (const path of ['/reset', '/gone', '/denied', '/boom']) {
      errors.push(await failure(http.fetch(target(`${withUser}${path}?token=${TOKEN}`))));
      errors.push(await failure(http.fetch(target(`${origin}${path}?api_key=${TOKEN}`))));
    }
    errors.push(await failure(http.fetch(target(`http://pacs:${SECRET}@[bad/f`))));
    for (const error of errors) {
      expect(shown(error)).not.toContain(SECRET);
      expect(shown(error)).not.toContain(TOKEN);
    }
    expect(errors.map((error) => error.message).join('\n')).toContain('/gone');
  });
});

describe('eden-etl run with http:// file URLs', () => {
  it('delivers every instance from a PACS web server that needs auth and answers 503 at first', async () => {
    const { dir, cleanup } = await tempDir('http-run');
    try {
      const demo = await runCli(['demo', '--studies', '1', '--dest', './demo-out'], dir, {
        PATH: process.env.PATH ?? '',
        EDEN_PROGRESS: 'lines',
      });
      expect(demo.code).toBe(0);

      // Serve the sample PACS files at /instances/{id}/file, behind Basic auth, each
      // answering 503 on its first request (the pipeline's retry must bring it in).
      const pacsDb = join(dir, '.eden/sample-pacs/db');
      const db = await openPglite(pacsDb, 'the sample PACS');
      const { rows } = await db.query<{ id: string; file_url: string }>(
        'SELECT id::text AS id, file_url FROM pacs_instances',
      );
      const files = new Map(rows.map((row) => [row.id, fileURLToPath(row.file_url)]));
      const seen = new Set<string>();
      const basic = `Basic ${Buffer.from(`pacs:${SECRET}`).toString('base64')}`;
      const { origin } = await serve((request, response) => {
        const id = /^\/instances\/(\d+)\/file$/.exec(request.url ?? '')?.[1];
        const path = id === undefined ? undefined : files.get(id);
        if (request.headers.authorization !== basic) response.writeHead(401).end();
        else if (path === undefined) response.writeHead(404).end();
        else if (!seen.has(path)) {
          seen.add(path);
          response.writeHead(503).end();
        } else {
          readFile(path).then(
            (bytes) => {
              response.writeHead(200, { 'content-length': String(bytes.length) });
              response.end(bytes);
            },
            () => response.writeHead(500).end(),
          );
        }
      });
      await db.query(`UPDATE pacs_instances SET file_url = $1 || '/instances/' || id || '/file'`, [
        origin,
      ]);
      await db.close();

      const run = await runCli(
        ['run', '--source', `pglite:${pacsDb}`, '--dest', './http-out', '--studies', '1'],
        dir,
        {
          PATH: process.env.PATH ?? '',
          EDEN_PROGRESS: 'lines',
          PACS_HTTP_USER: 'pacs',
          PACS_HTTP_PASSWORD: SECRET,
          EDEN_MAX_PACS_CONNECTIONS: '2',
        },
      );
      expect(run.stderr).not.toMatch(/ERROR|FATAL/);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/Failed: 0/);
      expect(`${run.stdout}${run.stderr}`).not.toContain(SECRET);

      const dataset = join(dir, 'http-out/eden-dataset-vlms/sample-test');
      const csv = csvObjects(
        await readFile(join(dataset, 'dicom-reports-extracted-sample.csv'), 'utf8'),
      );
      expect(csv.length).toBeGreaterThan(0);
      // Every delivered file was refused once with 503 first.
      expect(seen.size).toBe(csv.length);
      // Quality-gate cases of the sample PACS are fetched too, then excluded: nothing stored.
      for (const row of csv.filter((candidate) => candidate.status === 'delivered')) {
        expect(row.downloaded).toBe('True');
        expect(row.file_url).toMatch(new RegExp(`^${origin}/instances/\\d+/file$`));
        const id = /(\d+)\/file$/.exec(row.file_url as string)?.[1] as string;
        const delivered = await readFile(join(dataset, `dicom-files/${row.instance_id}.dcm`));
        expect(delivered.equals(await readFile(files.get(id) as string))).toBe(true);
      }
    } finally {
      await cleanup();
    }
  }, 180_000);
});
