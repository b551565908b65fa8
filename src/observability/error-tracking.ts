import type { ErrorEvent } from '@sentry/node';
import { ERROR_CODES, isEtlError } from '../domain/errors.js';
import { redactUrl } from '../domain/redact.js';

/**
 * Optional error tracking with Sentry (SENTRY_DSN). Nothing is loaded or sent without a DSN.
 * Events carry no personal data: no user, no request headers or cookies, no local variables,
 * and every URL in them passes through redactUrl; fields named like secrets are dropped.
 */

type SentryModule = typeof import('@sentry/node');

let settings: { dsn: string; release: string } | null = null;
let client: Promise<SentryModule> | null = null;
const inFlight = new Set<Promise<unknown>>();

const SECRET_FIELD = /pass|secret|token|authorization|cookie|credential|api[-_]?key|dsn/i;
const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/[^\s'"<>()]+/gi;
const REDACTED = '[redacted]';

function scrubText(text: string): string {
  return text.replace(URL_IN_TEXT, (url) => redactUrl(url));
}

function scrubValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, depth + 1));
  const scrubbed: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    scrubbed[key] = SECRET_FIELD.test(key) ? REDACTED : scrubValue(item, depth + 1);
  }
  return scrubbed;
}

/** The event as it may leave the machine: credentials out of URLs, no personal data. */
export function scrubEvent(event: ErrorEvent): ErrorEvent {
  const { request, ...rest } = event;
  const scrubbed = scrubValue(rest, 0) as ErrorEvent;
  delete scrubbed.user;
  if (request !== undefined) {
    scrubbed.request = {
      ...(request.method === undefined ? {} : { method: request.method }),
      ...(request.url === undefined ? {} : { url: redactUrl(request.url) }),
    };
  }
  return scrubbed;
}

/**
 * Turns error tracking on when a DSN is configured; returns whether it did. The SDK itself is
 * loaded with the first error, so a run that fails nothing does not pay for loading it.
 */
export function initErrorTracking(dsn: string | undefined, release: string): boolean {
  if (dsn === undefined) return false;
  settings = { dsn, release };
  return true;
}

function loadSentry(options: { dsn: string; release: string }): Promise<SentryModule> {
  client ??= import('@sentry/node').then((module) => {
    // Without the default integrations: no tracing, no instrumentation of every library, just
    // the errors we hand over (with their causes).
    module.initWithoutDefaultIntegrations({
      dsn: options.dsn,
      release: `eden-etl@${options.release}`,
      dataCollection: {
        userInfo: false,
        cookies: false,
        httpHeaders: false,
        urlQueryParams: false,
        httpBodies: [],
      },
      integrations: [module.linkedErrorsIntegration(), module.dedupeIntegration()],
      beforeSend: (event) => scrubEvent(event),
      beforeBreadcrumb: () => null,
    });
    return module;
  });
  return client;
}

/** Reports an error with its context (command, run id, …); does nothing without a DSN. */
export function captureError(
  error: unknown,
  context: Record<string, string | number | boolean | undefined> = {},
): void {
  if (settings === null) return;
  const tags: Record<string, string> = {};
  if (isEtlError(error)) {
    tags.code = error.code;
    tags.retryable = String(error.retryable);
    tags.summary = ERROR_CODES[error.code].summary;
  }
  for (const [key, value] of Object.entries(context)) {
    if (value !== undefined) tags[key] = String(value);
  }
  const sent = loadSentry(settings).then((sentry) => sentry.captureException(error, { tags }));
  inFlight.add(sent);
  // Reporting must never become an error of its own; flushErrorTracking waits for it.
  void sent.catch(() => undefined).finally(() => inFlight.delete(sent));
}

/** Waits until reported errors are sent (before the process exits), at most `timeoutMs`. */
export async function flushErrorTracking(timeoutMs = 2000): Promise<void> {
  if (client === null) return;
  await Promise.allSettled([...inFlight]);
  await (await client).flush(timeoutMs);
}
