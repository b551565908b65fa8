import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireDirLock } from '../../../src/sql/dir-lock.js';
import { tempDir } from '../../support/cli.js';

let dir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('dirlock'));
});

afterEach(async () => {
  await cleanup();
});

describe('acquireDirLock', () => {
  it('refuses a second holder in the same process until the first releases', async () => {
    const lock = await acquireDirLock(dir, 'the run state');
    await expect(acquireDirLock(dir, 'the run state')).rejects.toMatchObject({
      code: 'STATE_LOCKED',
      message: 'the run state is already open in this process',
    });
    await lock.release();
    const again = await acquireDirLock(dir, 'the run state');
    await again.release();
  });

  it('refuses a directory a live process holds, naming it', async () => {
    await writeFile(join(dir, 'eden.lock'), `${process.ppid}\n`);
    await expect(acquireDirLock(dir, 'the run state')).rejects.toMatchObject({
      code: 'STATE_LOCKED',
      message: `the run state is in use by process ${process.ppid}`,
    });
  });

  it('takes over the lock of a process that died, and of an earlier holder of its own pid', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    await writeFile(join(dir, 'eden.lock'), `${dead}\n`);
    const lock = await acquireDirLock(dir, 'the run state');
    expect(await readFile(join(dir, 'eden.lock'), 'utf8')).toBe(`${process.pid}\n`);
    await lock.release();
    // Left by a process that had this pid before us (a kill -9 and a pid reused).
    await writeFile(join(dir, 'eden.lock'), `${process.pid}\n`);
    const ours = await acquireDirLock(dir, 'the run state');
    await ours.release();
  });
});
