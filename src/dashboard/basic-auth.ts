import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { EtlError } from '../domain/errors.js';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost', '[::1]']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.toLowerCase());
}

/**
 * The dashboard shows what a PACS holds (report text, images): without a password it may
 * only listen where nobody else can reach it.
 */
export function checkExposure(host: string, password: string | undefined): void {
  if (password !== undefined || isLoopbackHost(host)) return;
  throw new EtlError(
    'CONFIG_INVALID',
    `the dashboard would listen on ${host} without a password, open to anyone who can reach it`,
    {
      subject: host,
      hint: 'set DASHBOARD_PASSWORD (and DASHBOARD_USER), or listen on localhost only with --host 127.0.0.1',
    },
  );
}

// Digests have one length whatever the input, so the comparison takes the same time for a
// wrong password of any length, and timingSafeEqual never sees unequal lengths.
function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function credentialsOf(header: string | undefined): { user: string; password: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (match?.[1] === undefined) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** HTTP Basic auth against one user and password; `password` undefined lets everyone in. */
export function basicAuth(user: string, password: string | undefined): RequestHandler {
  if (password === undefined) return (_request, _response, next) => next();
  const expectedUser = digest(user);
  const expectedPassword = digest(password);
  return (request, response, next) => {
    const given = credentialsOf(request.headers.authorization);
    // Both comparisons always run, so the time taken does not tell which part was wrong.
    const userOk = timingSafeEqual(digest(given?.user ?? ''), expectedUser);
    const passwordOk = timingSafeEqual(digest(given?.password ?? ''), expectedPassword);
    if (given !== null && userOk && passwordOk) {
      next();
      return;
    }
    response
      .status(401)
      .set('WWW-Authenticate', 'Basic realm="eden-etl dashboard", charset="UTF-8"')
      .type('text/plain')
      .send('401 Unauthorized: log in with DASHBOARD_USER and DASHBOARD_PASSWORD\n');
  };
}
