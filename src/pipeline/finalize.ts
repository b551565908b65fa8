import type { DatasetDescription } from '../domain/dataset.js';
import type { Ledger, RunCounts, RunRecord } from '../ledger/ledger.js';
import { buildDatasetCsv } from '../load/dataset-csv.js';
import { buildDatasetReadme } from '../load/dataset-readme.js';
import { buildFailuresCsv } from '../load/failures-csv.js';
import { CONTENT_TYPES, type DatasetKeys } from '../load/object-keys.js';
import type { ObjectStore } from '../load/object-store.js';

export interface FinalizeResult {
  run: RunRecord;
  counts: RunCounts;
  /** Full key of failures.csv. */
  failuresKey: string;
}

/**
 * Writes the dataset files from the ledger once every instance is settled: the CSV, the
 * failures list and the dataset card. Idempotent: the files are rebuilt from the ledger
 * byte for byte (the finish time is stamped once), so a rerun rewrites nothing.
 */
export async function finalizeRun(
  ledger: Ledger,
  store: ObjectStore,
  keys: DatasetKeys,
  runId: string,
  toolVersion: string,
): Promise<FinalizeResult> {
  const stamped = await ledger.stampFinished(runId);
  const counts = await ledger.counts(runId);
  const prefixLength = keys.prefix === '' ? 0 : keys.prefix.length + 1;
  const rows = await ledger.datasetRows(runId, (key) => key.slice(prefixLength));
  const { spec } = stamped;
  const deidentification = await ledger.deidSummary(runId);
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
      imageFormat: spec.render.format ?? 'jpeg',
      frames: spec.render.frames ?? 'first',
      bitDepth: spec.render.bitDepth ?? 8,
      jpegQuality: spec.render.quality,
      optimiseCoding: spec.render.optimiseCoding,
      windowIndex: spec.render.windowIndex ?? 1,
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
      failuresByCode: counts.failuresByCode,
      dicomBytes: counts.dicomBytes,
      imageBytes: counts.imageBytes,
    },
    toolVersion,
    images: { format: spec.render.format ?? 'jpeg', everyFrame: spec.render.frames === 'all' },
    ...(deidentification === undefined ? {} : { deidentification }),
  };
  const encoder = new TextEncoder();
  await store.replace(keys.csv.full, encoder.encode(buildDatasetCsv(rows)), CONTENT_TYPES.csv);
  await store.replace(
    keys.failures.full,
    encoder.encode(buildFailuresCsv(rows)),
    CONTENT_TYPES.csv,
  );
  // The card goes last: its presence says the dataset beside it is complete.
  await store.replace(
    keys.readme.full,
    encoder.encode(buildDatasetReadme(description)),
    CONTENT_TYPES.markdown,
  );
  const run = await ledger.markFinalized(runId);
  return { run, counts, failuresKey: keys.failures.full };
}
