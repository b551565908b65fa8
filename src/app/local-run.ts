import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Config } from '../config/schema.js';
import { EtlError } from '../domain/errors.js';
import { readSelectionQuery } from '../source/query-file.js';
import { Ledger, type RunCounts, type RunRecord } from '../ledger/ledger.js';
import { DEFAULT_SPLIT_KEY, splitKeyFingerprint } from '../dataset/patient-splits.js';
import type { Logger } from '../observability/logger.js';
import { createProgress, type Progress } from '../observability/progress.js';
import { redactUrl } from '../domain/redact.js';
import { formatExtractionStatistics, formatRunSummary } from './run-report.js';
import { RETRY_BASE_DELAY_MS } from '../pipeline/process-item.js';
import { runPipeline } from '../pipeline/run.js';
import { runIdOf, type DeidSpec, type RunSpec } from '../domain/run-spec.js';
import { Pseudonymizer } from '../deid/pseudonyms.js';
import { RunStopped } from '../pipeline/limiter.js';
import {
  openDestination,
  openRuntime,
  openSource,
  openState,
  type OpenedDestination,
} from './compose.js';
import type { SqlClient } from '../domain/sql.js';
import { resolveQueryPath, TOOL_VERSION } from './package-info.js';
import { renderOptionsOf } from './render-options.js';

export interface RunInvocation {
  config: Config;
  logger: Logger;
  /** `true`: the latest unfinished run; a string: that run id. */
  resume?: string | true;
  /** Where the report goes (stdout). */
  out: NodeJS.WritableStream;
  signal: AbortSignal;
}

/** Exit codes (README): 0 all delivered, 3 some instances failed. Others are thrown. */
export const EXIT_OK = 0;
const EXIT_FAILED_INSTANCES = 3;

/** Staff names, one per line; blank lines and lines starting with # are skipped. */
async function readStaffNames(path: string | undefined): Promise<string[]> {
  if (path === undefined) return [];
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new EtlError(
      'CONFIG_INVALID',
      `cannot read the staff name list: ${(error as Error).message}`,
      {
        subject: path,
        hint: 'give --deid-staff-names a readable text file, one name per line',
      },
    );
  }
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

async function deidSpecOf(config: Config): Promise<DeidSpec | undefined> {
  if (config.deidentify === 'none') return undefined;
  return {
    profile: config.deidentify,
    keep: [...config.deidKeep],
    remove: [...config.deidRemove],
    staffNames: await readStaffNames(config.deidStaffNames),
    quarantine: config.deidQuarantine,
    // loadConfig refuses --deidentify without SECRET_KEY.
    keyId: new Pseudonymizer(config.secretKey ?? '').keyId(),
  };
}

/** The split key: --split-key, else SECRET_KEY, else the documented public default. */
export function splitKeyOf(config: Config): { key: string; source: 'default' | 'configured' } {
  const key = config.splitKey ?? config.secretKey;
  return key === undefined
    ? { key: DEFAULT_SPLIT_KEY, source: 'default' }
    : { key, source: 'configured' };
}

async function specFromConfig(config: Config, rootUrl: string, prefix: string): Promise<RunSpec> {
  if (config.source === undefined) {
    throw new EtlError('CONFIG_INVALID', 'no PACS database given', {
      hint: 'give --source pglite:DIR or postgres://…, or set SOURCE_DATABASE_NAME/USER/PASS/HOST/PORT; `eden-etl demo` runs on the built-in sample PACS',
    });
  }
  const query = await readSelectionQuery(resolveQueryPath(config.query));
  // "random" draws a seed now and records it, so even a random sample can be repeated.
  const seed = config.seed === 'random' ? randomBytes(6).toString('hex') : config.seed;
  const deid = await deidSpecOf(config);
  return {
    source: redactUrl(config.source),
    query: { name: query.name, path: query.path, sha256: query.sha256, text: query.text },
    queryParameters: { studies: config.studies, seed },
    pageSize: config.pageSize,
    batchSize: config.batchSize,
    destination: rootUrl,
    prefix,
    render: renderOptionsOf(config),
    ...(deid === undefined ? {} : { deid }),
    quality: { gates: [...config.qualityGates], minReportChars: config.minReportChars },
    splits: {
      shares: config.splits.map((share) => ({ ...share })),
      keyFingerprint: splitKeyFingerprint(splitKeyOf(config).key),
      keySource: splitKeyOf(config).source,
    },
  };
}

async function findResumable(ledger: Ledger, resume: string | true): Promise<RunRecord> {
  const run = resume === true ? await ledger.latestUnfinishedRun() : await ledger.findRun(resume);
  if (run === null) {
    throw new EtlError(
      'RUN_NOT_FOUND',
      resume === true ? 'there is no unfinished run to resume' : 'no run has this id',
      {
        subject: resume === true ? undefined : resume,
        hint: 'run without --resume to start a run (the same command resumes its own run)',
      },
    );
  }
  return run;
}

export function progressCounts(
  before: RunCounts,
  done: { delivered: number; failed: number; excluded: number; bytes: number },
) {
  const skipped = before.delivered + before.failed + before.excluded;
  return {
    done: skipped + done.delivered + done.failed + done.excluded,
    failed: before.failed + done.failed,
    skipped,
    bytes: done.bytes,
  };
}

/** What a run invocation works on: the run (new or resumed), its destination and spec. */
export interface RunTarget {
  resumedRun: RunRecord | null;
  destination: OpenedDestination;
  spec: RunSpec;
  runId: string;
}

/** Finds the run to resume, or builds the spec of a new one from the configuration. */
export async function resolveRunTarget(
  config: Config,
  ledger: Ledger,
  resume: string | true | undefined,
): Promise<RunTarget> {
  const resumedRun = resume === undefined ? null : await findResumable(ledger, resume);
  // A resumed run keeps its own destination and spec; flags cannot redirect it half-way.
  const destination = await openDestination(
    resumedRun?.spec.destination ?? config.dest ?? missingDestination(),
    resumedRun?.spec.prefix ?? config.prefix,
    config.gcsCredentialsPath,
  );
  const spec =
    resumedRun?.spec ?? (await specFromConfig(config, destination.rootUrl, destination.prefix));
  return { resumedRun, destination, spec, runId: resumedRun?.runId ?? runIdOf(spec) };
}

/** Says it loudly when patient data is about to leave for a cloud bucket as it is. */
export function warnIfNotDeidentified(logger: Logger, spec: RunSpec): void {
  if (spec.deid === undefined && spec.destination.startsWith('gs://')) {
    logger.warn(
      { destination: spec.destination },
      'the dataset goes to a cloud bucket and is NOT de-identified: it carries patient data as the PACS holds it (use --deidentify basic with SECRET_KEY)',
    );
  }
}

/** Opens the PACS database as the configuration says (for planning). */
export function sourceOpener(config: Config, spec: RunSpec): () => Promise<SqlClient> {
  return () =>
    openSource(config.source ?? spec.source, {
      maxConnections: config.sourceMaxConnections,
      statementTimeoutMs: config.sourceStatementTimeout * 1000,
      caFile: config.sourceCaFile,
    });
}

/** The EXTRACTION STATISTICS block, and the progress display that follows it. */
export function announceRun(
  invocation: Pick<RunInvocation, 'config' | 'logger' | 'out'>,
  run: RunRecord,
  counts: RunCounts,
): Progress | null {
  const { config, logger, out } = invocation;
  out.write(
    formatExtractionStatistics({
      runId: run.runId,
      resumed: counts.delivered + counts.failed + counts.excluded > 0,
      totalRecords: counts.total,
      pages: run.pages ?? 0,
      pageSize: run.spec.pageSize,
      batchSize: run.spec.batchSize,
      concurrency: config.concurrency,
    }),
  );
  if (config.progress === 'off') return null;
  const tty =
    config.progress === 'bar' || (config.progress === 'auto' && process.stderr.isTTY === true);
  return createProgress({ total: counts.total, tty, stream: process.stderr, logger });
}

export function writeAlreadyComplete(
  out: NodeJS.WritableStream,
  run: RunRecord,
  counts: RunCounts,
): number {
  out.write(
    `Run ${run.runId} is already complete (finished ${run.finishedAt ?? '?'}): ` +
      `${counts.delivered} delivered, ${counts.failed} failed, ${counts.excluded} excluded. Nothing to upload.\n`,
  );
  return counts.failed > 0 ? EXIT_FAILED_INSTANCES : EXIT_OK;
}

/** The TIMING and STATISTICS SUMMARY blocks for what this invocation did; returns the exit code. */
export function writeSummary(
  out: NodeJS.WritableStream,
  timingsMs: { planMs: number; processMs: number; finalizeMs: number; totalMs: number },
  before: RunCounts,
  after: RunCounts,
  failuresCsv: string,
): number {
  const s = (ms: number) => ms / 1000;
  out.write(
    formatRunSummary({
      timings: {
        planSeconds: s(timingsMs.planMs),
        processSeconds: s(timingsMs.processMs),
        finalizeSeconds: s(timingsMs.finalizeMs),
        totalSeconds: s(timingsMs.totalMs),
      },
      totalRecords: after.total,
      delivered: after.delivered - before.delivered,
      failed: after.failed - before.failed,
      excluded: after.excluded - before.excluded,
      excludedByReason: after.excludedByReason,
      skipped: before.delivered + before.failed + before.excluded,
      alreadyPresent: after.alreadyPresent,
      dicomBytes: after.dicomBytes - before.dicomBytes,
      imageBytes: after.imageBytes - before.imageBytes,
      failuresByCode: after.failuresByCode,
      failureExamples: after.failureExamples,
      failuresCsv,
    }),
  );
  return after.failed > 0 ? EXIT_FAILED_INSTANCES : EXIT_OK;
}

/** `eden-etl run` and `demo` with the local executor: execute the run here, print the report. */
export async function executeRun(invocation: RunInvocation): Promise<number> {
  const { config, logger, out } = invocation;
  const stateDb = await openState(config);
  try {
    const ledger = await Ledger.open(stateDb);
    const { destination, spec, runId } = await resolveRunTarget(config, ledger, invocation.resume);
    warnIfNotDeidentified(logger, spec);
    const runtime = openRuntime(config, logger, ledger, destination, spec.deid);
    // Set by the callbacks once the run starts; an object, so the type checker sees it change.
    const live: { before: RunCounts | null; progress: Progress | null } = {
      before: null,
      progress: null,
    };
    try {
      const done = { delivered: 0, failed: 0, excluded: 0, bytes: 0 };
      const result = await runPipeline(runtime.context, {
        runId,
        spec,
        openSource: sourceOpener(config, spec),
        concurrency: config.concurrency,
        retry: { attempts: config.retries + 1, baseDelayMs: RETRY_BASE_DELAY_MS },
        toolVersion: TOOL_VERSION,
        splitKey: splitKeyOf(config).key,
        signal: invocation.signal,
        onStart: (run, counts) => {
          live.before = counts;
          live.progress = announceRun(invocation, run, counts);
          live.progress?.update(progressCounts(counts, done));
        },
        onItem: (item) => {
          done[item.status] += 1;
          done.bytes += item.bytes;
          if (live.before !== null) live.progress?.update(progressCounts(live.before, done));
        },
      });
      live.progress?.stop();
      if (result.state === 'already-complete') {
        return writeAlreadyComplete(out, result.run, result.counts);
      }
      return writeSummary(
        out,
        result.timings,
        live.before ?? result.counts,
        result.counts,
        `${destination.store.displayUrl}/${result.failuresKey}`,
      );
    } catch (error) {
      live.progress?.stop();
      if (error instanceof RunStopped) {
        logger.warn(
          { runId },
          'stopped: run the same command again (or `eden-etl run --resume`) to continue',
        );
      }
      throw error;
    } finally {
      await runtime.close();
    }
  } finally {
    await stateDb.close();
  }
}

function missingDestination(): never {
  throw new EtlError('CONFIG_INVALID', 'no destination given', {
    hint: 'give --dest file://DIR (or gs://BUCKET when available), or set GCS_BUCKET_NAME',
  });
}
