import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32cBase64, crc32cUpdate } from './crc32c.js';
import { Failures } from './faults.js';
import { ObjectStore, type BucketRecord, type ObjectRecord } from './store.js';

export interface GcsEmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Persist buckets and objects under this directory; in memory when absent. */
  dir?: string;
  host?: string;
}

export interface GcsEmulator {
  /** Pass as `apiEndpoint` to `new Storage(...)`. */
  url: string;
  port: number;
  failures: Failures;
  /** Every request received, in order (method, path and query, Content-Range). */
  requests: RequestRecord[];
  close(): Promise<void>;
}

interface RequestRecord {
  method: string;
  path: string;
  contentRange?: string;
}

interface Session {
  bucket: string;
  name: string;
  contentType: string;
  metadata?: Record<string, string>;
  query: URLSearchParams;
  chunks: Buffer[];
  received: number;
  total?: number;
  result?: ObjectRecord;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const notFound = (what: string): HttpError => new HttpError(404, 'notFound', what);

/** The reason and message GCS sends with each injected status (JSON API error format). */
const FAULT_ERRORS: Record<503 | 429 | 401 | 403, [reason: string, message: string]> = {
  503: ['backendError', 'Backend Error'],
  429: ['rateLimitExceeded', 'The rate of requests is too high.'],
  401: ['authError', 'Invalid Credentials'],
  403: [
    'forbidden',
    'eden-test@project.iam.gserviceaccount.com does not have storage.objects.create access to the Google Cloud Storage object. Permission denied.',
  ],
};

/**
 * A small GCS JSON API emulator: the subset `@google-cloud/storage` uses for buckets and
 * objects (media, multipart and resumable uploads, download with ranges, list, delete,
 * generation preconditions, MD5/CRC32C), plus fault injection via `failures`.
 */
export async function startGcsEmulator(options: GcsEmulatorOptions = {}): Promise<GcsEmulator> {
  const store = new ObjectStore(options.dir);
  const failures = new Failures();
  const sessions = new Map<string, Session>();
  const requests: RequestRecord[] = [];
  const host = options.host ?? '127.0.0.1';

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent || req.socket.destroyed) return;
      if (err instanceof HttpError) sendError(res, err.status, err.reason, err.message);
      else sendError(res, 500, 'internalError', err instanceof Error ? err.message : String(err));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? host}`);
    const method = req.method ?? 'GET';
    const contentRange = req.headers['content-range'];
    requests.push({ method, path: req.url ?? '/', ...(contentRange ? { contentRange } : {}) });
    const fault = failures.takeStatus(req);
    if (fault) {
      req.resume(); // drain the body so the client sees the response, not a broken pipe
      if (fault.retryAfterSeconds !== undefined) {
        res.setHeader('Retry-After', String(fault.retryAfterSeconds));
      }
      sendError(res, fault.status, ...FAULT_ERRORS[fault.status]);
      return;
    }
    // With STORAGE_EMULATOR_HOST the client leaves out the /storage/v1 base path: accept both.
    url.pathname = url.pathname.replace(/^(\/upload|\/download)?\/b(\/|$)/, '$1/storage/v1/b$2');
    const path = url.pathname.replace(/\/+$/, '');
    const q = url.searchParams;
    let m: RegExpMatchArray | null;

    if ((m = path.match(/^\/upload\/storage\/v1\/b\/([^/]+)\/o$/))) {
      const bucket = getBucket(decodeURIComponent(m[1]!));
      const uploadType = q.get('uploadType') ?? 'media';
      if (method === 'PUT' && q.has('upload_id')) return resumableChunk(req, res, q);
      if (method !== 'POST') throw new HttpError(405, 'methodNotAllowed', `${method} not allowed`);
      if (uploadType === 'media') return mediaUpload(req, res, bucket, q);
      if (uploadType === 'multipart') return multipartUpload(req, res, bucket, q);
      if (uploadType === 'resumable') return startResumable(req, res, bucket, q, url);
      throw new HttpError(400, 'invalid', `Unknown uploadType ${uploadType}`);
    }
    if (path === '/storage/v1/b') {
      if (method !== 'POST') throw new HttpError(405, 'methodNotAllowed', `${method} not allowed`);
      const body = JSON.parse((await readBody(req)).toString('utf8') || '{}') as { name?: string };
      if (!body.name) throw new HttpError(400, 'required', 'Required: bucket name');
      if (store.buckets.has(body.name)) {
        throw new HttpError(
          409,
          'conflict',
          'Your previous request to create the named bucket succeeded and you already own it.',
        );
      }
      return sendJson(res, 200, bucketResource(store.createBucket(body.name)));
    }
    if ((m = path.match(/^\/storage\/v1\/b\/([^/]+)$/))) {
      const bucket = getBucket(decodeURIComponent(m[1]!));
      if (method === 'GET') return sendJson(res, 200, bucketResource(bucket));
      throw new HttpError(405, 'methodNotAllowed', `${method} not allowed`);
    }
    if ((m = path.match(/^\/storage\/v1\/b\/([^/]+)\/o$/))) {
      const bucket = getBucket(decodeURIComponent(m[1]!));
      if (method === 'GET') return sendJson(res, 200, list(bucket, q));
      throw new HttpError(405, 'methodNotAllowed', `${method} not allowed`);
    }
    if ((m = url.pathname.match(/^\/(?:download\/)?storage\/v1\/b\/([^/]+)\/o\/(.+)$/))) {
      const bucket = getBucket(decodeURIComponent(m[1]!));
      const name = decodeURIComponent(m[2]!);
      const record = getObject(bucket, name, q);
      if (method === 'GET' && q.get('alt') === 'media') return download(req, res, record);
      if (method === 'GET') return sendJson(res, 200, objectResource(record, url));
      if (method === 'DELETE') {
        store.delete(bucket, name);
        res.writeHead(204).end();
        return;
      }
      throw new HttpError(405, 'methodNotAllowed', `${method} not allowed`);
    }
    throw notFound(`Not Found: ${method} ${url.pathname}`);
  }

  function getBucket(name: string): BucketRecord {
    const bucket = store.buckets.get(name);
    if (!bucket) throw notFound('The specified bucket does not exist.');
    return bucket;
  }

  function getObject(bucket: BucketRecord, name: string, q: URLSearchParams): ObjectRecord {
    const record = bucket.objects.get(name);
    const generation = q.get('generation');
    if (!record || (generation && Number(generation) !== record.generation)) {
      throw notFound(`No such object: ${bucket.name}/${name}`);
    }
    checkPreconditions(record, q);
    return record;
  }

  function checkPreconditions(record: ObjectRecord | undefined, q: URLSearchParams): void {
    const failed = (): never => {
      throw new HttpError(
        412,
        'conditionNotMet',
        'At least one of the pre-conditions you specified did not hold.',
      );
    };
    const generation = record?.generation ?? 0;
    const ifMatch = q.get('ifGenerationMatch');
    if (ifMatch !== null && Number(ifMatch) !== generation) failed();
    const ifNotMatch = q.get('ifGenerationNotMatch');
    if (ifNotMatch !== null && Number(ifNotMatch) === generation) failed();
    const ifMetaMatch = q.get('ifMetagenerationMatch');
    if (ifMetaMatch !== null && Number(ifMetaMatch) !== (record?.metageneration ?? 0)) failed();
  }

  /** Validates hashes the client sent (`x-goog-hash` or multipart metadata) against the body. */
  function checkClientHashes(body: Buffer, md5?: string, crc?: string): void {
    if (md5) {
      const actual = createHash('md5').update(body).digest('base64');
      if (md5 !== actual) {
        throw new HttpError(
          400,
          'invalid',
          `Provided MD5 hash "${md5}" doesn't match calculated MD5 hash "${actual}".`,
        );
      }
    }
    if (crc) {
      const actual = crc32cBase64(crc32cUpdate(0, body));
      if (crc !== actual) {
        throw new HttpError(
          400,
          'invalid',
          `Provided CRC32C "${crc}" doesn't match calculated CRC32C "${actual}".`,
        );
      }
    }
  }

  function write(
    bucket: BucketRecord,
    name: string,
    body: Buffer,
    q: URLSearchParams,
    meta: { contentType: string; metadata?: Record<string, string> },
    hashes: { md5?: string; crc32c?: string },
  ): ObjectRecord {
    if (!name) throw new HttpError(400, 'required', 'Required: object name');
    checkPreconditions(bucket.objects.get(name), q);
    checkClientHashes(body, hashes.md5, hashes.crc32c);
    return store.put(bucket, name, body, meta);
  }

  async function mediaUpload(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: BucketRecord,
    q: URLSearchParams,
  ): Promise<void> {
    const body = await readBody(req);
    const record = write(
      bucket,
      q.get('name') ?? '',
      body,
      q,
      { contentType: req.headers['content-type'] ?? 'application/octet-stream' },
      parseGoogHash(req.headers['x-goog-hash']),
    );
    sendJson(res, 200, objectResource(record, requestUrl(req)));
  }

  async function multipartUpload(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: BucketRecord,
    q: URLSearchParams,
  ): Promise<void> {
    const boundary = /boundary="?([^";]+)"?/i.exec(req.headers['content-type'] ?? '')?.[1];
    if (!boundary) throw new HttpError(400, 'invalid', 'multipart upload without a boundary');
    const parts = parseMultipart(await readBody(req), boundary);
    const [metaPart, dataPart] = parts;
    if (!metaPart || !dataPart) throw new HttpError(400, 'invalid', 'multipart needs two parts');
    const meta = JSON.parse(metaPart.body.toString('utf8') || '{}') as {
      name?: string;
      contentType?: string;
      md5Hash?: string;
      crc32c?: string;
      metadata?: Record<string, string>;
    };
    const headerHashes = parseGoogHash(req.headers['x-goog-hash']);
    const record = write(
      bucket,
      meta.name ?? q.get('name') ?? '',
      dataPart.body,
      q,
      {
        contentType:
          meta.contentType ?? dataPart.headers['content-type'] ?? 'application/octet-stream',
        ...(meta.metadata ? { metadata: meta.metadata } : {}),
      },
      {
        md5: meta.md5Hash ?? headerHashes.md5,
        crc32c: meta.crc32c ?? headerHashes.crc32c,
      },
    );
    sendJson(res, 200, objectResource(record, requestUrl(req)));
  }

  async function startResumable(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: BucketRecord,
    q: URLSearchParams,
    url: URL,
  ): Promise<void> {
    const text = (await readBody(req)).toString('utf8');
    const meta = (text ? JSON.parse(text) : {}) as {
      name?: string;
      contentType?: string;
      metadata?: Record<string, string>;
    };
    const name = q.get('name') ?? meta.name ?? '';
    if (!name) throw new HttpError(400, 'required', 'Required: object name');
    checkPreconditions(bucket.objects.get(name), q);
    const id = randomUUID();
    const total = req.headers['x-upload-content-length'];
    sessions.set(id, {
      bucket: bucket.name,
      name,
      contentType:
        (req.headers['x-upload-content-type'] as string | undefined) ??
        meta.contentType ??
        'application/octet-stream',
      ...(meta.metadata ? { metadata: meta.metadata } : {}),
      query: new URLSearchParams(q),
      chunks: [],
      received: 0,
      ...(total !== undefined ? { total: Number(total) } : {}),
    });
    const location = new URL(url.pathname, url.origin);
    location.searchParams.set('uploadType', 'resumable');
    location.searchParams.set('name', name);
    location.searchParams.set('upload_id', id);
    res.setHeader('Location', location.toString());
    res.writeHead(200, { 'Content-Length': '0' }).end();
  }

  async function resumableChunk(
    req: IncomingMessage,
    res: ServerResponse,
    q: URLSearchParams,
  ): Promise<void> {
    const session = sessions.get(q.get('upload_id') ?? '');
    if (!session) throw notFound('No such upload session.');
    const range = req.headers['content-range'] ?? '';
    const status = /^bytes \*\/(\*|\d+)$/.exec(range);
    if (status) {
      await readBody(req);
      if (status[1] !== '*') session.total = Number(status[1]);
      return answerSession(req, res, session);
    }
    // `bytes a-b/T` is one chunk of a chunked upload; `bytes a-*/T` (or no header) streams the rest.
    const chunk = /^bytes (\d+)-(\d+|\*)\/(\*|\d+)$/.exec(range);
    if (!chunk && range) throw new HttpError(400, 'invalid', `Bad Content-Range: ${range}`);
    const start = chunk ? Number(chunk[1]) : 0;
    const streamsRest = !chunk || chunk[2] === '*';
    const totalText = chunk?.[3];
    if (session.result) {
      await readBody(req);
      return sendJson(res, 200, objectResource(session.result, requestUrl(req)));
    }
    if (start > session.received) {
      await readBody(req);
      throw new HttpError(
        400,
        'invalid',
        `Content-Range starts at ${start} but only ${session.received} bytes were persisted`,
      );
    }
    const reset = failures.takeReset(req);
    let skip = session.received - start; // bytes the client re-sends that we already have
    const keep = (buf: Buffer): void => {
      if (skip >= buf.length) {
        skip -= buf.length;
        return;
      }
      const part = buf.subarray(skip);
      skip = 0;
      session.chunks.push(Buffer.from(part));
      session.received += part.length;
    };
    const cut = await new Promise<boolean>((resolve, reject) => {
      let read = 0;
      const onData = (buf: Buffer): void => {
        if (reset && read + buf.length >= reset.afterBytes) {
          keep(buf.subarray(0, reset.afterBytes - read));
          req.off('data', onData);
          req.socket.destroy();
          resolve(true);
          return;
        }
        read += buf.length;
        keep(buf);
      };
      req.on('data', onData);
      req.on('end', () => resolve(false));
      req.on('error', reject);
    });
    if (cut) return;
    if (totalText && totalText !== '*') session.total = Number(totalText);
    else if (streamsRest) session.total = session.received;
    answerSession(req, res, session);
  }

  /** 308 with `Range` while incomplete; 200 with the object once all bytes are in. */
  function answerSession(req: IncomingMessage, res: ServerResponse, session: Session): void {
    if (!session.result && session.total !== undefined && session.received >= session.total) {
      const bucket = getBucket(session.bucket);
      const body = Buffer.concat(session.chunks).subarray(0, session.total);
      session.result = write(
        bucket,
        session.name,
        body,
        session.query,
        {
          contentType: session.contentType,
          ...(session.metadata ? { metadata: session.metadata } : {}),
        },
        parseGoogHash(req.headers['x-goog-hash']),
      );
      session.chunks = [];
    }
    if (session.result) return sendJson(res, 200, objectResource(session.result, requestUrl(req)));
    if (session.received > 0) res.setHeader('Range', `bytes=0-${session.received - 1}`);
    res.writeHead(308, { 'Content-Length': '0' }).end();
  }

  function download(req: IncomingMessage, res: ServerResponse, record: ObjectRecord): void {
    const body = store.read(record);
    const headers: Record<string, string> = {
      'Content-Type': record.contentType,
      'x-goog-generation': String(record.generation),
      'x-goog-metageneration': String(record.metageneration),
      'x-goog-stored-content-length': String(record.size),
      'x-goog-hash': `crc32c=${record.crc32c},md5=${record.md5Hash}`,
      'Accept-Ranges': 'bytes',
    };
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    if (range && (range[1] || range[2])) {
      let start: number;
      let end: number;
      if (range[1] === '') {
        start = Math.max(0, body.length - Number(range[2]));
        end = body.length - 1;
      } else {
        start = Number(range[1]);
        end = range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
      }
      if (start >= body.length || start > end) {
        res.setHeader('Content-Range', `bytes */${body.length}`);
        sendError(
          res,
          416,
          'requestedRangeNotSatisfiable',
          'The requested range cannot be satisfied.',
        );
        return;
      }
      res.writeHead(206, {
        ...headers,
        'Content-Range': `bytes ${start}-${end}/${body.length}`,
        'Content-Length': String(end - start + 1),
      });
      res.end(body.subarray(start, end + 1));
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Length': String(body.length) });
    res.end(body);
  }

  function list(bucket: BucketRecord, q: URLSearchParams): Record<string, unknown> {
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const maxResults = Math.max(1, Math.min(Number(q.get('maxResults') ?? 1000) || 1000, 1000));
    const token = q.get('pageToken');
    const after = token ? Buffer.from(token, 'base64url').toString('utf8') : undefined;
    const entries = new Map<string, ObjectRecord | null>(); // null = a prefix
    for (const name of [...bucket.objects.keys()].sort()) {
      if (!name.startsWith(prefix)) continue;
      const cut = delimiter ? name.indexOf(delimiter, prefix.length) : -1;
      if (cut >= 0) entries.set(name.slice(0, cut + delimiter.length), null);
      else entries.set(name, bucket.objects.get(name)!);
    }
    const keys = [...entries.keys()].sort().filter((k) => after === undefined || k > after);
    const page = keys.slice(0, maxResults);
    const items = page.filter((k) => entries.get(k)).map((k) => objectResource(entries.get(k)!));
    const prefixes = page.filter((k) => entries.get(k) === null);
    return {
      kind: 'storage#objects',
      ...(items.length ? { items } : {}),
      ...(prefixes.length ? { prefixes } : {}),
      ...(keys.length > maxResults
        ? { nextPageToken: Buffer.from(page[page.length - 1]!).toString('base64url') }
        : {}),
    };
  }

  function bucketResource(bucket: BucketRecord): Record<string, unknown> {
    return {
      kind: 'storage#bucket',
      id: bucket.name,
      name: bucket.name,
      projectNumber: '0',
      metageneration: '1',
      location: 'US',
      storageClass: 'STANDARD',
      etag: 'CAE=',
      timeCreated: bucket.timeCreated,
      updated: bucket.timeCreated,
    };
  }

  function objectResource(record: ObjectRecord, base?: URL): Record<string, unknown> {
    const origin = base?.origin ?? `http://${host}:${port}`;
    const path = `b/${encodeURIComponent(record.bucket)}/o/${encodeURIComponent(record.name)}`;
    return {
      kind: 'storage#object',
      id: `${record.bucket}/${record.name}/${record.generation}`,
      selfLink: `${origin}/storage/v1/${path}`,
      mediaLink: `${origin}/download/storage/v1/${path}?generation=${record.generation}&alt=media`,
      name: record.name,
      bucket: record.bucket,
      generation: String(record.generation),
      metageneration: String(record.metageneration),
      contentType: record.contentType,
      storageClass: 'STANDARD',
      size: String(record.size),
      md5Hash: record.md5Hash,
      crc32c: record.crc32c,
      etag: Buffer.from(String(record.generation)).toString('base64'),
      timeCreated: record.timeCreated,
      updated: record.updated,
      ...(record.metadata ? { metadata: record.metadata } : {}),
    };
  }

  function requestUrl(req: IncomingMessage): URL {
    return new URL(req.url ?? '/', `http://${req.headers.host ?? host}`);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    failures,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=UTF-8',
    'Content-Length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

/** GCS's JSON error shape. */
function sendError(res: ServerResponse, status: number, reason: string, message: string): void {
  sendJson(res, status, {
    error: { code: status, message, errors: [{ message, domain: 'global', reason }] },
  });
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parseGoogHash(header: string | string[] | undefined): { md5?: string; crc32c?: string } {
  const out: { md5?: string; crc32c?: string } = {};
  const values = Array.isArray(header) ? header : header ? [header] : [];
  for (const item of values.flatMap((v) => v.split(','))) {
    const eq = item.indexOf('=');
    const key = item.slice(0, eq).trim().toLowerCase();
    const value = item.slice(eq + 1).trim();
    if (key === 'md5') out.md5 = value;
    if (key === 'crc32c') out.crc32c = value;
  }
  return out;
}

interface Part {
  headers: Record<string, string>;
  body: Buffer;
}

/** Splits a multipart/related body (RFC 2046) into its parts, binary-safe. */
function parseMultipart(body: Buffer, boundary: string): Part[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Part[] = [];
  let pos = body.indexOf(delimiter);
  while (pos >= 0) {
    let start = pos + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    if (body[start] === 0x0d && body[start + 1] === 0x0a) start += 2;
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    let end = next;
    if (body[end - 2] === 0x0d && body[end - 1] === 0x0a) end -= 2;
    const part = body.subarray(start, end);
    const headerEnd = part.indexOf('\r\n\r\n');
    const headers: Record<string, string> = {};
    const head = headerEnd >= 0 ? part.subarray(0, headerEnd).toString('utf8') : '';
    for (const line of head.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0)
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    parts.push({ headers, body: headerEnd >= 0 ? part.subarray(headerEnd + 4) : part });
    pos = next;
  }
  return parts;
}
