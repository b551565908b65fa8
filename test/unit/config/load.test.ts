import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeConfig, loadConfig } from '../../../src/config/load.js';
import { renderOptionsOf } from '../../../src/config/render-options.js';
import { DEFAULT_RENDER_OPTIONS } from '../../../src/domain/render.js';
import { thrown } from '../../support/thrown.js';

describe('loadConfig', () => {
  let dir: string;
  let envFile: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'eden-config-'));
    envFile = join(dir, '.env');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the documented defaults', () => {
    const { config, origins } = loadConfig({ flags: {}, env: {}, envFile });
    expect(config).toMatchObject({
      query: 'queries/chest_dicom_files_and_reports.sql',
      studies: 8,
      seed: '0',
      pageSize: 10_000,
      batchSize: 25,
      prefix: 'eden-dataset-vlms/sample-test',
      jpegQuality: 90,
      optimiseCoding: false,
      logLevel: 'info',
      logFormat: 'plain',
    });
    expect(config.source).toBeUndefined();
    expect(origins.studies).toBe('default');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('runs on BullMQ workers by default when REDIS_URL is set, in this process otherwise', () => {
    expect(loadConfig({ flags: {}, env: {}, envFile }).config.executor).toBe('local');
    const queued = loadConfig({ flags: {}, env: { REDIS_URL: 'redis://r:6379' }, envFile });
    expect(queued.config.executor).toBe('bullmq');
    expect(queued.origins.executor).toBe('env REDIS_URL is set');
    const forced = loadConfig({
      flags: { executor: 'local' },
      env: { REDIS_URL: 'redis://r:6379' },
      envFile,
    });
    expect(forced.config.executor).toBe('local');
    expect(() =>
      loadConfig({ flags: { executor: 'celery', jobBackoff: '0' }, env: {}, envFile }),
    ).toThrow(
      /--executor: received "celery"; expected bullmq or local[\s\S]*--job-backoff: received "0"/,
    );
  });

  it('layers flags over env over .env over defaults', async () => {
    await writeFile(envFile, 'EDEN_STUDIES=3\nEDEN_PAGE_SIZE=7\nEDEN_BATCH_SIZE=9\n');
    const { config, origins } = loadConfig({
      flags: { studies: '5' },
      env: { EDEN_PAGE_SIZE: '11' },
      envFile,
    });
    expect(config.studies).toBe(5);
    expect(config.pageSize).toBe(11);
    expect(config.batchSize).toBe(9);
    expect(origins).toMatchObject({
      studies: '--studies',
      pageSize: 'env EDEN_PAGE_SIZE',
      batchSize: '.env EDEN_BATCH_SIZE',
    });
  });

  it('accepts the seed variable names', () => {
    const { config } = loadConfig({
      flags: {},
      env: {
        SOURCE_DATABASE_NAME: 'pacs',
        SOURCE_DATABASE_USER: 'reader',
        SOURCE_DATABASE_PASS: 's3cr3t/x',
        SOURCE_DATABASE_HOST: 'db.local',
        SOURCE_DATABASE_PORT: '6543',
        GCS_BUCKET_NAME: 'ai-training-dev',
        SENTRY_DNS: 'https://key@sentry.example/1',
        FLOWER_USER: 'ops',
        FLOWER_PASSWORD: 'pw',
        LOGGING_LEVEL: 'DEBUG',
        REDIS_URL: 'redis://localhost:6379/0',
      },
      envFile,
    });
    expect(config.source).toBe('postgres://reader:s3cr3t%2Fx@db.local:6543/pacs');
    expect(config.dest).toBe('gs://ai-training-dev');
    expect(config.sentryDsn).toBe('https://key@sentry.example/1');
    expect(config.dashboardUser).toBe('ops');
    expect(config.logLevel).toBe('debug');
  });

  it('reads patient splits and quality gates, refusing bad ones', () => {
    const { config } = loadConfig({ flags: {}, env: {}, envFile });
    expect(config.splits).toEqual([
      { name: 'train', fraction: 0.8 },
      { name: 'validate', fraction: 0.1 },
      { name: 'test', fraction: 0.1 },
    ]);
    expect(config.qualityGates).toHaveLength(8);
    const given = loadConfig({
      flags: { splits: 'train=0.7, test=0.3', qualityGates: 'blank,Duplicate' },
      env: {},
      envFile,
    }).config;
    expect(given.splits).toEqual([
      { name: 'train', fraction: 0.7 },
      { name: 'test', fraction: 0.3 },
    ]);
    expect(given.qualityGates).toEqual(['blank', 'duplicate']);
    expect(
      loadConfig({ flags: { qualityGates: 'none' }, env: {}, envFile }).config.qualityGates,
    ).toEqual([]);
    for (const splits of [
      'train=0.8,test=0.1',
      'train=0.5,train=0.5',
      'Train=1',
      'train=1,test=0',
      'train',
    ]) {
      expect(() => loadConfig({ flags: { splits }, env: {}, envFile })).toThrow(
        /--splits: received .*; expected NAME=FRACTION/,
      );
    }
    expect(() => loadConfig({ flags: { qualityGates: 'blank,shiny' }, env: {}, envFile })).toThrow(
      /--quality-gates: received "blank,shiny"; expected all, none, or a comma-separated list/,
    );
  });

  it('lists every invalid key with the value received and what was expected', () => {
    const error = thrown(() =>
      loadConfig({
        flags: { studies: 'abc', jpegQuality: '0' },
        env: { EDEN_PAGE_SIZE: '-1', LOGGING_LEVEL: 'loud', SECRET_KEY: 'short' },
        envFile,
      }),
    );
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('--studies: received "abc"; expected an integer, 1 or more');
    expect(error.message).toContain('--quality: received "0"; expected an integer, 1..100');
    expect(error.message).toContain('env EDEN_PAGE_SIZE: received "-1"');
    expect(error.message).toContain('env LOGGING_LEVEL: received "loud"');
    // A secret is named, never shown.
    expect(error.message).toContain('env SECRET_KEY: received "<redacted>"');
    expect(error.message).not.toContain('short');
  });

  it('refuses every out-of-range render option at start-up, not per instance', () => {
    const error = thrown(() =>
      loadConfig({
        flags: {
          jpegQuality: '101',
          maxSize: '0',
          window: '40,0',
          windowIndex: '0',
          frames: 'odd',
        },
        env: { EDEN_IMAGE_FORMAT: 'gif', EDEN_BIT_DEPTH: '12' },
        envFile,
      }),
    );
    expect(error.code).toBe('CONFIG_INVALID');
    for (const expected of [
      '--quality: received "101"',
      '--max-size: received "0"',
      '--window: received "40,0"',
      '--window-index: received "0"',
      '--frames: received "odd"',
      'env EDEN_IMAGE_FORMAT: received "gif"',
      'env EDEN_BIT_DEPTH: received "12"',
    ]) {
      expect(error.message).toContain(expected);
    }
  });

  it('gives the renderer its defaults when nothing is configured', () => {
    const { config } = loadConfig({ flags: {}, env: {}, envFile });
    expect(renderOptionsOf(config)).toEqual(DEFAULT_RENDER_OPTIONS);
  });

  it('refuses a 16-bit image in JPEG at start-up, naming both keys and the fix', () => {
    const error = thrown(() => loadConfig({ flags: { bitDepth: '16' }, env: {}, envFile }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('--bit-depth: received 16 with default = jpeg');
    expect(error.message).toContain('16 with --format png');
    const png = loadConfig({
      flags: { bitDepth: '16' },
      env: { EDEN_IMAGE_FORMAT: 'png' },
      envFile,
    });
    expect(png.config.bitDepth).toBe(16);
  });

  it('lets a command fix a value over the environment but not over a flag', () => {
    const fixed = { source: 'pglite:.eden/sample-pacs/db' };
    const env = { SOURCE_DATABASE_URL: 'postgres://u:p@h/db' };
    expect(loadConfig({ flags: {}, commandFixed: fixed, env, envFile }).config.source).toBe(
      'pglite:.eden/sample-pacs/db',
    );
    expect(
      loadConfig({ flags: { source: 'pglite:/x' }, commandFixed: fixed, env, envFile }).config
        .source,
    ).toBe('pglite:/x');
  });

  it('shows the configuration with secrets redacted', () => {
    const resolved = loadConfig({
      flags: {},
      env: {
        SOURCE_DATABASE_URL: 'postgres://reader:hunter2@db/pacs',
        SECRET_KEY: 'a-very-long-secret-key',
      },
      envFile,
    });
    const shown = describeConfig(resolved);
    const text = JSON.stringify(shown);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('a-very-long-secret-key');
    expect(shown.find((entry) => entry.key === '--source')?.value).toContain('db/pacs');
  });
});
