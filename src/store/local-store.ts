import { randomBytes, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  access,
  constants,
  link,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  stat,
  unlink,
} from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EtlError } from '../domain/errors.js';
import { isProcessAlive } from '../domain/process-alive.js';
import { checkObjectKey } from '../domain/object-key.js';
import {
  describeBytes,
  objectConflict,
  type ObjectStore,
  type PutResult,
  type StoredObject,
} from '../domain/object-store.js';

/**
 * Temp files live inside the root so that link()/rename() into place never cross a filesystem
 * boundary (which would make them copies, not atomic). The name carries host and pid so a later
 * open can tell abandoned files (their writer was killed) from files being written right now.
 */
export const LOCAL_TEMP_DIR = '.eden-tmp';
const TEMP_NAME = /^(?<host>[A-Za-z0-9.-]+)_(?<pid>\d+)_[0-9a-f]{16}\.tmp$/;
// Hostnames may hold characters we use as separators; only our own host's files are ever swept.
const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, '-') || 'localhost';

// A write that raced with a concurrent delete of the same key or of its directory is retried;
// more than this many races in a row means something else is churning the destination.
const MAX_ATTEMPTS = 3;

const PERMANENT_FS_ERRORS: Record<string, string> = {
  ENOSPC: 'free space on the destination filesystem, then rerun',
  EDQUOT: 'raise the disk quota or free space on the destination, then rerun',
  EACCES: 'give the user running the ETL write permission on the destination directory',
  EPERM: 'give the user running the ETL write permission on the destination directory',
  EROFS: 'the destination filesystem is read-only: choose a writable destination',
  ENOTDIR: 'a file stands where a directory of this key is needed: move it away',
  EISDIR: 'a directory stands where this object belongs: move it away',
  ENAMETOOLONG: 'shorten the destination prefix or the instance ids',
  EXDEV: 'part of the prefix is a mount point: point the destination at that filesystem instead',
};

/** `<host>_<pid>_<random>.tmp`, inside `.eden-tmp/` of the store's root. */
export function tempFileName(pid: number): string {
  return `${HOST}_${pid}_${randomBytes(8).toString('hex')}.tmp`;
}

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

function storeFailed(key: string, action: string, error: unknown, code = errnoOf(error)): EtlError {
  if (error instanceof EtlError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  const permanentHint = code === undefined ? undefined : PERMANENT_FS_ERRORS[code];
  return new EtlError('STORE_FAILED', `could not ${action}: ${reason}`, {
    subject: key,
    hint: permanentHint ?? 'check the destination filesystem; the write will be retried',
    retryable: permanentHint === undefined,
    cause: error,
  });
}

// Encoded the way StoredObject reports them (GCS's MD5 form, hex SHA-256).
const DIGEST_ENCODING = { md5: 'base64', sha256: 'hex' } as const;
type Digest = keyof typeof DIGEST_ENCODING;

async function digestFile<D extends Digest>(
  path: string,
  digests: readonly D[],
): Promise<{ size: number } & Record<D, string>> {
  const hashes = digests.map((digest) => createHash(digest));
  let size = 0;
  // Streamed in large chunks: DICOM objects can be hundreds of megabytes.
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const bytes = chunk as Buffer;
    for (const hash of hashes) hash.update(bytes);
    size += bytes.byteLength;
  }
  const result: Record<string, string | number> = { size };
  digests.forEach((digest, index) => {
    result[digest] = hashes[index]!.digest(DIGEST_ENCODING[digest]);
  });
  return result as { size: number } & Record<D, string>;
}

/**
 * Makes a new directory entry durable. Without it a power cut could lose an object the ledger
 * already records as delivered, and a resumed run would not write it again.
 */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some filesystems (network mounts) cannot fsync a directory; they order metadata themselves.
    if (errnoOf(error) !== 'EINVAL') throw error;
  } finally {
    await handle.close();
  }
}

class LocalStore implements ObjectStore {
  readonly displayUrl: string;
  private readonly tempDir: string;
  private readonly knownDirs = new Set<string>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(private readonly root: string) {
    this.displayUrl = pathToFileURL(root).href;
    this.tempDir = join(root, LOCAL_TEMP_DIR);
  }

  // Local files carry no metadata, so the content type is not stored; GCS stores it.
  create(key: string, data: Uint8Array, _contentType: string): Promise<PutResult> {
    return this.track(key, async (path) => {
      const wanted = describeBytes(key, data);
      const present = await this.existing(key, path, ['md5']);
      if (present !== null) return this.settleExisting(key, present, wanted);
      const temp = await this.writeTemp(key, data);
      try {
        for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
          await this.ensureParent(key, path);
          try {
            // link() fails if the name exists, so of two concurrent writers exactly one wins.
            await link(temp, path);
            await syncDirectory(dirname(path));
            return { ...wanted, outcome: 'created' };
          } catch (error) {
            if (errnoOf(error) === 'ENOENT') {
              // The parent directory vanished under us: create it again.
              this.knownDirs.delete(dirname(path));
              continue;
            }
            if (errnoOf(error) !== 'EEXIST') throw error;
          }
          const winner = await this.existing(key, path, ['md5']);
          if (winner !== null) return this.settleExisting(key, winner, wanted);
          // The other object was deleted between link() and stat(): try again.
        }
        throw new EtlError('STORE_FAILED', 'the key kept changing while it was being created', {
          subject: key,
          hint: 'make sure no other tool is writing or deleting under this prefix',
        });
      } catch (error) {
        throw storeFailed(key, `create ${path}`, error);
      } finally {
        await this.removeTemp(temp);
      }
    });
  }

  // Local files carry no metadata, so the content type is not stored; GCS stores it.
  replace(key: string, data: Uint8Array, _contentType: string): Promise<PutResult> {
    return this.track(key, async (path) => {
      const wanted = describeBytes(key, data);
      const present = await this.existing(key, path, ['md5']);
      if (present !== null && present.md5 === wanted.md5) {
        return { ...wanted, outcome: 'already-present' };
      }
      const temp = await this.writeTemp(key, data);
      try {
        for (let attempt = 1; ; attempt += 1) {
          await this.ensureParent(key, path);
          try {
            await rename(temp, path);
            await syncDirectory(dirname(path));
            return { ...wanted, outcome: 'created' };
          } catch (error) {
            if (errnoOf(error) !== 'ENOENT' || attempt === MAX_ATTEMPTS) throw error;
            this.knownDirs.delete(dirname(path));
          }
        }
      } catch (error) {
        throw storeFailed(key, `replace ${path}`, error);
      } finally {
        await this.removeTemp(temp);
      }
    });
  }

  stat(key: string): Promise<StoredObject | null> {
    return this.track(key, (path) => this.existing(key, path, ['md5', 'sha256']));
  }

  read(key: string): Promise<Uint8Array | null> {
    return this.track(key, async (path) => {
      try {
        const data = await readFile(path);
        // A plain Uint8Array view, as every backend returns: callers must not rely on Buffer.
        return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      } catch (error) {
        if (isAbsent(error)) return null;
        throw storeFailed(key, `read ${path}`, error);
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
  }

  private async track<T>(key: string, operation: (path: string) => Promise<T>): Promise<T> {
    if (this.closed) {
      throw new EtlError('INTERNAL', 'the object store was used after close()', { subject: key });
    }
    const promise = operation(this.pathOf(key));
    this.inFlight.add(promise);
    try {
      return await promise;
    } finally {
      this.inFlight.delete(promise);
    }
  }

  private pathOf(key: string): string {
    checkObjectKey(key);
    if (key === LOCAL_TEMP_DIR || key.startsWith(`${LOCAL_TEMP_DIR}/`)) {
      throw new EtlError('INVALID_IDENTIFIER', `object key ${JSON.stringify(key)} is reserved`, {
        subject: key,
        hint: `${LOCAL_TEMP_DIR}/ holds the local store's temp files; use another prefix`,
      });
    }
    return join(this.root, ...key.split('/'));
  }

  /**
   * The object at `path` with the requested digests, or null when there is none. Comparing
   * content needs only the MD5: skipping SHA-256 halves the cost of recognising a rerun.
   */
  private async existing<D extends Digest>(
    key: string,
    path: string,
    digests: readonly D[],
  ): Promise<({ key: string; size: number } & Record<D, string>) | null> {
    try {
      const info = await stat(path);
      if (!info.isFile()) {
        throw new EtlError('STORE_FAILED', `${path} exists but is not a regular file`, {
          subject: key,
          hint: PERMANENT_FS_ERRORS.EISDIR,
          retryable: false,
        });
      }
      return { key, ...(await digestFile(path, digests)) };
    } catch (error) {
      if (isAbsent(error)) return null;
      throw storeFailed(key, `inspect ${path}`, error);
    }
  }

  private settleExisting(key: string, present: { md5: string }, wanted: StoredObject): PutResult {
    if (present.md5 !== wanted.md5) throw objectConflict(key, present.md5, wanted.md5);
    return { ...wanted, outcome: 'already-present' };
  }

  private async ensureParent(key: string, path: string): Promise<void> {
    const parent = dirname(path);
    if (this.knownDirs.has(parent)) return;
    try {
      await mkdir(parent, { recursive: true });
    } catch (error) {
      // mkdir reports EEXIST when the directory's own name is taken by a file.
      const code = errnoOf(error) === 'EEXIST' ? 'ENOTDIR' : errnoOf(error);
      throw storeFailed(key, `create directory ${parent}`, error, code);
    }
    this.knownDirs.add(parent);
  }

  /** Writes `data` to a fresh temp file, flushed to disk so a crash cannot link an empty file. */
  private async writeTemp(key: string, data: Uint8Array): Promise<string> {
    const temp = join(this.tempDir, tempFileName(process.pid));
    try {
      const handle = await open(temp, 'wx');
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return temp;
    } catch (error) {
      await this.removeTemp(temp);
      throw storeFailed(key, `write temp file ${temp}`, error);
    }
  }

  private async removeTemp(temp: string): Promise<void> {
    try {
      await unlink(temp);
    } catch {
      // Already gone is the goal. Any other failure leaves a file that the first open after
      // this process exits sweeps; it must not hide the error that brought us here.
    }
  }

  /** Removes temp files of writers on this host that no longer run (killed mid-write). */
  async sweep(): Promise<void> {
    for (const name of await readdir(this.tempDir)) {
      const groups = TEMP_NAME.exec(name)?.groups;
      if (groups === undefined || groups.host !== HOST) continue;
      const pid = Number(groups.pid);
      if (pid === process.pid || isProcessAlive(pid)) continue;
      try {
        await unlink(join(this.tempDir, name));
      } catch (error) {
        // Another process opening the same destination may have swept it first.
        if (errnoOf(error) !== 'ENOENT') throw error;
      }
    }
  }
}

function isAbsent(error: unknown): boolean {
  // ENOTDIR: a parent of the key is a file, so no object can exist under it.
  const code = errnoOf(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Opens a local directory as an object store (file:// destinations). Creates the root if
 * missing, and removes temp files abandoned by processes that were killed mid-write.
 */
export async function openLocalStore(rootDir: string): Promise<ObjectStore> {
  const root = resolve(rootDir);
  const store = new LocalStore(root);
  try {
    await mkdir(join(root, LOCAL_TEMP_DIR), { recursive: true });
    // mkdir succeeds on existing directories we cannot write to; this does not.
    await access(join(root, LOCAL_TEMP_DIR), constants.W_OK);
    await access(root, constants.W_OK);
    await store.sweep();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new EtlError('DESTINATION_UNAVAILABLE', `cannot write to ${root}${sep}: ${reason}`, {
      subject: pathToFileURL(root).href,
      hint: 'choose a destination directory the ETL user can create and write',
      cause: error,
    });
  }
  return store;
}
