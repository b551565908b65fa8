import { createHash } from 'node:crypto';
import { EtlError } from './errors.js';

/**
 * Where dataset objects go. Backends: local directory (file://) now, GCS later. Both give the
 * same guarantees, which is what makes reruns safe:
 * - `create` never overwrites: an object that exists with other bytes is a conflict, not
 *   something to fix silently (GCS: `ifGenerationMatch: 0`, 412 → compare MD5);
 * - a reader never sees a partial object.
 */
export interface StoredObject {
  key: string;
  size: number;
  /** base64 MD5, as GCS reports it */
  md5: string;
  /** hex SHA-256 */
  sha256: string;
}

export type PutOutcome = 'created' | 'already-present';

export interface PutResult extends StoredObject {
  outcome: PutOutcome;
}

export interface ObjectStore {
  /** Where objects go, for humans (no credentials). */
  readonly displayUrl: string;
  /**
   * Creates `key` unless it exists. Exists with the same MD5 → 'already-present' (nothing
   * written). Exists with different content → throws EtlError OBJECT_CONFLICT naming the key
   * and both checksums, never overwrites. Atomic: a reader never sees a partial object.
   */
  create(key: string, data: Uint8Array, contentType: string): Promise<PutResult>;
  /**
   * Writes `key`, atomically replacing what is there (dataset files: CSV, README). Identical
   * content already there → 'already-present', nothing written.
   */
  replace(key: string, data: Uint8Array, contentType: string): Promise<PutResult>;
  stat(key: string): Promise<StoredObject | null>;
  read(key: string): Promise<Uint8Array | null>;
  /** Waits for operations in flight; later calls throw. */
  close(): Promise<void>;
}

/** The checksums every backend reports, computed the way GCS does (MD5 in base64). */
export function describeBytes(key: string, data: Uint8Array): StoredObject {
  return {
    key,
    size: data.byteLength,
    md5: createHash('md5').update(data).digest('base64'),
    sha256: createHash('sha256').update(data).digest('hex'),
  };
}

export function objectConflict(key: string, existingMd5: string, newMd5: string): EtlError {
  return new EtlError(
    'OBJECT_CONFLICT',
    `the destination already holds a different object (stored md5 ${existingMd5}, new md5 ${newMd5}); it was left unchanged`,
    {
      subject: key,
      hint: 'another run or tool wrote this key: write this dataset under a fresh prefix, or remove the object if it is known to be wrong',
    },
  );
}
