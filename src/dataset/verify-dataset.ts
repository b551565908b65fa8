import { createHash } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import type { MetadataLine, StudyLine } from './dataset-jsonl.js';
import { datasetVersion, type DatasetManifest, type ManifestEntry } from './dataset-manifest.js';
import { joinKey } from '../domain/object-key.js';
import type { DatasetKeys } from './object-keys.js';
import type { ObjectStore } from '../domain/object-store.js';
import { patientsInSeveralSplits } from './patient-splits.js';

/**
 * `eden-etl verify`: re-reads a delivered dataset and lists every way it differs from what its
 * manifest promises: objects missing or with other bytes, a manifest whose version does not
 * match its entries, a card naming another version, metadata.jsonl, studies.jsonl and the CSV
 * disagreeing on which images exist and which split a study is in, and patients in two splits.
 * Objects the manifest does not list are not looked for (stores are not listed).
 */

export interface VerifyResult {
  version: string | null;
  objects: number;
  /** One line per difference; empty when the dataset is as delivered. */
  differences: string[];
}

/** Objects read at once: enough to keep a remote store busy, few enough to bound memory. */
const PARALLEL_READS = 8;

function parseJsonl<T>(name: string, bytes: Uint8Array, differences: string[]): T[] {
  const lines: T[] = [];
  const text = new TextDecoder().decode(bytes);
  text.split('\n').forEach((line, index) => {
    if (line === '') return;
    try {
      lines.push(JSON.parse(line) as T);
    } catch (error) {
      differences.push(`${name} line ${index + 1} is not JSON: ${(error as Error).message}`);
    }
  });
  return lines;
}

async function checkObjects(
  store: ObjectStore,
  keys: DatasetKeys,
  objects: Record<string, ManifestEntry>,
  differences: string[],
): Promise<Map<string, Uint8Array>> {
  const dataFiles = new Set([
    keys.csv.relative,
    keys.metadata.relative,
    keys.studies.relative,
    keys.excluded.relative,
    keys.failures.relative,
  ]);
  const kept = new Map<string, Uint8Array>();
  // Reads finish in any order; the report lists objects in key order.
  const found: [string, string][] = [];
  const entries = Object.entries(objects);
  for (let start = 0; start < entries.length; start += PARALLEL_READS) {
    await Promise.all(
      entries.slice(start, start + PARALLEL_READS).map(async ([relative, entry]) => {
        const bytes = await store.read(joinKey(keys.prefix, relative));
        if (bytes === null) {
          found.push([relative, `missing: ${relative}`]);
          return;
        }
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        if (sha256 !== entry.sha256 || bytes.byteLength !== entry.size) {
          found.push([
            relative,
            `changed: ${relative} (manifest sha256 ${entry.sha256}, ${entry.size} bytes; found ${sha256}, ${bytes.byteLength} bytes)`,
          ]);
        }
        if (dataFiles.has(relative)) kept.set(relative, bytes);
      }),
    );
  }
  found.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  differences.push(...found.map(([, line]) => line));
  return kept;
}

function difference(a: ReadonlySet<string>, b: ReadonlySet<string>): string[] {
  return [...a].filter((item) => !b.has(item)).sort();
}

function listed(what: string, items: string[]): string {
  const shown = items.slice(0, 5).join(', ');
  return `${what}: ${shown}${items.length > 5 ? ` and ${items.length - 5} more` : ''}`;
}

function checkConsistency(
  keys: DatasetKeys,
  objects: Record<string, ManifestEntry>,
  files: Map<string, Uint8Array>,
  differences: string[],
): void {
  const metadataBytes = files.get(keys.metadata.relative);
  const studiesBytes = files.get(keys.studies.relative);
  const csvBytes = files.get(keys.csv.relative);
  if (metadataBytes === undefined || studiesBytes === undefined || csvBytes === undefined) return;
  const metadata = parseJsonl<MetadataLine>(keys.metadata.relative, metadataBytes, differences);
  const studies = parseJsonl<StudyLine>(keys.studies.relative, studiesBytes, differences);
  const rows = parse<Record<string, string>>(Buffer.from(csvBytes), {
    columns: true,
    skip_empty_lines: true,
  });

  const images = new Set(Object.keys(objects).filter((key) => /^images-(jpg|png)\//.test(key)));
  const inMetadata = new Set(metadata.map((line) => line.file_name));
  const inStudies = new Set(studies.flatMap((study) => study.file_names));
  const inCsv = new Set(
    rows
      .filter((row) => row.status === 'delivered' && row.image_key !== '')
      .map((row) => row.image_key!),
  );
  const pairs: [string, Set<string>, string, Set<string>][] = [
    ['images in the manifest', images, `missing from ${keys.metadata.relative}`, inMetadata],
    [keys.metadata.relative, inMetadata, 'not in the manifest', images],
    [keys.studies.relative, inStudies, `not in ${keys.metadata.relative}`, inMetadata],
    [keys.metadata.relative, inMetadata, `not in ${keys.studies.relative}`, inStudies],
    [keys.csv.relative, inCsv, `not in ${keys.metadata.relative}`, inMetadata],
  ];
  for (const [from, left, what, right] of pairs) {
    const missing = difference(left, right);
    if (missing.length > 0) differences.push(listed(`${from}, ${what}`, missing));
  }
  const delivered = rows.filter((row) => row.status === 'delivered');
  const dicomMissing = delivered
    .map((row) => row.dicom_key!)
    .filter((key) => key !== '' && objects[key] === undefined);
  if (dicomMissing.length > 0) {
    differences.push(listed(`${keys.csv.relative}, DICOM files not in the manifest`, dicomMissing));
  }
  const studySplit = new Map(studies.map((study) => [study.study_id, study.split]));
  const disagreeing = metadata
    .filter((line) => studySplit.has(line.study_id) && studySplit.get(line.study_id) !== line.split)
    .map((line) => line.file_name);
  if (disagreeing.length > 0) {
    differences.push(
      listed(
        `images whose split differs from their study's in ${keys.studies.relative}`,
        disagreeing,
      ),
    );
  }
  for (const [patient, splits] of patientsInSeveralSplits([...metadata, ...studies])) {
    differences.push(`patient ${patient} is in several splits: ${splits.join(', ')}`);
  }
}

export async function verifyDataset(store: ObjectStore, keys: DatasetKeys): Promise<VerifyResult> {
  const differences: string[] = [];
  const manifestBytes = await store.read(keys.manifest.full);
  if (manifestBytes === null) {
    return {
      version: null,
      objects: 0,
      differences: [`missing: ${keys.manifest.relative} (is this a dataset folder?)`],
    };
  }
  let manifest: DatasetManifest;
  try {
    manifest = JSON.parse(new TextDecoder().decode(manifestBytes)) as DatasetManifest;
    if (typeof manifest.objects !== 'object' || manifest.objects === null) {
      throw new Error('it has no "objects"');
    }
  } catch (error) {
    return {
      version: null,
      objects: 0,
      differences: [`${keys.manifest.relative} is unreadable: ${(error as Error).message}`],
    };
  }
  const recomputed = datasetVersion(manifest.objects);
  if (recomputed !== manifest.version) {
    differences.push(
      `${keys.manifest.relative} says version ${manifest.version}, its entries give ${recomputed}`,
    );
  }
  const card = await store.read(keys.readme.full);
  if (card === null) differences.push(`missing: ${keys.readme.relative}`);
  else if (!new TextDecoder().decode(card).includes(manifest.version)) {
    differences.push(`${keys.readme.relative} does not name dataset version ${manifest.version}`);
  }
  const files = await checkObjects(store, keys, manifest.objects, differences);
  checkConsistency(keys, manifest.objects, files, differences);
  return { version: manifest.version, objects: Object.keys(manifest.objects).length, differences };
}
