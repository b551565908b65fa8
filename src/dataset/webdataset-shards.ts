import { EtlError } from '../domain/errors.js';
import type { StudyLine } from './dataset-jsonl.js';
import { tarArchive, tarSize, type TarEntry } from './tar-archive.js';

/**
 * WebDataset tar shards of the study samples, for loaders that stream (webdataset, the
 * `datasets` webdataset builder): one sample per study, its key the study id, its members
 * `{key}.{n}.jpg` (or `.png`: every image of the study, in `file_names` order), `{key}.json`
 * (the study's line of studies.jsonl) and `{key}.txt` (its report). Shards are filled in the
 * order of the study lines, per split, up to `maxBytes` each (a study larger than that gets a
 * shard of its own): the same studies always make the same shards.
 */

export interface WebDatasetShard {
  split: string;
  /** From 0, per split. */
  index: number;
  samples: number;
  bytes: Uint8Array;
}

/** The study id as a WebDataset key: the loader splits member names at their first dot. */
function sampleKey(studyId: string): string {
  return studyId.replace(/[^A-Za-z0-9_-]/g, '_');
}

interface PlannedSample {
  key: string;
  study: StudyLine;
  size: number;
}

async function members(sample: PlannedSample, read: (file: string) => Promise<Uint8Array>) {
  const encoder = new TextEncoder();
  const entries: TarEntry[] = [];
  for (const [index, file] of sample.study.file_names.entries()) {
    const extension = file.slice(file.lastIndexOf('.') + 1);
    entries.push({ name: `${sample.key}.${index}.${extension}`, bytes: await read(file) });
  }
  entries.push(
    { name: `${sample.key}.json`, bytes: encoder.encode(JSON.stringify(sample.study)) },
    { name: `${sample.key}.txt`, bytes: encoder.encode(sample.study.report) },
  );
  return entries;
}

/**
 * Builds the shards one at a time and hands each to `write` before reading the next one's
 * images, so memory holds one shard, whatever the dataset's size. `sizeOf` gives an image's
 * size (from the ledger) to plan a shard before reading it; `read` gives its bytes.
 */
export async function writeWebDatasetShards(
  studies: readonly StudyLine[],
  splits: readonly string[],
  maxBytes: number,
  sizeOf: (file: string) => number,
  read: (file: string) => Promise<Uint8Array>,
  write: (shard: WebDatasetShard) => Promise<void>,
): Promise<Omit<WebDatasetShard, 'bytes'>[]> {
  const encoder = new TextEncoder();
  const used = new Set<string>();
  const written: Omit<WebDatasetShard, 'bytes'>[] = [];
  for (const split of splits) {
    let shard: PlannedSample[] = [];
    let shardSize = 0;
    let index = 0;
    const flush = async () => {
      if (shard.length === 0) return;
      const entries: TarEntry[] = [];
      for (const sample of shard) entries.push(...(await members(sample, read)));
      const done = { split, index, samples: shard.length };
      index += 1;
      await write({ ...done, bytes: tarArchive(entries) });
      written.push(done);
      shard = [];
      shardSize = 0;
    };
    for (const study of studies) {
      if (study.split !== split) continue;
      const key = sampleKey(study.study_id);
      if (used.has(key)) {
        throw new EtlError('INTERNAL', `two studies make the WebDataset key ${key}`, {
          subject: study.study_id,
        });
      }
      used.add(key);
      const text = [JSON.stringify(study), study.report].map(
        (value) => encoder.encode(value).byteLength,
      );
      const size = tarSize([...study.file_names.map(sizeOf), ...text]);
      if (shard.length > 0 && shardSize + size > maxBytes) await flush();
      shard.push({ key, study, size });
      shardSize += size;
    }
    await flush();
  }
  return written;
}
