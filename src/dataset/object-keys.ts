import { checkInstanceId, checkObjectKey, joinKey } from '../domain/object-key.js';
import type { InstructionFormat } from '../domain/instruction-exports.js';

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
  tar: 'application/x-tar',
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
/** Instruction exports (`--exports`), a folder per format. */
const EXPORTS_DIR = 'exports';
const EXPORT_EXTENSIONS: Readonly<Record<InstructionFormat, string>> = {
  llava: 'json',
  messages: 'jsonl',
};

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
  /**
   * An instruction export of one split, `exports/llava/split=train.json` (`messages`: `.jsonl`).
   * Not `train.json`: a split word between separators in any path makes the Hugging Face
   * imagefolder loader infer splits from paths, and it would then miss metadata.jsonl.
   */
  exportFile(format: InstructionFormat, split: string): DatasetObjectKey;
  /** WebDataset shard `index` (from 0) of a split: `exports/webdataset/split=train-000000.tar`. */
  webdatasetShard(split: string, index: number): DatasetObjectKey;
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
    exportFile: (format: InstructionFormat, split: string) =>
      key(`${EXPORTS_DIR}/${format}/split=${checkInstanceId(split)}.${EXPORT_EXTENSIONS[format]}`),
    webdatasetShard: (split: string, index: number) =>
      key(
        `${EXPORTS_DIR}/webdataset/split=${checkInstanceId(split)}-${String(index).padStart(6, '0')}.tar`,
      ),
  });
}
