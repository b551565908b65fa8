import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runAndExit } from '../../../src/app/run.js';
import { loadConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/observability/logger.js';
import { tempDir } from '../../support/cli.js';

const logger = createLogger({ level: 'fatal', format: 'plain' });

let dir: string;
let cleanup: () => Promise<void>;
let listeners: { SIGINT: NodeJS.SignalsListener[]; SIGTERM: NodeJS.SignalsListener[] };
let exitCode: typeof process.exitCode;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('run'));
  listeners = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
  exitCode = process.exitCode;
});

afterEach(async () => {
  // runAndExit installs the Ctrl-C handlers of the command: the test process must not keep them.
  for (const name of ['SIGINT', 'SIGTERM'] as const) {
    for (const listener of process.listeners(name)) {
      if (!listeners[name].includes(listener)) process.off(name, listener);
    }
  }
  process.exitCode = exitCode;
  await cleanup();
});

function configOf(flags: Record<string, unknown>) {
  return loadConfig({
    flags: { stateDir: join(dir, 'state'), dest: join(dir, 'out'), ...flags },
    env: {},
  }).config;
}

describe('runAndExit', () => {
  it('runs here with the local executor, which needs a PACS database', async () => {
    await expect(runAndExit(configOf({ executor: 'local' }), {}, logger)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: 'no PACS database given',
    });
    expect(process.exitCode).toBe(exitCode);
  });

  it('hands the run to the workers with the BullMQ executor, refused without Redis', async () => {
    const config = configOf({ executor: 'bullmq', source: 'pglite:/nowhere' });
    await expect(runAndExit(config, { detach: true }, logger)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('the BullMQ executor needs REDIS_URL') as unknown,
    });
    // Refused before the run state was opened.
    expect(existsSync(join(dir, 'state'))).toBe(false);
  });

  it('resumes the latest unfinished run with --resume, naming that there is none', async () => {
    const config = configOf({ executor: 'local', source: 'pglite:/nowhere' });
    await expect(runAndExit(config, { resume: true }, logger)).rejects.toMatchObject({
      code: 'RUN_NOT_FOUND',
      message: 'there is no unfinished run to resume',
    });
    await expect(runAndExit(config, { resume: 'abc123' }, logger)).rejects.toMatchObject({
      code: 'RUN_NOT_FOUND',
      subject: 'abc123',
    });
  });
});
