import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startDashboard,
  type Dashboard,
  type DashboardOptions,
} from '../../src/dashboard/server.js';
import { EtlError } from '../../src/domain/errors.js';
import type { SqlClient } from '../../src/domain/sql.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { RunInsights } from '../../src/ledger/run-insights.js';
import { openLocalStore } from '../../src/store/local-store.js';
import { createLogger } from '../../src/observability/logger.js';
import type { RunSpec } from '../../src/domain/run-spec.js';
import { QUEUE_NAMES } from '../../src/queue/queue-names.js';
import { openPglite } from '../../src/sql/pglite-client.js';
import { page, TEST_SPEC } from '../support/ledger-fixtures.js';

const REDIS_URL = 'redis://127.0.0.1:6379/0';
const USER = 'admin';
const PASSWORD = 'dash-pw-Ω';
const REPORT = `<script>window.pwned = 1</script> Findings & "quotes"`;
const silent = createLogger({
  level: 'fatal',
  format: 'plain',
  stream: new Writable({ write: (_chunk, _encoding, done) => done() }),
});

const auth = (user = USER, password = PASSWORD) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

describe('the dashboard server', () => {
  let dir: string;
  let db: SqlClient;
  let redis: Redis;
  let queues: Queue[];
  let dashboard: Dashboard;
  let jpeg: Buffer;
  const prefix = `eden-test-dash-${randomBytes(4).toString('hex')}`;
  let options: DashboardOptions;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'eden-dashboard-'));
    const destination = pathToFileURL(join(dir, 'dest')).href;
    const spec: RunSpec = {
      ...TEST_SPEC,
      source: 'postgres://pacs.example/pacs',
      queryParameters: { studies: 1, seed: '0' },
      batchSize: 25,
      destination,
      prefix: 'ds',
    };

    db = await openPglite(join(dir, 'state'), 'test state');
    const ledger = await Ledger.open(db);
    await ledger.createRun('r1', spec);
    await ledger.writeSelection('r1', 25, async (addPage) => {
      await addPage(
        ...page(
          ['i1', 'i2', 'i3'].map((id, index) => ({
            studyId: 's1',
            seriesId: 'se1',
            seriesNumber: 1,
            instanceId: id,
            instanceNumber: index + 1,
            filePath: null,
            fileUrl: `https://reader:pacs-secret@pacs.example/${id}.dcm?token=t0ken`,
            reportFields: [{ value: REPORT, createdAt: null }],
          })),
        ),
      );
      return 1;
    });
    jpeg = await sharp({ create: { width: 8, height: 6, channels: 3, background: '#808080' } })
      .jpeg()
      .toBuffer();
    const store = await openLocalStore(fileURLToPath(destination));
    const image = await store.create('ds/images-jpg/i1.jpg', jpeg, 'image/jpeg');
    await store.close();
    await ledger.recordOutcome('r1', 0, {
      status: 'delivered',
      attempts: 1,
      dicom: { ...image, key: 'ds/dicom-files/i1.dcm' },
      images: [{ ...image, frame: 1 }],
      recipe: null,
      attributes: null,
      error: null,
      timings: { fetch: 12, render: 80, store: 4 },
    });
    await ledger.recordOutcome('r1', 1, {
      status: 'failed',
      attempts: 2,
      dicom: null,
      images: [],
      recipe: null,
      attributes: null,
      error: new EtlError('NOT_DICOM', 'no DICM marker', { subject: 'instance i2' }),
      timings: { fetch: 9 },
    });

    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    queues = Object.values(QUEUE_NAMES).map(
      (name) => new Queue(name, { connection: redis, prefix }),
    );
    await queues[0]?.add('batch', { runId: 'r1', batchNo: 0 }, { jobId: 'r1-0' });

    const insights = new RunInsights(db);
    options = {
      host: '127.0.0.1',
      port: 0,
      user: USER,
      password: PASSWORD,
      readLedger: (fn) => fn(insights),
      queues: { prefix, queues },
      openStore: (rootUrl) => openLocalStore(fileURLToPath(rootUrl)),
      logger: silent,
    };
    dashboard = await startDashboard(options);
  });

  afterAll(async () => {
    await dashboard?.close();
    for (const queue of queues ?? []) {
      await queue.obliterate({ force: true });
      await queue.close();
    }
    const leftovers = await redis.keys(`${prefix}:*`);
    if (leftovers.length > 0) await redis.del(...leftovers);
    redis?.disconnect();
    await db?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const get = (path: string, headers: Record<string, string> = auth()) =>
    fetch(`${dashboard.url}${path}`, { headers, redirect: 'manual' });

  it('answers /healthz without credentials', async () => {
    const response = await get('/healthz', {});
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('asks for credentials everywhere else, and refuses a wrong user or password', async () => {
    for (const path of ['/runs', '/runs/r1', '/metrics', '/queues', '/queues/api/queues']) {
      const anonymous = await get(path, {});
      expect(anonymous.status, path).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    }
    expect((await get('/runs', auth(USER, 'wrong'))).status).toBe(401);
    expect((await get('/runs', auth(USER, `${PASSWORD}x`))).status).toBe(401);
    expect((await get('/runs', auth('root', PASSWORD))).status).toBe(401);
    expect((await get('/runs', { authorization: 'Bearer x' })).status).toBe(401);
    const ok = await get('/runs');
    expect(ok.status).toBe(200);
    const body = await ok.text();
    expect(body).toContain('data-run="r1"');
    expect(body).toContain('BullMQ on Redis');
  });

  it('shows a run with its counts, stage timings and failures by code', async () => {
    const body = await (await get('/runs/r1')).text();
    expect(body).toMatch(/data-field="delivered">\s*1\s*</);
    expect(body).toMatch(/data-field="failed">\s*1\s*</);
    expect(body).toMatch(/data-field="pending">\s*1\s*</);
    expect(body).toMatch(/<td>fetch<\/td>\s*<td class="num">2<\/td>/);
    expect(body).toContain('NOT_DICOM');
    expect((await get('/runs/nope')).status).toBe(404);
  });

  it('lists the failing instances with their reasons and the file URL without credentials', async () => {
    const body = await (await get('/runs/r1/failures')).text();
    expect(body).toContain('NOT_DICOM instance i2: no DICM marker');
    expect(body).toContain('https://pacs.example/i2.dcm?token=REDACTED');
    expect(body).not.toContain('pacs-secret');
    expect(body).not.toContain('t0ken');
  });

  it('previews the images with their report text escaped', async () => {
    const response = await get('/runs/r1/preview');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    const body = await response.text();
    expect(body).toContain('src="/runs/r1/objects/images-jpg/i1.jpg"');
    expect(body).toContain(
      '&lt;script&gt;window.pwned = 1&lt;/script&gt; Findings &amp; &quot;quotes&quot;',
    );
    expect(body).not.toContain('<script>window.pwned');
    const image = await get('/runs/r1/objects/images-jpg/i1.jpg');
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await image.arrayBuffer()).equals(jpeg)).toBe(true);
  });

  it('serves nothing but rendered images of the run', async () => {
    for (const path of [
      '/runs/r1/objects/dicom-files/i1.dcm',
      '/runs/r1/objects/images-jpg/..%2F..%2Fstate%2Feden.lock',
      '/runs/r1/objects/images-jpg/missing.jpg',
      '/runs/r1/objects/images-jpg/i1.txt',
    ]) {
      expect((await get(path)).status, path).toBe(404);
    }
    expect((await get('/runs/r1/objects/images-jpg/%01.jpg')).status).toBe(400);
  });

  it('exposes Prometheus metrics from the ledger and the queues', async () => {
    const response = await get('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const samples = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    for (const line of samples) {
      expect(line).toMatch(/^eden_[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+-]+$/);
    }
    for (const expected of [
      'eden_instances_processed_total{status="delivered"} 1',
      'eden_instances_processed_total{status="failed"} 1',
      'eden_instances_failed_total{code="NOT_DICOM"} 1',
      `eden_bytes_stored_total{kind="image"} ${jpeg.length}`,
      'eden_instance_retries_total 1',
      'eden_stage_instances_total{stage="fetch"} 2',
      'eden_stage_duration_seconds_total{stage="render"} 0.08',
      'eden_run_instances{run_id="r1",status="pending"} 1',
      'eden_runs{status="planned"} 1',
      'eden_ledger_up 1',
      'eden_queue_jobs{queue="eden-batches",state="waiting"} 1',
      'eden_queue_up{queue="eden-finalize"} 1',
    ]) {
      expect(samples).toContain(expected);
    }
    expect(text).toContain('# TYPE eden_instances_processed_total counter');
  });

  it('mounts Bull Board over the three queues', async () => {
    const page = await get('/queues');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('eden-etl queues');
    const api = (await (await get('/queues/api/queues')).json()) as {
      queues: { name: string; counts: Record<string, number> }[];
    };
    expect(api.queues.map((queue) => queue.name).sort()).toEqual(Object.values(QUEUE_NAMES).sort());
    expect(api.queues.find((queue) => queue.name === 'eden-batches')?.counts.waiting).toBe(1);
  });

  it('refuses to listen beyond localhost without a password, naming the fix', async () => {
    await expect(
      startDashboard({ ...options, host: '0.0.0.0', password: undefined }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      hint: expect.stringContaining('DASHBOARD_PASSWORD') as unknown,
    });
  });

  it('says so when its port is taken', async () => {
    const port = Number(new URL(dashboard.url).port);
    await expect(startDashboard({ ...options, port })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('the port is in use') as unknown,
    });
  });

  it('on localhost without a password, lets everyone in', async () => {
    const open = await startDashboard({ ...options, password: undefined, queues: null });
    try {
      const response = await fetch(`${open.url}/runs`);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('The queues are not configured');
      expect((await fetch(`${open.url}/queues`)).status).toBe(200);
    } finally {
      await open.close();
    }
  });

  it('says why when the run state is held by a run, and /metrics still answers', async () => {
    const locked = await startDashboard({
      ...options,
      queues: null,
      readLedger: () =>
        Promise.reject(
          new EtlError('STATE_LOCKED', 'the run state is in use by process 4242', {
            subject: '/state',
          }),
        ),
    });
    try {
      const page = await fetch(`${locked.url}/runs`, { headers: auth() });
      expect(page.status).toBe(503);
      const body = await page.text();
      expect(body).toContain('in use by process 4242');
      expect(body).toContain('STATE_DATABASE_URL');
      const metrics = await (await fetch(`${locked.url}/metrics`, { headers: auth() })).text();
      expect(metrics).toContain('eden_ledger_up 0');
    } finally {
      await locked.close();
    }
  });
});
