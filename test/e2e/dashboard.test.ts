import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, collect, runCli, startCli, tempDir } from '../support/cli.js';
import { createTestDatabase } from '../support/postgres.js';
import { csvObjects } from '../support/rfc4180.js';

const USER = 'radiologist';
const PASSWORD = 'correct horse battery staple';
const CHROMIUM = {
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
};

/** Starts `eden-etl dashboard` on a free port and resolves with its URL once it listens. */
async function startDashboard(
  dir: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string }> {
  const child = startCli(['dashboard', '--port', '0'], dir, cleanEnv(env));
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL in 30 s: ${stderr}`)), 30_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /dashboard listening on (http:\/\/\S+)/.exec(stderr);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`dashboard exited ${code}: ${stderr}`)));
  });
  return { child, url };
}

describe('eden-etl dashboard in a real browser', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let browser: Browser | undefined;
  let dashboard: { child: ChildProcess; url: string } | undefined;
  let total: number;
  const broken: { id: string; code: string }[] = [];
  const queuePrefix = `eden-test-board-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('dashboard'));
    // A clean run creates the sample PACS; then two of its files are broken, and a second run
    // over the same selection finishes with two failures.
    const demo = await runCli(['demo', '--studies', '2', '--dest', 'file://./clean'], dir);
    expect(demo.code, demo.stderr).toBe(0);
    const rows = csvObjects(
      await readFile(
        join(dir, 'clean/eden-dataset-vlms/sample-test/dicom-reports-extracted-sample.csv'),
        'utf8',
      ),
    );
    const [missing, notDicom] = rows;
    if (missing === undefined || notDicom === undefined) throw new Error('too few instances');
    await rm(fileURLToPath(missing.file_url as string));
    await writeFile(fileURLToPath(notDicom.file_url as string), '<b>not DICOM</b>\n');
    broken.push(
      { id: missing.instance_id as string, code: 'FILE_MISSING' },
      { id: notDicom.instance_id as string, code: 'NOT_DICOM' },
    );
    total = rows.length;
    const run = await runCli(
      ['run', '--source', 'pglite:.eden/sample-pacs/db', '--studies', '2', '--dest', './broken'],
      dir,
    );
    expect(run.code, run.stderr).toBe(3);

    dashboard = await startDashboard(dir, {
      DASHBOARD_USER: USER,
      DASHBOARD_PASSWORD: PASSWORD,
      REDIS_URL: 'redis://127.0.0.1:6379/0',
      EDEN_QUEUE_PREFIX: queuePrefix,
    });
    browser = await chromium.launch(CHROMIUM);
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    if (dashboard !== undefined) {
      const exited = collect(dashboard.child);
      dashboard.child.kill('SIGTERM');
      await exited;
    }
    const redis = new Redis('redis://127.0.0.1:6379/0');
    const keys = await redis.keys(`${queuePrefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await cleanup();
  });

  it('logs in, shows the finished runs with their counts, the failures and the preview', async () => {
    const context = await browser!.newContext({
      httpCredentials: { username: USER, password: PASSWORD },
    });
    const page = await context.newPage();
    const response = await page.goto(`${dashboard!.url}/runs`);
    expect(response?.status()).toBe(200);

    const row = page.locator('tr[data-run]', { hasText: '/broken/' });
    await expect.poll(() => row.count(), { timeout: 10_000 }).toBe(1);
    const cell = async (field: string) =>
      (await row.locator(`[data-field="${field}"]`).innerText()).trim();
    expect(await cell('total')).toBe(String(total));
    const excluded = Number(await cell('excluded'));
    expect(excluded).toBeGreaterThan(0); // the sample PACS's quality-gate cases
    expect(await cell('delivered')).toBe(String(total - 2 - excluded));
    expect(await cell('failed')).toBe('2');
    expect(await cell('pending')).toBe('0');
    expect((await row.locator('td').nth(1).innerText()).trim()).toBe('finished');

    await row.locator('a code').click();
    await page.waitForURL(/\/runs\/[0-9a-f]{16}$/);
    expect((await page.locator('[data-field="failed"]').innerText()).trim()).toBe('2');
    await expect
      .poll(() => page.locator('table td', { hasText: 'fetch' }).count(), { timeout: 10_000 })
      .toBe(1);

    await page.getByRole('link', { name: 'Failures (2)' }).click();
    await page.waitForURL(/\/failures$/);
    for (const { id, code } of broken) {
      const table = page.locator(`table[data-code="${code}"]`);
      expect(await table.locator('tbody tr').count()).toBe(1);
      expect(await table.locator('tbody tr').innerText()).toContain(id);
    }

    await page.goBack();
    await page.getByRole('link', { name: 'Dataset preview' }).click();
    await page.waitForURL(/\/preview$/);
    const images = page.locator('.card img');
    expect(await images.count()).toBe(total - 2 - excluded);
    for (const image of await images.all()) {
      await image.scrollIntoViewIfNeeded();
      await expect
        .poll(
          () =>
            image.evaluate((element) => {
              // No DOM types in this project: the two properties read are declared here.
              const loaded = element as unknown as { complete: boolean; naturalWidth: number };
              return loaded.complete ? loaded.naturalWidth : 0;
            }),
          { timeout: 10_000 },
        )
        .toBeGreaterThan(0);
    }
    expect(await page.locator('.card p').first().innerText()).toMatch(/\w{3,}/);
    await context.close();
  });

  it('shows the queues in Bull Board', async () => {
    const context = await browser!.newContext({
      httpCredentials: { username: USER, password: PASSWORD },
    });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${dashboard!.url}/queues`);
    for (const name of ['eden-batches', 'eden-finalize', 'eden-schedules']) {
      await page.getByText(name, { exact: true }).first().waitFor({ timeout: 15_000 });
    }
    expect(problems).toEqual([]);
    await context.close();
  });

  it('answers a wrong password with 401', async () => {
    const context = await browser!.newContext({
      httpCredentials: { username: USER, password: 'wrong' },
    });
    const page = await context.newPage();
    const response = await page.goto(`${dashboard!.url}/runs`);
    expect(response?.status()).toBe(401);
    expect(await page.content()).not.toContain('data-run');
    await context.close();
  });

  it('refuses to listen on every interface without a password', async () => {
    const result = await runCli(['dashboard', '--host', '0.0.0.0', '--port', '0'], dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('CONFIG_INVALID');
    expect(result.stderr).toContain('DASHBOARD_PASSWORD');
  });
});

describe('eden-etl dashboard over a PostgreSQL run state', () => {
  it('shows the runs and metrics another process wrote to the shared state', async () => {
    const { dir, cleanup } = await tempDir('dashboard-pg');
    const database = await createTestDatabase('dashboard');
    let dashboard: { child: ChildProcess; url: string } | undefined;
    try {
      const env = cleanEnv({ STATE_DATABASE_URL: database.url });
      const demo = await runCli(['demo', '--studies', '1'], dir, env);
      expect(demo.code, demo.stderr).toBe(0);
      const runId = /Run id: ([0-9a-f]{16})/.exec(demo.stdout)?.[1];
      expect(runId).toBeDefined();
      // Localhost without a password: no credentials needed.
      dashboard = await startDashboard(dir, { STATE_DATABASE_URL: database.url });
      const runs = await (await fetch(`${dashboard.url}/runs`)).text();
      expect(runs).toContain(`data-run="${runId}"`);
      const metrics = await (await fetch(`${dashboard.url}/metrics`)).text();
      expect(metrics).toContain('eden_ledger_up 1');
      expect(metrics).toContain('eden_runs{status="finalized"} 1');
      expect(metrics).toMatch(/eden_instances_processed_total\{status="delivered"\} [1-9]/);
    } finally {
      if (dashboard !== undefined) {
        const exited = collect(dashboard.child);
        dashboard.child.kill('SIGTERM');
        expect((await exited).code).toBe(0);
      }
      await database.drop();
      await cleanup();
    }
  }, 300_000);
});
