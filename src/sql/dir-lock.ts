import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { EtlError } from '../domain/errors.js';
import { isProcessAlive } from '../domain/process-alive.js';

export interface DirLock {
  release(): Promise<void>;
}

const LOCK_FILE = 'eden.lock';

// Locks this process holds: a lock file with our own pid is ours only if it is in here (else a
// dead process of the same pid left it). Two PGlite instances on one directory corrupt it even
// in one process.
const HELD = new Set<string>();

/**
 * Takes an exclusive lock on `dir` by creating `dir/eden.lock` with our pid. A lock left by a
 * dead process (kill -9) is taken over; a live holder, this process included, makes this throw
 * STATE_LOCKED.
 */
export async function acquireDirLock(dir: string, purpose: string): Promise<DirLock> {
  const path = join(dir, LOCK_FILE);
  if (HELD.has(path)) {
    throw new EtlError('STATE_LOCKED', `${purpose} is already open in this process`, {
      subject: dir,
      hint: 'open it once and share it (an internal error if you see this)',
    });
  }
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      HELD.add(path);
      return {
        release: async () => {
          HELD.delete(path);
          await rm(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(holder) && holder !== process.pid && isProcessAlive(holder)) {
        throw new EtlError('STATE_LOCKED', `${purpose} is in use by process ${holder}`, {
          subject: dir,
          hint: 'wait for that run to finish, or stop it, then try again',
        });
      }
      // Stale lock from a process that died: remove it and try once more.
      await rm(path, { force: true });
    }
  }
  throw new EtlError('STATE_LOCKED', `could not lock ${purpose}`, { subject: dir });
}
