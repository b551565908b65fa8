import { EtlError } from '../domain/errors.js';

/**
 * The dataset layout (DESIGN.md "Output layout"), compatible with the original's bucket:
 *
 *   <prefix>/README-dataset.md
 *   <prefix>/dicom-reports-extracted-sample.csv
 *   <prefix>/failures.csv, excluded.csv
 *   <prefix>/metadata.jsonl, studies.jsonl, manifest.json
 *   <prefix>/dicom-files/{instance_id}.dcm
 *   <prefix>/images-jpg/{instance_id}.jpg
 *
 * Two forms of each key: `relative` (to the dataset prefix) is what the CSV and the ledger
 * record, so the dataset stays valid when copied elsewhere; `full` (relative to the destination
 * root) is what an ObjectStore takes.
 */

export const CONTENT_TYPES = {
  dicom: 'application/dicom',
  jpeg: 'image/jpeg',
  png: 'image/png',
  csv: 'text/csv; charset=utf-8',
  markdown: 'text/markdown; charset=utf-8',
  jsonl: 'application/jsonl; charset=utf-8',
  json: 'application/json; charset=utf-8',
} as const;

export const DICOM_DIR = 'dicom-files';
type ImageFormat = 'jpeg' | 'png';

/** Where the rendered images of a format go: `images-jpg/*.jpg` (the original's), `images-png/*.png`. */
export function imageLayout(format: ImageFormat): { dir: string; extension: string } {
  return format === 'png'
    ? { dir: 'images-png', extension: 'png' }
    : { dir: 'images-jpg', extension: 'jpg' };
}
export const DATASET_CSV_NAME = 'dicom-reports-extracted-sample.csv';
export const DATASET_README_NAME = 'README-dataset.md';
export const FAILURES_CSV_NAME = 'failures.csv';
export const EXCLUDED_CSV_NAME = 'excluded.csv';
/** Hugging Face `imagefolder` metadata: beside the image folders, `file_name` relative to it. */
export const METADATA_JSONL_NAME = 'metadata.jsonl';
export const STUDIES_JSONL_NAME = 'studies.jsonl';
export const MANIFEST_NAME = 'manifest.json';

export interface DatasetObjectKey {
  /** Relative to the dataset prefix, e.g. `dicom-files/123.dcm`. */
  readonly relative: string;
  /** Relative to the destination root, e.g. `eden-dataset-vlms/sample-test/dicom-files/123.dcm`. */
  readonly full: string;
}

export interface DatasetKeys {
  readonly prefix: string;
  dicom(instanceId: string): DatasetObjectKey;
  /**
   * The rendered image of an instance: `images-jpg/{id}.jpg` (`images-png/{id}.png`), or
   * `{id}_{frame}` when every frame is rendered (frames numbered from 1).
   */
  image(instanceId: string, format: ImageFormat, frame: number | null): DatasetObjectKey;
  readonly csv: DatasetObjectKey;
  readonly readme: DatasetObjectKey;
  readonly failures: DatasetObjectKey;
  readonly excluded: DatasetObjectKey;
  readonly metadata: DatasetObjectKey;
  readonly studies: DatasetObjectKey;
  readonly manifest: DatasetObjectKey;
}

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

export function datasetKeys(prefix: string): DatasetKeys {
  if (prefix !== '') checkObjectKey(prefix);
  const key = (relative: string): DatasetObjectKey =>
    Object.freeze({ relative, full: joinKey(prefix, relative) });
  return Object.freeze({
    prefix,
    dicom: (instanceId: string) => key(`${DICOM_DIR}/${checkInstanceId(instanceId)}.dcm`),
    image: (instanceId: string, format: ImageFormat, frame: number | null) => {
      const layout = imageLayout(format);
      const name = `${checkInstanceId(instanceId)}${frame === null ? '' : `_${frame}`}`;
      return key(`${layout.dir}/${name}.${layout.extension}`);
    },
    csv: key(DATASET_CSV_NAME),
    readme: key(DATASET_README_NAME),
    failures: key(FAILURES_CSV_NAME),
    excluded: key(EXCLUDED_CSV_NAME),
    metadata: key(METADATA_JSONL_NAME),
    studies: key(STUDIES_JSONL_NAME),
    manifest: key(MANIFEST_NAME),
  });
}
