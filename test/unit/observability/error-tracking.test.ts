import { gunzipSync } from 'node:zlib';
import type { ErrorEvent } from '@sentry/node';
import { afterAll, describe, expect, it } from 'vitest';
import { EtlError } from '../../../src/domain/errors.js';
import {
  captureError,
  flushErrorTracking,
  initErrorTracking,
  scrubEvent,
} from '../../../src/observability/error-tracking.js';
import { startTestServer, type TestServer } from '../../support/http-test-server.js';

describe('error tracking', () => {
  let server: TestServer | undefined;
  afterAll(async () => {
    await server?.close();
  });

  it('scrubs credentials from URLs, secret fields and personal data before sending', () => {
    const event: ErrorEvent = {
      type: undefined,
      message: 'cannot connect to postgres://etl:hunter2@db.internal:5432/pacs',
      exception: {
        values: [
          {
            type: 'EtlError',
            value: 'GET https://pacs.example/file.dcm?token=abc123&x=1 failed',
          },
        ],
      },
      user: { id: '42', ip_address: '10.0.0.1', email: 'doctor@example.org' },
      request: {
        method: 'GET',
        url: 'https://admin:pw@dash.example/runs',
        headers: { authorization: 'Basic YWRtaW46cHc=' },
        cookies: { session: 'x' },
      },
      extra: {
        redisUrl: 'redis://:redispass@redis:6379/0',
        password: 'plain',
        depth: { token: 't' },
      },
    };
    const scrubbed = scrubEvent(event);
    const text = JSON.stringify(scrubbed);
    for (const secret of [
      'hunter2',
      'abc123',
      'redispass',
      'plain',
      'YWRtaW46cHc',
      'doctor@',
      '10.0.0.1',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(scrubbed.message).toBe('cannot connect to postgres://db.internal:5432/pacs');
    expect(scrubbed.request).toEqual({ method: 'GET', url: 'https://dash.example/runs' });
    expect(scrubbed.user).toBeUndefined();
    expect(text).toContain('"depth":{"token":"[redacted]"}');
  });

  it('starts nothing without a DSN, and reporting is then a no-op', async () => {
    expect(initErrorTracking(undefined, '0.0.0')).toBe(false);
    captureError(new Error('nobody hears this'));
    await flushErrorTracking();
    const sentry = await import('@sentry/node');
    expect(sentry.isInitialized()).toBe(false);
  });

  it('with a DSN, delivers a scrubbed error envelope to the Sentry server', async () => {
    const envelopes: { url: string; body: string }[] = [];
    server = await startTestServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        let body = Buffer.concat(chunks);
        if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        envelopes.push({ url: request.url ?? '', body: body.toString('utf8') });
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    const dsn = `${server.origin.replace('http://', 'http://publickey@')}/7`;
    expect(initErrorTracking(dsn, '1.2.3')).toBe(true);
    captureError(
      new EtlError('STATE_UNAVAILABLE', 'cannot reach postgres://etl:hunter2@db/state', {
        subject: 'state',
      }),
      { command: 'run', runId: 'abc' },
    );
    await flushErrorTracking(5000);
    expect(envelopes.length).toBeGreaterThanOrEqual(1);
    const envelope = envelopes.find((item) => item.body.includes('"exception"'));
    expect(envelope?.url).toMatch(/^\/api\/7\/envelope\//);
    expect(envelope?.body).toContain('cannot reach postgres://db/state');
    expect(envelope?.body).toContain('"code":"STATE_UNAVAILABLE"');
    expect(envelope?.body).toContain('"runId":"abc"');
    expect(envelope?.body).toContain('eden-etl@1.2.3');
    expect(envelope?.body).not.toContain('hunter2');
  });
});
