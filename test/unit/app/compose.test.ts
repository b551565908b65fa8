import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Composition } from '../../../src/app/compose.js';
import { loadConfig } from '../../../src/config/load.js';
import type { RunSpec } from '../../../src/domain/run-spec.js';
import { createLogger } from '../../../src/observability/logger.js';
import { tempDir } from '../../support/cli.js';

const logger = createLogger({ level: 'fatal', format: 'plain' });

let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('compose'));
});

afterEach(async () => {
  await cleanup();
});

/** A composition of these flags over no environment at all. */
function compose(flags: Record<string, unknown> = {}): Composition {
  const { config } = loadConfig({ flags: { stateDir: join(dir, 'state'), ...flags }, env: {} });
  return new Composition(config, logger);
}

describe('Composition', () => {
  it('opens the run state once, and releases it when closed', async () => {
    const root = compose();
    const ledger = await root.ledger();
    expect(await root.ledger()).toBe(ledger);
    // The embedded state is held by one process at a time: a second holder is refused…
    const other = compose();
    await expect(other.ledger()).rejects.toMatchObject({ code: 'STATE_LOCKED' });
    await root.close();
    // …and can have it once the first has closed.
    expect(await other.ledger()).toBeDefined();
    await other.close();
  }, 30_000);

  it('opens a destination once per place and prefix, and closes it with itself', async () => {
    const root = compose();
    const out = join(dir, 'out');
    const first = await root.destination(out, 'a');
    expect(await root.destination(out, 'a')).toBe(first);
    expect(await root.destination(out, 'b')).not.toBe(first);
    expect(first.prefix).toBe('a');
    await root.close();
    await expect(first.store.create('a/x', new Uint8Array([1]), 'text/plain')).rejects.toThrow();
  });

  it('tries a destination that failed to open again at the next call', async () => {
    const root = compose();
    const bad = 'gs://Not_A_Bucket!';
    const first = root.destination(bad, '');
    await expect(first).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    const second = root.destination(bad, '');
    expect(second).not.toBe(first);
    await expect(second).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await root.close();
  });

  it('opens nothing once closed', async () => {
    const root = compose();
    await root.close();
    await expect(root.ledger()).rejects.toMatchObject({ code: 'INTERNAL' });
    await expect(root.destination(join(dir, 'out'), '')).rejects.toMatchObject({
      code: 'INTERNAL',
    });
  });

  it('names what is missing: a PACS database, Redis, a shared state database', async () => {
    const root = compose();
    expect(() => root.source()).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => root.queueSettings()).toThrow(/REDIS_URL .* and STATE_DATABASE_URL/);
    await expect(root.writableDatabase('mysql://x', 'a database')).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining('expected postgres://… or pglite:DIR') as unknown,
    });
    await root.close();
  });

  it('refuses to process a de-identifying run without its key, before opening anything', async () => {
    const root = compose();
    const spec = {
      destination: join(dir, 'out'),
      prefix: '',
      deid: {
        profile: 'basic',
        keep: [],
        remove: [],
        staffNames: [],
        quarantine: false,
        keyId: 'k',
      },
    } as unknown as RunSpec;
    await expect(root.pipelineContext(spec)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      subject: 'SECRET_KEY',
    });
    const keyed = compose({ secretKey: 'another key of enough length' });
    await expect(keyed.pipelineContext(spec)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('not the key this run started with') as unknown,
    });
    await Promise.all([root.close(), keyed.close()]);
  });
});
