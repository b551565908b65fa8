import { EtlError } from './errors.js';

/**
 * What an object key and an instance id may be: the same rules for local files and GCS objects,
 * so a dataset written to one can be copied to the other unchanged. The dataset's own layout is
 * in src/dataset/object-keys.ts.
 */

// Object names must also be file names on a local destination; 255 bytes is the usual
// file-name limit, and the id leaves room for the extension and any temp-file decoration.
const MAX_INSTANCE_ID_BYTES = 200;
// GCS's limit on object names; local paths stay well within PATH_MAX at this length too.
const MAX_KEY_BYTES = 1024;
// C0 controls, DEL and C1 controls: invisible in listings, and CR/LF are forbidden in GCS names.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

function invalidIdentifier(what: string, value: string, expected: string): EtlError {
  return new EtlError('INVALID_IDENTIFIER', `${what} ${JSON.stringify(value)} ${expected}`, {
    subject: value,
    hint: 'fix the value at its source (the selection query or the configuration)',
  });
}

/**
 * Throws INVALID_IDENTIFIER unless `id` can be used as one file name: `{id}.dcm` must neither
 * escape its directory nor be hidden, and must be writable on any filesystem we target.
 */
export function checkInstanceId(id: string): string {
  const expected = 'is unusable as a file name: expected';
  if (typeof id !== 'string' || id.length === 0) {
    throw invalidIdentifier('instance id', String(id), `${expected} a non-empty string`);
  }
  if (id.includes('/') || id.includes('\\')) {
    throw invalidIdentifier('instance id', id, `${expected} no '/' or '\\'`);
  }
  if (id.includes('..')) throw invalidIdentifier('instance id', id, `${expected} no '..'`);
  if (id.startsWith('.')) throw invalidIdentifier('instance id', id, `${expected} no leading '.'`);
  if (CONTROL_CHARS.test(id)) {
    throw invalidIdentifier('instance id', id, `${expected} no NUL or control characters`);
  }
  const bytes = Buffer.byteLength(id, 'utf8');
  if (bytes > MAX_INSTANCE_ID_BYTES) {
    throw invalidIdentifier(
      'instance id',
      id,
      `${expected} at most ${MAX_INSTANCE_ID_BYTES} bytes of UTF-8, got ${bytes}`,
    );
  }
  return id;
}

/**
 * Throws INVALID_IDENTIFIER unless `key` is a relative, '/'-separated object key whose every
 * segment is a plain name. The same rules hold for local files and GCS objects, so a dataset
 * written to one can be copied to the other unchanged.
 */
export function checkObjectKey(key: string): string {
  const expected = 'is not a valid object key: expected';
  if (typeof key !== 'string' || key.length === 0) {
    throw invalidIdentifier('object key', String(key), `${expected} a non-empty string`);
  }
  if (key.startsWith('/')) throw invalidIdentifier('object key', key, `${expected} no leading '/'`);
  if (key.includes('\\')) throw invalidIdentifier('object key', key, `${expected} no '\\'`);
  if (CONTROL_CHARS.test(key)) {
    throw invalidIdentifier('object key', key, `${expected} no NUL or control characters`);
  }
  for (const segment of key.split('/')) {
    if (segment === '') {
      throw invalidIdentifier(
        'object key',
        key,
        `${expected} no empty segment ('//' or '/' at the end)`,
      );
    }
    if (segment === '.' || segment === '..') {
      throw invalidIdentifier('object key', key, `${expected} no '.' or '..' segment`);
    }
  }
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) {
    throw invalidIdentifier(
      'object key',
      key,
      `${expected} at most ${MAX_KEY_BYTES} bytes, got ${bytes}`,
    );
  }
  return key;
}

/** Joins a (possibly empty) prefix and a relative key. */
export function joinKey(prefix: string, relative: string): string {
  return prefix === '' ? relative : `${prefix}/${relative}`;
}
