import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { Composition } from '../../../src/app/compose.js';
import {
  requireRun,
  resolveRunTarget,
  sourceOpener,
  splitKeyOf,
  warnIfNotDeidentified,
} from '../../../src/app/run-target.js';
import { loadConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { DEFAULT_SPLIT_KEY } from '../../../src/dataset/patient-splits.js';
import { Pseudonymizer } from '../../../src/deid/pseudonyms.js';
import { runIdOf, type RunSpec } from '../../../src/domain/run-spec.js';
import type { SqlClient } from '../../../src/domain/sql.js';
import { createLogger, type Logger } from '../../../src/observability/logger.js';
import { tempDir } from '../../support/cli.js';
import { TEST_SPEC } from '../../support/ledger-fixtures.js';

const logger = createLogger({ level: 'fatal', format: 'plain' });
const SECRET = 'a secret key of enough length';

let dir: string;
let cleanup: () => Promise<void>;
let roots: Composition[];
// Opening an embedded state costs seconds: the tests share one, each with run ids of its own.
let shared: Composition;
let sharedState: { dir: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  sharedState = await tempDir('run-target-state');
  shared = new Composition(
    loadConfig({ flags: { stateDir: join(sharedState.dir, 'state') }, env: {} }).config,
    logger,
  );
});

afterAll(async () => {
  await shared.close();
  await sharedState.cleanup();
});

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('run-target'));
  roots = [];
});

afterEach(async () => {
  await Promise.all(roots.map((root) => root.close()));
  await cleanup();
});

/** The configuration of these flags over no environment: nothing of the developer's leaks in. */
function configOf(flags: Record<string, unknown> = {}): Config {
  return loadConfig({ flags: { stateDir: join(dir, 'state'), ...flags }, env: {} }).config;
}

/** A composition with a run state of its own, for a test that needs it empty. */
function compose(config: Config): Composition {
  const root = new Composition(config, logger);
  roots.push(root);
  return root;
}

const RUN_FLAGS = {
  source: 'postgres://etl:hunter2@pacs.example:5432/pacs',
  prefix: 'datasets/x',
  studies: 3,
  seed: 'seven',
};

describe('resolveRunTarget', () => {
  it('builds a new run from the configuration, keyed by a digest of its description', async () => {
    const out = join(dir, 'out');
    const config = configOf({ ...RUN_FLAGS, dest: out });
    const target = await resolveRunTarget(shared, config, undefined);
    expect(target.resumedRun).toBeNull();
    expect(target.destination.rootUrl).toBe(pathToFileURL(out).href);
    expect(target.spec).toMatchObject({
      // The stored spec never holds the PACS password.
      source: 'postgres://pacs.example:5432/pacs',
      destination: pathToFileURL(out).href,
      prefix: 'datasets/x',
      queryParameters: { studies: 3, seed: 'seven' },
      splits: { keySource: 'default' },
    });
    expect(target.spec.source).not.toContain('hunter2');
    expect(target.spec.query.name).toBe('chest_dicom_files_and_reports.sql');
    expect(target.spec.query.text).toMatch(/select/i);
    expect(target.spec.deid).toBeUndefined();
    expect(target.runId).toBe(runIdOf(target.spec));

    // The same command finds the same run again.
    const again = await resolveRunTarget(shared, configOf({ ...RUN_FLAGS, dest: out }), undefined);
    expect(again.runId).toBe(target.runId);
    const other = configOf({ ...RUN_FLAGS, dest: out, seed: 'eight' });
    expect((await resolveRunTarget(shared, other, undefined)).runId).not.toBe(target.runId);
  });

  it('records exports and a templates file in the spec, both part of the run id', async () => {
    const out = join(dir, 'out');
    const plain = await resolveRunTarget(shared, configOf({ ...RUN_FLAGS, dest: out }), undefined);
    expect(plain.spec.exports).toBeUndefined();
    const exported = await resolveRunTarget(
      shared,
      configOf({ ...RUN_FLAGS, dest: out, exports: 'messages,llava' }),
      undefined,
    );
    expect(exported.spec.exports).toEqual(['llava', 'messages']);
    expect(exported.runId).not.toBe(plain.runId);
    const file = join(dir, 'templates.json');
    await writeFile(
      file,
      JSON.stringify([{ id: 'impression', target: 'impression', prompt: 'Impression?' }]),
    );
    const templated = await resolveRunTarget(
      shared,
      configOf({ ...RUN_FLAGS, dest: out, exports: 'llava', instructionTemplates: file }),
      undefined,
    );
    expect(templated.spec.instructionTemplates).toEqual([
      { id: 'impression', target: 'impression', requires: [], prompt: 'Impression?' },
    ]);
    await expect(
      resolveRunTarget(
        shared,
        configOf({ ...RUN_FLAGS, dest: out, instructionTemplates: file }),
        undefined,
      ),
    ).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      subject: '--instruction-templates',
      hint: expect.stringContaining('--exports llava,messages') as unknown,
    });
  });

  it('draws and records a seed for a random sample, so it can be repeated', async () => {
    const config = configOf({ ...RUN_FLAGS, dest: join(dir, 'out'), seed: 'random' });
    const root = shared;
    const first = await resolveRunTarget(root, config, undefined);
    const second = await resolveRunTarget(root, config, undefined);
    expect(first.spec.queryParameters.seed).toMatch(/^[0-9a-f]{12}$/);
    expect(second.spec.queryParameters.seed).not.toBe(first.spec.queryParameters.seed);
    expect(second.runId).not.toBe(first.runId);
  });

  it('names the missing PACS database and the missing destination, with the fix', async () => {
    const noSource = configOf({ dest: join(dir, 'out') });
    await expect(resolveRunTarget(shared, noSource, undefined)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: 'no PACS database given',
      hint: expect.stringContaining('--source pglite:DIR') as unknown,
    });
    const noDest = configOf(RUN_FLAGS);
    await expect(resolveRunTarget(shared, noDest, undefined)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: 'no destination given',
      hint: expect.stringContaining('--dest file://DIR') as unknown,
    });
  });

  it('refuses to resume when there is nothing to resume, naming the run asked for', async () => {
    const config = configOf({ ...RUN_FLAGS, dest: join(dir, 'out') });
    const root = compose(config);
    await expect(resolveRunTarget(root, config, true)).rejects.toMatchObject({
      code: 'RUN_NOT_FOUND',
      message: 'there is no unfinished run to resume',
      subject: undefined,
      hint: expect.stringContaining('without --resume') as unknown,
    });
    await expect(resolveRunTarget(root, config, 'feedc0de')).rejects.toMatchObject({
      code: 'RUN_NOT_FOUND',
      message: 'no run has this id',
      subject: 'feedc0de',
    });
  });

  it('resumes a run with its own destination and spec, whatever the flags say now', async () => {
    const config = configOf({ ...RUN_FLAGS, dest: join(dir, 'elsewhere'), prefix: 'other' });
    // Its own state: --resume alone takes the latest unfinished run.
    const root = compose(config);
    const spec: RunSpec = {
      ...TEST_SPEC,
      destination: pathToFileURL(join(dir, 'original')).href,
      prefix: 'kept',
    };
    const ledger = await root.ledger();
    await ledger.createRun('r-old', spec);
    for (const resume of [true, 'r-old'] as const) {
      const target = await resolveRunTarget(root, config, resume);
      expect(target.runId).toBe('r-old');
      expect(target.resumedRun?.runId).toBe('r-old');
      expect(target.spec).toEqual(spec);
      expect(target.destination.rootUrl).toBe(spec.destination);
      expect(target.destination.prefix).toBe('kept');
    }
  });

  it('records the de-identification of a run: options, staff names and the key id', async () => {
    const names = join(dir, 'staff.txt');
    await writeFile(names, '# radiologists\nAda Lovelace\r\n\n  Grace Hopper  \n#gone\n');
    const config = configOf({
      ...RUN_FLAGS,
      dest: join(dir, 'out'),
      deidentify: 'basic',
      secretKey: SECRET,
      deidStaffNames: names,
      deidKeep: '0010,1010',
      deidQuarantine: 'false',
    });
    const { spec, runId } = await resolveRunTarget(shared, config, undefined);
    expect(spec.deid).toEqual({
      profile: 'basic',
      keep: config.deidKeep,
      remove: [],
      staffNames: ['Ada Lovelace', 'Grace Hopper'],
      quarantine: false,
      keyId: new Pseudonymizer(SECRET).keyId(),
    });
    expect(config.deidKeep.length).toBe(1);
    // The SECRET_KEY is also the split key when no --split-key is given.
    expect(spec.splits.keySource).toBe('configured');
    const plain = configOf({ ...RUN_FLAGS, dest: join(dir, 'out') });
    expect((await resolveRunTarget(shared, plain, undefined)).runId).not.toBe(runId);
  });

  it('names an unreadable staff name list and the flag that gives it', async () => {
    const missing = join(dir, 'no-such-names.txt');
    const config = configOf({
      ...RUN_FLAGS,
      dest: join(dir, 'out'),
      deidentify: 'basic',
      secretKey: SECRET,
      deidStaffNames: missing,
    });
    await expect(resolveRunTarget(shared, config, undefined)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      subject: missing,
      message: expect.stringContaining('cannot read the staff name list') as unknown,
      hint: expect.stringContaining('--deid-staff-names') as unknown,
    });
  });
});

describe('requireRun', () => {
  it('returns the run, or RUN_NOT_FOUND saying where the state was looked for', async () => {
    const root = shared;
    const ledger = await root.ledger();
    await ledger.createRun('r1', TEST_SPEC);
    expect(await requireRun(ledger, 'r1')).toMatchObject({ runId: 'r1', status: 'planning' });
    await expect(requireRun(ledger, 'r2')).rejects.toMatchObject({
      code: 'RUN_NOT_FOUND',
      subject: 'r2',
      hint: expect.stringContaining('STATE_DATABASE_URL or --state-dir') as unknown,
    });
  });
});

describe('splitKeyOf', () => {
  it('takes --split-key, else SECRET_KEY, else the public default', () => {
    expect(splitKeyOf(configOf())).toEqual({ key: DEFAULT_SPLIT_KEY, source: 'default' });
    expect(splitKeyOf(configOf({ secretKey: SECRET }))).toEqual({
      key: SECRET,
      source: 'configured',
    });
    expect(splitKeyOf(configOf({ secretKey: SECRET, splitKey: 'the split key itself' }))).toEqual({
      key: 'the split key itself',
      source: 'configured',
    });
  });
});

describe('warnIfNotDeidentified', () => {
  function recorder(): { logger: Logger; warn: ReturnType<typeof vi.fn> } {
    const warn = vi.fn();
    return { logger: { warn } as unknown as Logger, warn };
  }

  it('warns only when patient data as it is goes to a cloud bucket', () => {
    const cloud = recorder();
    warnIfNotDeidentified(cloud.logger, { ...TEST_SPEC, destination: 'gs://bucket' });
    expect(cloud.warn).toHaveBeenCalledTimes(1);
    expect(cloud.warn.mock.calls[0]).toEqual([
      { destination: 'gs://bucket' },
      expect.stringContaining('NOT de-identified'),
    ]);

    const local = recorder();
    warnIfNotDeidentified(local.logger, TEST_SPEC);
    const deidentified = recorder();
    warnIfNotDeidentified(deidentified.logger, {
      ...TEST_SPEC,
      destination: 'gs://bucket',
      deid: {
        profile: 'basic',
        keep: [],
        remove: [],
        staffNames: [],
        quarantine: true,
        keyId: 'k',
      },
    });
    expect(local.warn).not.toHaveBeenCalled();
    expect(deidentified.warn).not.toHaveBeenCalled();
  });
});

describe('sourceOpener', () => {
  function fakeRoot(): {
    root: Composition;
    source: ReturnType<typeof vi.fn>;
    close: ReturnType<typeof vi.fn>;
    client: SqlClient;
  } {
    const close = vi.fn(() => Promise.resolve());
    const client = { close } as unknown as SqlClient;
    const source = vi.fn(() => Promise.resolve(client));
    return { root: { source } as unknown as Composition, source, close, client };
  }

  it('opens the configured PACS, else the one the stored spec names, lazily', async () => {
    const configured = configOf({ source: 'pglite:/pacs' });
    const fake = fakeRoot();
    const open = sourceOpener(fake.root, configured, TEST_SPEC);
    expect(fake.source).not.toHaveBeenCalled();
    expect(await open()).toBe(fake.client);
    expect(fake.source).toHaveBeenCalledWith('pglite:/pacs', configured);

    const unconfigured = configOf();
    const resumed = fakeRoot();
    await sourceOpener(resumed.root, unconfigured, TEST_SPEC)();
    expect(resumed.source).toHaveBeenCalledWith(TEST_SPEC.source, unconfigured);
  });

  it('prepares the source before it is read, and closes it when preparing fails', async () => {
    const config = configOf({ source: 'pglite:/pacs' });
    const prepared = fakeRoot();
    const prepare = vi.fn(() => Promise.resolve());
    await sourceOpener(prepared.root, config, TEST_SPEC, prepare)();
    expect(prepare).toHaveBeenCalledWith(prepared.client);
    expect(prepared.close).not.toHaveBeenCalled();

    const failing = fakeRoot();
    const boom = new Error('sample PACS could not be created');
    await expect(
      sourceOpener(failing.root, config, TEST_SPEC, () => Promise.reject(boom))(),
    ).rejects.toBe(boom);
    expect(failing.close).toHaveBeenCalledTimes(1);
  });
});
