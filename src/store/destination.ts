import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { EtlError, isEtlError } from '../domain/errors.js';
import { redactUrl } from '../domain/redact.js';
import { checkObjectKey, joinKey } from '../domain/object-key.js';

/**
 * Where a dataset goes. `prefix` is the dataset's folder inside the destination: object keys
 * are `<prefix>/<dataset-relative key>` (see object-keys.ts), the same shape in a local
 * directory and in a bucket.
 */
export type Destination =
  | {
      kind: 'file';
      /** Absolute directory the local store is opened on. */
      root: string;
      prefix: string;
      /** Where the dataset lands, as a URL for humans. */
      displayUrl: string;
    }
  | {
      kind: 'gs';
      bucket: string;
      /** The URL's path joined with the configured prefix. */
      prefix: string;
      displayUrl: string;
    };

const ACCEPTED =
  'expected file:///absolute/dir, file://./relative/dir, a plain path (/abs/dir, ./rel/dir) or gs://bucket[/path]';

// GCS bucket names: lowercase letters, digits, '-', '_' and '.', starting and ending with a
// letter or digit, 3 to 222 characters (63 without dots; GCS itself enforces the finer rules).
const GCS_BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
const SCHEME = /^([a-z][a-z0-9+.-]*):/i;

function invalid(url: string, problem: string): EtlError {
  const shown = redactUrl(url);
  return new EtlError(
    'CONFIG_INVALID',
    `destination ${JSON.stringify(shown)} ${problem}; ${ACCEPTED}`,
    {
      subject: shown,
    },
  );
}

/** Strips leading and trailing slashes and validates the rest like an object key. */
function normalisePrefix(prefix: string, what: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return '';
  try {
    return checkObjectKey(trimmed);
  } catch (error) {
    if (!isEtlError(error)) throw error;
    throw new EtlError(
      'CONFIG_INVALID',
      `${what} ${JSON.stringify(prefix)} is unusable: ${error.message}`,
      {
        subject: prefix,
        hint: "use '/'-separated plain names, e.g. eden-dataset-vlms/sample-test",
      },
    );
  }
}

function fileRoot(url: string): string {
  const rest = url.slice('file://'.length);
  if (rest.includes('?') || rest.includes('#')) {
    throw invalid(url, "has '?' or '#' (percent-encode them, or give a plain path)");
  }
  // `file://./output` is not a standard file URL (its host would be '.'), but the design and
  // the original's users write relative destinations that way, so it means cwd-relative.
  if (rest === '.' || rest === '..' || rest.startsWith('./') || rest.startsWith('../')) {
    try {
      return resolve(decodeURIComponent(rest));
    } catch (error) {
      throw invalid(url, `has a malformed percent-escape (${(error as Error).message})`);
    }
  }
  if (rest.startsWith('/') || rest.startsWith('localhost/')) {
    try {
      return fileURLToPath(url);
    } catch (error) {
      throw invalid(url, `is not a usable file URL (${(error as Error).message})`);
    }
  }
  throw invalid(url, 'names a remote host; only local file URLs are supported');
}

export function parseDestination(url: string, prefix: string): Destination {
  if (typeof url !== 'string' || url === '') throw invalid(String(url), 'is empty');
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();

  if (scheme === 'gs') {
    if (!url.startsWith('gs://')) throw invalid(url, 'is not of the form gs://bucket[/path]');
    const rest = url.slice('gs://'.length);
    if (rest.includes('?') || rest.includes('#')) throw invalid(url, "has '?' or '#'");
    const slash = rest.indexOf('/');
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    if (!GCS_BUCKET.test(bucket)) {
      throw invalid(
        url,
        `has bucket name ${JSON.stringify(bucket)}, which is not a valid GCS bucket name (3-222 of a-z 0-9 - _ .)`,
      );
    }
    const path = normalisePrefix(slash === -1 ? '' : rest.slice(slash + 1), 'destination path');
    const own = normalisePrefix(prefix, 'destination prefix');
    const joined = path === '' ? own : own === '' ? path : joinKey(path, own);
    return {
      kind: 'gs',
      bucket,
      prefix: joined === '' ? '' : checkObjectKey(joined),
      displayUrl: joined === '' ? `gs://${bucket}` : `gs://${bucket}/${joined}`,
    };
  }

  let root: string;
  if (scheme === 'file') {
    if (!url.startsWith('file://')) throw invalid(url, 'is not of the form file://...');
    root = fileRoot(url);
  } else if (scheme === undefined) {
    root = resolve(url);
  } else {
    throw invalid(
      url,
      `uses the unsupported scheme ${JSON.stringify(scheme)} (a relative path with a ':' must start with ./)`,
    );
  }
  const normalised = normalisePrefix(prefix, 'destination prefix');
  return {
    kind: 'file',
    root,
    prefix: normalised,
    displayUrl: pathToFileURL(resolve(root, ...normalised.split('/'))).href,
  };
}
