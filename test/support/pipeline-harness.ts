import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { ObjectStore } from '../../src/domain/object-store.js';
import type { SqlClient } from '../../src/domain/sql.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { RenderPool } from '../../src/pipeline/render-pool.js';
import { openPglite } from '../../src/sql/pglite-client.js';
import { openLocalStore } from '../../src/store/local-store.js';

/** What a pipeline test works with: set by the hooks pipelineHarness registers. */
export interface PipelineHarness {
  /** The file's temp directory (the ledger lives in `state/` under it). */
  dir: string;
  state: SqlClient;
  ledger: Ledger;
  /** One render thread. */
  pool: RenderPool;
  /** The store of the current test, once freshStore() made it, and its directory. */
  store: ObjectStore;
  root: string;
  freshStore(): Promise<void>;
}

/**
 * Registers, in the calling describe block, the hooks that give its tests an embedded ledger
 * and a render pool for the whole file (PGlite takes seconds to open: one ledger per file, one
 * run id per test) and a folder store per test, removed after it.
 */
export function pipelineHarness(label: string): PipelineHarness {
  let storeOpened = false;
  const harness = {
    async freshStore() {
      harness.root = await mkdtemp(join(tmpdir(), `eden-${label}-store-`));
      harness.store = await openLocalStore(harness.root);
      storeOpened = true;
    },
  } as PipelineHarness;
  beforeAll(async () => {
    harness.dir = await mkdtemp(join(tmpdir(), `eden-${label}-`));
    harness.state = await openPglite(join(harness.dir, 'state'), 'test state');
    harness.ledger = await Ledger.open(harness.state);
    harness.pool = RenderPool.create({ threads: 1 });
  });
  afterAll(async () => {
    await harness.pool.close();
    await harness.state.close();
    await rm(harness.dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    if (!storeOpened) return;
    storeOpened = false;
    await harness.store.close();
    await rm(harness.root, { recursive: true, force: true });
  });
  return harness;
}
