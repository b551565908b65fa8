import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loggerFor, resolveConfig, stopSignal } from '../../../src/app/invocation.js';
import { EXIT_STOPPED } from '../../../src/domain/errors.js';
import type { Logger } from '../../../src/observability/logger.js';
import { tempDir } from '../../support/cli.js';

let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('invocation'));
});

afterEach(async () => {
  vi.restoreAllMocks();
  await cleanup();
});

describe('resolveConfig', () => {
  it('puts the flags over the --env-file, and the file over the defaults', async () => {
    const envFile = join(dir, 'custom.env');
    await writeFile(envFile, 'EDEN_STUDIES=5\nEDEN_SEED=from-file\n');
    const { config, origins } = resolveConfig({ studies: '3', envFile }, { env: {} });
    expect(config.studies).toBe(3);
    expect(origins.studies).toBe('--studies');
    expect(config.seed).toBe('from-file');
    expect(origins.seed).toBe('.env EDEN_SEED');
    expect(config.pageSize).toBe(10_000);
  });

  it('reads ./.env when no --env-file is given, and lets the caller fix keys', async () => {
    const cwd = process.cwd();
    await writeFile(join(dir, '.env'), 'EDEN_SEED=dotenv\n');
    process.chdir(dir);
    try {
      const { config } = resolveConfig(
        { envFile: true },
        { env: {}, commandFixed: { studies: 2 } },
      );
      expect(config.seed).toBe('dotenv');
      expect(config.studies).toBe(2);
    } finally {
      process.chdir(cwd);
    }
  });

  it('refuses an invalid flag, naming the value received and what was expected', () => {
    expect(() =>
      resolveConfig({ studies: 'many', envFile: join(dir, 'none') }, { env: {} }),
    ).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: expect.stringMatching(/--studies.*"many".*an integer, 1 or more/s) as unknown,
      }),
    );
  });
});

describe('loggerFor', () => {
  function written(format: 'json' | 'plain'): string {
    let text = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      text += chunk.toString();
      return true;
    });
    const { config } = resolveConfig(
      { logFormat: format, envFile: join(dir, 'none') },
      { env: { LOGGING_LEVEL: 'WARN' } },
    );
    const logger = loggerFor(config);
    logger.info('not shown');
    logger.warn('shown');
    vi.restoreAllMocks();
    return text;
  }

  it('logs JSON lines at the configured level when asked for json', () => {
    const lines = written('json').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ msg: 'shown' });
  });

  it('logs plain lines for people otherwise (stderr is not a terminal here)', () => {
    const text = written('plain');
    expect(text).toContain('shown');
    expect(text).not.toContain('not shown');
    expect(() => JSON.parse(text) as unknown).toThrow();
  });
});

describe('stopSignal', () => {
  it('aborts on the first signal and exits with 130 on the second', () => {
    const before = {
      SIGINT: process.listeners('SIGINT'),
      SIGTERM: process.listeners('SIGTERM'),
    };
    const warn = vi.fn();
    const signal = stopSignal({ warn } as unknown as Logger);
    const added = (name: 'SIGINT' | 'SIGTERM') =>
      process.listeners(name).filter((listener) => !before[name].includes(listener));
    const [onInt] = added('SIGINT');
    const [onTerm] = added('SIGTERM');
    // Called directly rather than emitted: the test runner has signal handlers of its own.
    const exit = vi.spyOn(process, 'exit').mockImplementation(() => undefined as never);
    try {
      expect(onInt).toBeDefined();
      expect(onTerm).toBe(onInt);
      expect(signal.aborted).toBe(false);
      onInt?.('SIGTERM');
      expect(signal.aborted).toBe(true);
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^SIGTERM: finishing the instances/));
      expect(exit).not.toHaveBeenCalled();
      onInt?.('SIGINT');
      expect(exit).toHaveBeenCalledWith(EXIT_STOPPED);
      expect(EXIT_STOPPED).toBe(130);
    } finally {
      for (const listener of added('SIGINT')) process.off('SIGINT', listener);
      for (const listener of added('SIGTERM')) process.off('SIGTERM', listener);
    }
  });
});
