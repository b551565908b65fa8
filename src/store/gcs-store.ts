import { Storage, type Bucket } from '@google-cloud/storage';
import { EtlError } from '../domain/errors.js';
import { checkObjectKey } from '../domain/object-key.js';
import {
  describeBytes,
  objectConflict,
  type ObjectStore,
  type PutResult,
  type StoredObject,
} from '../domain/object-store.js';

export interface GcsStoreOptions {
  bucket: string;
  /** Service account key file; Application Default Credentials when unset. */
  credentialsPath?: string | undefined;
  /**
   * API endpoint, e.g. an emulator's URL. Unset: Google's, or STORAGE_EMULATOR_HOST when the
   * environment sets it (the client reads it itself).
   */
  apiEndpoint?: string | undefined;
}

/** Uploads above this size are resumable: an interrupted one continues instead of restarting. */
const RESUMABLE_ABOVE_BYTES = 8 * 1024 * 1024;

/**
 * The client's retries, stated rather than left to its defaults: up to 5 retries with
 * exponential backoff (×2, at most 64 s apart, 10 min in all) on 408/429/5xx and connection
 * resets. Creates carry ifGenerationMatch, which makes them safe to retry (the client does not
 * retry unconditional uploads).
 */
const RETRY_OPTIONS = {
  autoRetry: true,
  maxRetries: 5,
  retryDelayMultiplier: 2,
  maxRetryDelay: 64,
  totalTimeout: 600,
} as const;

interface ApiError {
  code?: number | string;
  status?: number;
  response?: { status?: number };
  message?: string;
}

/**
 * The HTTP status of a client error. The JSON API calls fail with an ApiError whose `code` is
 * the status; multipart uploads fail with a GaxiosError whose `code` may be a string ('403') or
 * a network code ('ECONNRESET') and whose status is on `response`.
 */
function statusOf(error: unknown): number | undefined {
  const { code, status, response } = (error ?? {}) as ApiError;
  if (typeof code === 'number') return code;
  if (typeof code === 'string' && /^\d{3}$/.test(code)) return Number(code);
  return response?.status ?? status;
}

function storeFailed(key: string, action: string, error: unknown): EtlError {
  const status = statusOf(error);
  const message = (error as ApiError).message ?? String(error);
  if (status === 403 || status === 401) {
    return new EtlError('DESTINATION_UNAVAILABLE', `${action} refused (${status}): ${message}`, {
      subject: key,
      hint: 'the credentials need storage.objects.create and storage.objects.get on the bucket (roles/storage.objectCreator plus objectViewer)',
      cause: error,
    });
  }
  return new EtlError('STORE_FAILED', `could not ${action}: ${message}`, {
    subject: key,
    retryable: status === undefined || status === 408 || status === 429 || status >= 500,
    cause: error,
  });
}

/** Metadata as GCS reports it, with the SHA-256 we store beside it on upload. */
function storedObject(key: string, metadata: Record<string, unknown>): StoredObject {
  const custom = (metadata.metadata ?? {}) as Record<string, unknown>;
  return {
    key,
    size: Number(metadata.size ?? 0),
    md5: typeof metadata.md5Hash === 'string' ? metadata.md5Hash : '',
    sha256: typeof custom.sha256 === 'string' ? custom.sha256 : '',
  };
}

/**
 * A Google Cloud Storage bucket behind the ObjectStore interface. Exactly once: `create`
 * uploads with ifGenerationMatch=0, so an object is never written twice; a 412 means it is
 * there already, and its MD5 decides between "already delivered" and a conflict.
 */
export async function openGcsStore(options: GcsStoreOptions): Promise<ObjectStore> {
  const storage = new Storage({
    retryOptions: RETRY_OPTIONS,
    ...(options.credentialsPath === undefined ? {} : { keyFilename: options.credentialsPath }),
    ...(options.apiEndpoint === undefined ? {} : { apiEndpoint: options.apiEndpoint }),
  });
  const bucket: Bucket = storage.bucket(options.bucket);
  const displayUrl = `gs://${options.bucket}`;
  try {
    const [exists] = await bucket.exists();
    if (!exists) {
      throw new EtlError('DESTINATION_UNAVAILABLE', 'the bucket does not exist', {
        subject: displayUrl,
        hint: 'create it, or check GCS_BUCKET_NAME / --dest',
      });
    }
  } catch (error) {
    if (error instanceof EtlError) throw error;
    const status = statusOf(error);
    throw new EtlError(
      'DESTINATION_UNAVAILABLE',
      `cannot reach the bucket${status === undefined ? '' : ` (${status})`}: ${(error as ApiError).message ?? String(error)}`,
      {
        subject: displayUrl,
        hint:
          status === 401 || status === 403
            ? 'check GCS_CREDENTIALS_PATH or Application Default Credentials, and that they may read the bucket'
            : 'check the bucket name and the network path to Cloud Storage',
        cause: error,
      },
    );
  }

  const stat = async (key: string): Promise<StoredObject | null> => {
    checkObjectKey(key);
    try {
      const [metadata] = await bucket.file(key).getMetadata();
      return storedObject(key, metadata);
    } catch (error) {
      if (statusOf(error) === 404) return null;
      throw storeFailed(key, 'read object metadata', error);
    }
  };

  const upload = async (
    key: string,
    data: Uint8Array,
    contentType: string,
    ifGenerationMatch: number,
  ): Promise<PutResult> => {
    const described = describeBytes(key, data);
    await bucket.file(key).save(Buffer.from(data.buffer, data.byteOffset, data.byteLength), {
      resumable: data.byteLength > RESUMABLE_ABOVE_BYTES,
      validation: 'md5',
      contentType,
      metadata: { contentType, metadata: { sha256: described.sha256 } },
      preconditionOpts: { ifGenerationMatch },
    });
    return { ...described, outcome: 'created' };
  };

  return {
    displayUrl,
    stat,
    async create(key, data, contentType) {
      checkObjectKey(key);
      try {
        return await upload(key, data, contentType, 0);
      } catch (error) {
        if (statusOf(error) !== 412) throw storeFailed(key, 'create object', error);
        const existing = await stat(key);
        const described = describeBytes(key, data);
        if (existing !== null && existing.md5 === described.md5) {
          return { ...described, outcome: 'already-present' };
        }
        throw objectConflict(key, existing?.md5 ?? '?', described.md5);
      }
    },
    async replace(key, data, contentType) {
      checkObjectKey(key);
      const described = describeBytes(key, data);
      try {
        const [metadata] = await bucket
          .file(key)
          .getMetadata()
          .catch((error: unknown) => {
            // Absent: the replacement is a create (generation 0).
            if (statusOf(error) === 404) return [{ generation: 0, md5Hash: '' }];
            throw error;
          });
        const current = metadata as { generation?: string | number; md5Hash?: string };
        if (current.md5Hash === described.md5) return { ...described, outcome: 'already-present' };
        // The generation we saw: a concurrent writer makes this a 412 instead of a lost update.
        return await upload(key, data, contentType, Number(current.generation ?? 0));
      } catch (error) {
        throw storeFailed(key, 'replace object', error);
      }
    },
    async read(key) {
      checkObjectKey(key);
      try {
        const [contents] = await bucket.file(key).download();
        return new Uint8Array(contents.buffer, contents.byteOffset, contents.byteLength);
      } catch (error) {
        if (statusOf(error) === 404) return null;
        throw storeFailed(key, 'read object', error);
      }
    },
    close: () => Promise.resolve(),
  };
}
