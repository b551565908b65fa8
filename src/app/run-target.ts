import { resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { readInstructionTemplates } from '../config/instruction-templates.js';
import type { InstructionTemplate } from '../domain/instruction-exports.js';
import { readFile } from 'node:fs/promises';
import type { Config } from '../config/schema.js';
import { DEFAULT_SPLIT_KEY, splitKeyFingerprint } from '../dataset/patient-splits.js';
import { Pseudonymizer } from '../deid/pseudonyms.js';
import { EtlError } from '../domain/errors.js';
import { redactUrl } from '../domain/redact.js';
import { runIdOf, type DeidSpec, type RunSpec } from '../domain/run-spec.js';
import type { SqlClient } from '../domain/sql.js';
import type { Ledger, RunRecord } from '../ledger/ledger.js';
import type { Logger } from '../observability/logger.js';
import { readSelectionQuery } from '../source/query-file.js';
import type { Composition, OpenedDestination } from './compose.js';
import { resolveQueryPath } from './package-info.js';
import { renderOptionsOf } from '../config/render-options.js';

/**
 * Which run an invocation works on: the one it resumes, or the one its configuration describes
 * (whose id is a digest of that description, so the same command finds its own run again).
 */

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

/** A run's own instruction templates, read and checked now; refused without an export. */
async function instructionTemplatesOf(config: Config): Promise<InstructionTemplate[] | undefined> {
  if (config.instructionTemplates === undefined) return undefined;
  if (config.exports.length === 0) {
    throw new EtlError(
      'CONFIG_INVALID',
      'instruction templates are given but nothing is exported',
      {
        subject: '--instruction-templates',
        hint: 'add --exports llava,messages (EDEN_EXPORTS), or leave the templates out',
      },
    );
  }
  return readInstructionTemplates(resolve(config.instructionTemplates));
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
  const templates = await instructionTemplatesOf(config);
  const splitKey = splitKeyOf(config);
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
      keyFingerprint: splitKeyFingerprint(splitKey.key),
      keySource: splitKey.source,
    },
    ...(config.exports.length === 0 ? {} : { exports: [...config.exports] }),
    ...(config.exports.includes('webdataset')
      ? { shardBytes: config.shardMegabytes * 2 ** 20 }
      : {}),
    ...(templates === undefined ? {} : { instructionTemplates: templates }),
  };
}

/** The run `runId`, or RUN_NOT_FOUND saying where the state was looked for. */
export async function requireRun(ledger: Ledger, runId: string): Promise<RunRecord> {
  const run = await ledger.findRun(runId);
  if (run === null) {
    throw new EtlError('RUN_NOT_FOUND', 'no run has this id', {
      subject: runId,
      hint: '`eden-etl status` shows the latest run; check STATE_DATABASE_URL or --state-dir',
    });
  }
  return run;
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

/** What a run invocation works on: the run (new or resumed), its destination and spec. */
export interface RunTarget {
  resumedRun: RunRecord | null;
  destination: OpenedDestination;
  spec: RunSpec;
  runId: string;
}

/**
 * Finds the run to resume, or builds the spec of a new one from `config` (the invocation's, or a
 * schedule's); the destination is opened through the composition, which closes it.
 */
export async function resolveRunTarget(
  root: Composition,
  config: Config,
  resume: string | true | undefined,
): Promise<RunTarget> {
  const ledger = await root.ledger();
  const resumedRun = resume === undefined ? null : await findResumable(ledger, resume);
  // A resumed run keeps its own destination and spec; flags cannot redirect it half-way.
  const destination = await root.destination(
    resumedRun?.spec.destination ?? config.dest ?? missingDestination(),
    resumedRun?.spec.prefix ?? config.prefix,
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

/**
 * Opens the PACS database for planning: the configured one (the stored spec shows it without
 * its password), then `prepare` (the demo creates the sample PACS in it) before it is read.
 */
export function sourceOpener(
  root: Composition,
  config: Config,
  spec: RunSpec,
  prepare?: (source: SqlClient) => Promise<void>,
): () => Promise<SqlClient> {
  return async () => {
    const source = await root.source(config.source ?? spec.source, config);
    if (prepare !== undefined) {
      try {
        await prepare(source);
      } catch (error) {
        await source.close();
        throw error;
      }
    }
    return source;
  };
}

function missingDestination(): never {
  throw new EtlError('CONFIG_INVALID', 'no destination given', {
    hint: 'give --dest file://DIR (or gs://BUCKET when available), or set GCS_BUCKET_NAME',
  });
}
