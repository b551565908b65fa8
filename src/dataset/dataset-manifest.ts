import { createHash } from 'node:crypto';
import type { DatasetRow } from '../domain/dataset.js';

/**
 * manifest.json: the SHA-256 and size of every object of the dataset but the card and the
 * manifest itself, keyed by path relative to the dataset root, and the dataset version id
 * derived from exactly those entries. Two deliveries with the same version hold the same bytes;
 * `eden-etl verify` checks a copy against it.
 */

export interface ManifestEntry {
  sha256: string;
  size: number;
}

export interface DatasetManifest {
  /** `sha256:` and the first 16 hex digits of the SHA-256 of the sorted entry lines. */
  version: string;
  objects: Record<string, ManifestEntry>;
}

/** Code-unit order: the same bytes on every machine, whatever its locale. */
const byKey = ([a]: [string, ManifestEntry], [b]: [string, ManifestEntry]) =>
  a < b ? -1 : a > b ? 1 : 0;

export function datasetVersion(objects: Record<string, ManifestEntry>): string {
  const lines = Object.entries<ManifestEntry>(objects)
    .sort(byKey)
    .map(([key, entry]) => `${entry.sha256}  ${entry.size}  ${key}\n`)
    .join('');
  return `sha256:${createHash('sha256').update(lines).digest('hex').slice(0, 16)}`;
}

/**
 * The manifest of the delivered DICOM and image objects (checksums from the ledger) and the
 * dataset files written beside them (checksums of the bytes written).
 */
export function buildManifest(
  rows: readonly DatasetRow[],
  files: Readonly<Record<string, Uint8Array>>,
  /** Objects already described as they were stored (shards, which are not kept in memory). */
  stored: Readonly<Record<string, ManifestEntry>> = {},
): DatasetManifest {
  const objects: Record<string, ManifestEntry> = {};
  for (const row of rows) {
    if (row.dicomKey !== null && row.dicomSha256 !== null && row.dicomSize !== null) {
      objects[row.dicomKey] = { sha256: row.dicomSha256, size: row.dicomSize };
    }
    for (const image of row.images) objects[image.key] = { sha256: image.sha256, size: image.size };
  }
  for (const [key, bytes] of Object.entries(files)) {
    objects[key] = {
      sha256: createHash('sha256').update(bytes).digest('hex'),
      size: bytes.byteLength,
    };
  }
  Object.assign(objects, stored);
  const sorted = Object.fromEntries(Object.entries(objects).sort(byKey));
  return { version: datasetVersion(sorted), objects: sorted };
}

export function manifestJson(manifest: DatasetManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
