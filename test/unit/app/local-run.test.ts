import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Composition } from '../../../src/app/compose.js';
import { executeRun, type RunInvocation } from '../../../src/app/local-run.js';
import { loadConfig } from '../../../src/config/load.js';
import { ensureSamplePacs } from '../../../src/demo/sample-pacs.js';
import type { SqlClient } from '../../../src/domain/sql.js';
import { createLogger } from '../../../src/observability/logger.js';
import { RunStopped } from '../../../src/pipeline/limiter.js';
import { listFiles, tempDir } from '../../support/cli.js';

const logger = createLogger({ level: 'fatal', format: 'plain' });

// One sample PACS of one study for the file: generating it is the slow part.
let work: { dir: string; cleanup: () => Promise<void> };
let runs = 0;

beforeAll(async () => {
  work = await tempDir('local-run');
});

afterAll(async () => {
  await work.cleanup();
});

const prepareSource = vi.fn(async (pacs: SqlClient) => {
  await ensureSamplePacs(pacs, { dir: join(work.dir, 'pacs'), studies: 1, seed: 1 });
});

/** A run of its own: its state and destination, on the shared sample PACS. */
function runPlace(): { stateDir: string; out: string } {
  runs += 1;
  return { stateDir: join(work.dir, `state-${runs}`), out: join(work.dir, `out-${runs}`) };
}

function compose(place: { stateDir: string; out: string }, flags: Record<string, unknown> = {}) {
  const { config } = loadConfig({
    flags: {
      source: `pglite:${join(work.dir, 'pacs/db')}`,
      dest: place.out,
      prefix: 'ds',
      stateDir: place.stateDir,
      studies: 1,
      renderThreads: 1,
      progress: 'off',
      ...flags,
    },
    env: {},
  });
  return new Composition(config, logger);
}

async function execute(
  root: Composition,
  invocation: Partial<RunInvocation> = {},
): Promise<{ code: number; text: string }> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString()));
  try {
    const code = await executeRun(root, {
      out,
      signal: new AbortController().signal,
      prepareSource,
      ...invocation,
    });
    return { code, text };
  } finally {
    await root.close();
  }
}

describe('executeRun', () => {
  it('runs the whole pipeline here, reports it, and has nothing to do the second time', async () => {
    const place = runPlace();
    prepareSource.mockClear();
    const first = await execute(compose(place));
    expect(first.code).toBe(0);
    expect(prepareSource).toHaveBeenCalledTimes(1);
    const files = await listFiles(join(place.out, 'ds'));
    expect(files).toContain('manifest.json');
    const images = files.filter((file) => file.startsWith('images-jpg/'));

    // The same command finds its finished run: no PACS, no render threads, the same exit code.
    const root = compose(place);
    const ledger = await root.ledger();
    const run = await ledger.latestRun();
    expect(run?.status).toBe('finalized');
    const counts = await ledger.counts(run?.runId ?? '');
    // The sample study's localizer is kept out by the quality gates.
    expect(counts).toMatchObject({ pending: 0, failed: 0, excluded: 1, delivered: images.length });
    expect(first.text).toContain(`Run id: ${run?.runId}\nRun: new\n`);
    expect(first.text).toContain(`Total records: ${counts.total}\n`);
    expect(first.text).toContain(`Delivered: ${counts.delivered}\n`);
    expect(first.text).toContain('LOCALIZER: 1');
    const csv = await readFile(join(place.out, 'ds', 'dicom-reports-extracted-sample.csv'), 'utf8');
    expect(csv).toContain(images[0]?.replace('images-jpg/', '').replace('.jpg', '') ?? '?');
    const second = await execute(root);
    expect(second.code).toBe(0);
    expect(second.text).toBe(
      `Run ${run?.runId} is already complete (finished ${run?.finishedAt}): ` +
        `${counts.delivered} delivered, 0 failed, 1 excluded. Nothing to upload.\n`,
    );
    expect(prepareSource).toHaveBeenCalledTimes(1);
  });

  it('stops when asked, leaving the run to resume with the same command', async () => {
    const place = runPlace();
    const stop = new AbortController();
    stop.abort();
    await expect(execute(compose(place), { signal: stop.signal })).rejects.toBeInstanceOf(
      RunStopped,
    );
    const root = compose(place);
    const ledger = await root.ledger();
    const run = await ledger.latestUnfinishedRun();
    await root.close();
    expect(run).not.toBeNull();
    const resumed = await execute(compose(place), { resume: true });
    expect(resumed.code).toBe(0);
    expect(await listFiles(join(place.out, 'ds'))).toContain('manifest.json');
  });

  it('refuses to resume a de-identifying run without its key, before planning anything', async () => {
    const place = runPlace();
    const key = 'the key the run started with';
    const stop = new AbortController();
    stop.abort();
    await expect(
      execute(compose(place, { deidentify: 'basic', secretKey: key }), { signal: stop.signal }),
    ).rejects.toBeInstanceOf(RunStopped);
    prepareSource.mockClear();
    await expect(
      execute(compose(place, { secretKey: 'another key of enough length' }), { resume: true }),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      subject: 'SECRET_KEY',
      message: 'SECRET_KEY is not the key this run started with',
    });
    expect(prepareSource).not.toHaveBeenCalled();
  });
});
