import type {
  DatasetDescription,
  DatasetRow,
  DeidentificationDescription,
} from '../domain/dataset.js';
import type { DeidSpec } from '../domain/run-spec.js';
import { releaseDataset } from '../deid/released-dataset.js';
import { EtlError } from '../domain/errors.js';
import type { Ledger, RunCounts, RunRecord } from '../ledger/ledger.js';
import { buildDatasetCsv } from '../dataset/dataset-csv.js';
import { metadataLines, studyLines, toJsonl } from '../dataset/dataset-jsonl.js';
import { buildManifest, manifestJson, type ManifestEntry } from '../dataset/dataset-manifest.js';
import { instructionExports } from '../dataset/instruction-exports.js';
import { writeWebDatasetShards } from '../dataset/webdataset-shards.js';
import { DEFAULT_SHARD_BYTES } from '../domain/instruction-exports.js';
import { joinKey } from '../domain/object-key.js';
import { buildDatasetReadme } from '../dataset/dataset-readme.js';
import { buildExcludedCsv } from '../dataset/excluded-csv.js';
import { buildFailuresCsv } from '../dataset/failures-csv.js';
import { assignSplits, splitKeyFingerprint } from '../dataset/patient-splits.js';
import { CONTENT_TYPES, type DatasetKeys } from '../dataset/object-keys.js';
import type { ObjectStore } from '../domain/object-store.js';

export interface FinalizeResult {
  run: RunRecord;
  counts: RunCounts;
  /** Full key of failures.csv. */
  failuresKey: string;
}

/**
 * The rows the dataset releases: the ledger's as they are, or, when the run de-identifies,
 * pseudonymised and scrubbed with the run's de-identification records.
 */
async function releasedRows(
  ledger: Ledger,
  runId: string,
  deid: DeidSpec | undefined,
  rows: DatasetRow[],
): Promise<{ rows: DatasetRow[]; deidentification?: DeidentificationDescription }> {
  if (deid === undefined) return { rows };
  const records = {
    reports: await ledger.studyReports(runId),
    facts: await ledger.phiFacts(runId),
    pseudonyms: await ledger.deidMap(runId),
  };
  return releaseDataset(rows, records, deid);
}

/** Each delivered image's size, as the ledger recorded it, by its key in the dataset. */
function imageSizes(rows: readonly DatasetRow[]): (file: string) => number {
  const sizes = new Map(rows.flatMap((row) => row.images.map((image) => [image.key, image.size])));
  return (file) => sizes.get(file) ?? 0;
}

/** An image this run stored, read back for a shard; gone means the destination was changed. */
async function readStored(store: ObjectStore, key: string): Promise<Uint8Array> {
  const bytes = await store.read(key);
  if (bytes === null) {
    throw new EtlError(
      'STORE_FAILED',
      'an image the run delivered is missing from the destination',
      {
        subject: key,
        retryable: false,
        hint: 'something removed it after delivery: `eden-etl retry` the run, or remove its ledger entry and run it again',
      },
    );
  }
  return bytes;
}

/**
 * Writes the dataset files from the ledger once every instance is settled: the CSV, the
 * failures and exclusions lists, metadata.jsonl and studies.jsonl (with each study's split),
 * the manifest and the dataset card. `splitKey` must be the key the run was planned with (its
 * fingerprint is in the spec): another would move patients between splits. Idempotent: the files are rebuilt from the ledger
 * byte for byte (the finish time is stamped once), so a rerun rewrites nothing.
 */
export async function finalizeRun(
  ledger: Ledger,
  store: ObjectStore,
  keys: DatasetKeys,
  runId: string,
  toolVersion: string,
  splitKey: string,
): Promise<FinalizeResult> {
  const planned = await ledger.findRun(runId);
  if (planned !== null && splitKeyFingerprint(splitKey) !== planned.spec.splits.keyFingerprint) {
    throw new EtlError(
      'CONFIG_INVALID',
      'the split key differs from the one the run started with',
      {
        subject: runId,
        hint: 'give the same --split-key (or SECRET_KEY) as when the run started; a different key would move patients between splits',
      },
    );
  }
  const stamped = await ledger.stampFinished(runId);
  const counts = await ledger.counts(runId);
  const prefixLength = keys.prefix === '' ? 0 : keys.prefix.length + 1;
  const { spec } = stamped;
  const { rows, deidentification } = await releasedRows(
    ledger,
    runId,
    spec.deid,
    await ledger.datasetRows(runId, (key) => key.slice(prefixLength)),
  );
  const description: DatasetDescription = {
    runId,
    startedAt: stamped.createdAt,
    finishedAt: stamped.finishedAt ?? stamped.createdAt,
    source: spec.source,
    destination: keys.prefix === '' ? spec.destination : `${spec.destination}/${keys.prefix}`,
    query: { name: spec.query.name, sha256: spec.query.sha256, text: spec.query.text },
    parameters: {
      studies: spec.queryParameters.studies,
      seed: spec.queryParameters.seed,
      pageSize: spec.pageSize,
      batchSize: spec.batchSize,
      prefix: spec.prefix,
      imageFormat: spec.render.format,
      frames: spec.render.frames,
      bitDepth: spec.render.bitDepth,
      jpegQuality: spec.render.quality,
      optimiseCoding: spec.render.optimiseCoding,
      windowIndex: spec.render.windowIndex,
      qualityGates: spec.quality.gates.length === 0 ? 'none' : spec.quality.gates.join(','),
      minReportChars: spec.quality.minReportChars,
      splits: spec.splits.shares.map((share) => `${share.name}=${share.fraction}`).join(','),
      ...(spec.exports === undefined ? {} : { exports: spec.exports.join(',') }),
      ...(spec.render.maxSize === undefined ? {} : { maxSize: spec.render.maxSize }),
      ...(spec.render.window === undefined
        ? {}
        : { window: `${spec.render.window.center},${spec.render.window.width}` }),
    },
    counts: {
      studies: stamped.totalStudies ?? 0,
      instances: counts.total,
      delivered: counts.delivered,
      failed: counts.failed,
      excluded: counts.excluded,
      failuresByCode: counts.failuresByCode,
      dicomBytes: counts.dicomBytes,
      imageBytes: counts.imageBytes,
    },
    toolVersion,
    images: { format: spec.render.format, everyFrame: spec.render.frames === 'all' },
    ...(deidentification === undefined ? {} : { deidentification }),
  };
  const encoder = new TextEncoder();
  const splits = assignSplits(rows, splitKey, spec.splits.shares);
  const metadata = metadataLines(rows, splits);
  const studies = studyLines(rows, splits);
  const files: [{ relative: string; full: string }, string, string][] = [
    [keys.csv, buildDatasetCsv(rows), CONTENT_TYPES.csv],
    [keys.failures, buildFailuresCsv(rows), CONTENT_TYPES.csv],
    [keys.excluded, buildExcludedCsv(rows), CONTENT_TYPES.csv],
    [keys.metadata, toJsonl(metadata), CONTENT_TYPES.jsonl],
    [keys.studies, toJsonl(studies), CONTENT_TYPES.jsonl],
  ];
  const instructions =
    spec.exports === undefined
      ? undefined
      : {
          formats: spec.exports,
          ...instructionExports(
            studies,
            spec.exports.filter((format) => format !== 'webdataset'),
            spec.splits,
            spec.instructionTemplates,
          ),
        };
  const exportKeys = (instructions?.files ?? []).map((file) => {
    const key = keys.exportFile(file.format, file.split);
    files.push([
      key,
      file.text,
      file.format === 'messages' ? CONTENT_TYPES.jsonl : CONTENT_TYPES.json,
    ]);
    return key.relative;
  });
  const written: Record<string, Uint8Array> = {};
  for (const [key, text, contentType] of files) {
    written[key.relative] = encoder.encode(text);
    await store.replace(key.full, written[key.relative]!, contentType);
  }
  const stored: Record<string, ManifestEntry> = {};
  const shards = spec.exports?.includes('webdataset')
    ? await writeWebDatasetShards(
        studies,
        spec.splits.shares.map((share) => share.name),
        spec.shardBytes ?? DEFAULT_SHARD_BYTES,
        imageSizes(rows),
        (file) => readStored(store, joinKey(keys.prefix, file)),
        async (shard) => {
          const key = keys.webdatasetShard(shard.split, shard.index);
          const put = await store.replace(key.full, shard.bytes, CONTENT_TYPES.tar);
          stored[key.relative] = { sha256: put.sha256, size: put.size };
        },
      )
    : [];
  const manifest = buildManifest(rows, written, stored);
  await store.replace(
    keys.manifest.full,
    encoder.encode(manifestJson(manifest)),
    CONTENT_TYPES.json,
  );
  // The card goes last: its presence says the dataset beside it is complete.
  await store.replace(
    keys.readme.full,
    encoder.encode(
      buildDatasetReadme(description, {
        rows,
        metadata,
        studies,
        quality: spec.quality,
        splits: spec.splits,
        manifest,
        ...(instructions === undefined
          ? {}
          : {
              instructions: {
                formats: instructions.formats,
                samples: instructions.samples,
                files: exportKeys,
                templates: spec.instructionTemplates ?? null,
                shards,
              },
            }),
      }),
    ),
    CONTENT_TYPES.markdown,
  );
  const run = await ledger.markFinalized(runId);
  return { run, counts, failuresKey: keys.failures.full };
}
