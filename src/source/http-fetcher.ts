import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import { EtlError, RetryAfterError } from '../domain/errors.js';
import { redactUrl } from '../domain/redact.js';

/** Credentials sent to the PACS web server; a URL's own user:password wins over these. */
export type HttpAuth = { user: string; password: string } | { token: string };

export interface HttpFetcherOptions {
  /** Largest file accepted, in bytes: checked against Content-Length and while streaming. */
  maxBytes: number;
  /** Open connections per host (origin), at most. */
  maxConnectionsPerHost: number;
  /** Requests per second for the whole process, all hosts together; undefined = no limit. */
  rateLimit?: number | undefined;
  /**
   * Waits for the next request slot of a limit shared with other processes (workers on
   * several machines); replaces `rateLimit` when given.
   */
  takeSlot?: (() => Promise<void>) | undefined;
  connectTimeoutMs: number;
  /** Longest wait for the response headers, and between two pieces of the body. */
  readTimeoutMs: number;
  auth?: HttpAuth | undefined;
  /** Longest `Retry-After` honoured; a server asking for more gets this. */
  maxRetryAfterMs?: number;
}

const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;

/** Network failures worth another try: the server or the path to it may recover. */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);

const NETWORK_WHY: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved (DNS)',
  UND_ERR_CONNECT_TIMEOUT: 'connect timeout',
  UND_ERR_HEADERS_TIMEOUT: 'read timeout waiting for the response headers',
  UND_ERR_BODY_TIMEOUT: 'read timeout while receiving the body',
  UND_ERR_SOCKET: 'the connection closed early',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'the body does not match its Content-Length',
};

/**
 * One request per `1/rate` seconds across every download of the process (a token bucket of
 * depth one): callers are given successive slots, and wait for theirs.
 */
function createRateLimiter(rate: number | undefined): () => Promise<void> {
  if (rate === undefined) return () => Promise.resolve();
  const interval = 1000 / rate;
  let next = 0;
  return async () => {
    const now = performance.now();
    const slot = Math.max(now, next);
    next = slot + interval;
    if (slot > now) await sleep(slot - now);
  };
}

/** `Retry-After` as delta-seconds or an HTTP date, in ms from now; undefined if absent or unreadable. */
function parseRetryAfter(value: string | undefined, capMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = Math.max(0, at - Date.now());
  }
  return Math.min(ms, capMs);
}

function header(headers: Record<string, string | string[] | undefined>, name: string) {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The URL without its userinfo, and the Authorization header to send. */
function prepare(
  fileUrl: string,
  auth: HttpAuth | undefined,
): { url: URL; authorization?: string } {
  const url = new URL(fileUrl);
  if (url.username !== '' || url.password !== '') {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    url.username = '';
    url.password = '';
    return {
      url,
      authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
    };
  }
  if (auth === undefined) return { url };
  if ('token' in auth) return { url, authorization: `Bearer ${auth.token}` };
  const basic = Buffer.from(`${auth.user}:${auth.password}`).toString('base64');
  return { url, authorization: `Basic ${basic}` };
}

export interface HttpFetcher {
  fetch(target: { instanceId: string; fileUrl: string }): Promise<Uint8Array>;
  /** Closes the keep-alive connections; waits for requests in flight. */
  close(): Promise<void>;
}

/**
 * Downloads `http(s)://` file URLs through one keep-alive pool: a bounded number of
 * connections per host, an optional process-wide rate limit, connect and read timeouts.
 * Transient failures (5xx, 429, resets, timeouts, truncated bodies) are retryable
 * FETCH_FAILED errors; the pipeline's retry loop does the backoff. Credentials never appear
 * in messages: URLs are shown through redactUrl.
 */
export function createHttpFetcher(options: HttpFetcherOptions): HttpFetcher {
  const agent = new Agent({
    connections: options.maxConnectionsPerHost,
    pipelining: 1,
    connect: { timeout: options.connectTimeoutMs },
    headersTimeout: options.readTimeoutMs,
    bodyTimeout: options.readTimeoutMs,
  });
  const takeSlot = options.takeSlot ?? createRateLimiter(options.rateLimit);
  const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;

  async function download(instanceId: string, fileUrl: string): Promise<Uint8Array> {
    const subject = `instance ${instanceId}`;
    const shown = redactUrl(fileUrl);
    let prepared: ReturnType<typeof prepare>;
    try {
      prepared = prepare(fileUrl, options.auth);
    } catch {
      // new URL() rejected it; its message would repeat the URL with any credentials in it.
      throw new EtlError('FETCH_FAILED', `file_url is not a valid URL: ${shown}`, {
        subject,
        retryable: false,
      });
    }
    const { url, authorization } = prepared;
    await takeSlot();
    let response: Awaited<ReturnType<Agent['request']>>;
    try {
      response = await agent.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers: {
          accept: 'application/dicom, application/octet-stream;q=0.9, */*;q=0.1',
          ...(authorization === undefined ? {} : { authorization }),
        },
      });
    } catch (error) {
      throw networkError(error, shown, subject);
    }
    const { statusCode, headers, body } = response;
    if (statusCode < 200 || statusCode >= 300) {
      // Read a little of the error body so the connection can be reused; failures here do not
      // matter, the status is what we report.
      await body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      throw statusError(
        statusCode,
        header(headers, 'retry-after'),
        shown,
        subject,
        maxRetryAfterMs,
      );
    }

    const declared = header(headers, 'content-length');
    const length = declared === undefined ? undefined : Number(declared);
    if (length !== undefined && length > options.maxBytes) {
      body.destroy();
      throw tooLarge(`${shown} declares ${length} bytes`, options.maxBytes, subject);
    }
    try {
      if (length !== undefined && Number.isSafeInteger(length)) {
        // One allocation of the exact size, owned whole: it can move to a render thread as is.
        const bytes = new Uint8Array(length);
        let offset = 0;
        for await (const chunk of body as AsyncIterable<Buffer>) {
          if (offset + chunk.length > length) {
            body.destroy();
            throw truncated(`${shown} sent more than its Content-Length of ${length}`, subject);
          }
          bytes.set(chunk, offset);
          offset += chunk.length;
        }
        if (offset !== length) {
          throw truncated(`${shown} ended after ${offset} of ${length} bytes`, subject);
        }
        return bytes;
      }
      const chunks: Buffer[] = [];
      let total = 0;
      for await (const chunk of body as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > options.maxBytes) {
          body.destroy();
          throw tooLarge(`${shown} sent more than that`, options.maxBytes, subject);
        }
        chunks.push(chunk);
      }
      const bytes = new Uint8Array(total);
      let offset = 0;
      for (const chunk of chunks) {
        bytes.set(chunk, offset);
        offset += chunk.length;
      }
      return bytes;
    } catch (error) {
      if (error instanceof EtlError) throw error;
      throw networkError(error, shown, subject);
    }
  }

  return {
    fetch: (target) => download(target.instanceId, target.fileUrl),
    close: () => agent.close(),
  };
}

function tooLarge(what: string, maxBytes: number, subject: string): EtlError {
  return new EtlError('FILE_TOO_LARGE', `${what}, above the cap of ${maxBytes}`, {
    subject,
    hint: 'raise --max-file-bytes if the machine has the memory',
  });
}

function truncated(message: string, subject: string): EtlError {
  return new EtlError('FETCH_FAILED', `truncated download: ${message}`, {
    subject,
    retryable: true,
  });
}

function statusError(
  status: number,
  retryAfter: string | undefined,
  shown: string,
  subject: string,
  capMs: number,
): EtlError {
  const message = `${shown} answered HTTP ${status}`;
  if (status === 404 || status === 410) {
    return new EtlError('FILE_MISSING', message, {
      subject,
      hint: 'the PACS record points at a file the server does not have',
    });
  }
  if (status === 401 || status === 403) {
    return new EtlError('FETCH_FAILED', message, {
      subject,
      retryable: false,
      hint: 'check PACS_HTTP_USER/PACS_HTTP_PASSWORD or PACS_HTTP_TOKEN (or the credentials in the file_url)',
    });
  }
  if (status === 429 || status >= 500) {
    const delay = parseRetryAfter(retryAfter, capMs);
    if (delay !== undefined) {
      return new RetryAfterError(
        `${message}, retry after ${Math.ceil(delay / 1000)} s`,
        delay,
        subject,
      );
    }
    return new EtlError('FETCH_FAILED', message, { subject, retryable: true });
  }
  return new EtlError('FETCH_FAILED', message, {
    subject,
    retryable: false,
    hint: 'the server refused the request; check the file_url values the query returns',
  });
}

function networkError(error: unknown, shown: string, subject: string): EtlError {
  const code = (error as { code?: string }).code ?? '';
  const why = NETWORK_WHY[code] ?? redactUrl((error as Error).message ?? String(error));
  return new EtlError('FETCH_FAILED', `cannot download ${shown}: ${why}`, {
    subject,
    retryable: TRANSIENT_NETWORK_CODES.has(code),
    ...(code === 'ENOTFOUND' ? { hint: 'check the host name in the file_url values' } : {}),
    cause: error,
  });
}
