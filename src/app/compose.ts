import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Config } from '../config/schema.js';
import { EtlError } from '../domain/errors.js';
import type { SqlClient } from '../domain/sql.js';
import { createFetcher } from '../source/fetcher.js';
import type { HttpAuth } from '../source/http-fetcher.js';
import type { Ledger } from '../ledger/ledger.js';
import { parseDestination } from '../store/destination.js';
import { openGcsStore } from '../store/gcs-store.js';
import { openLocalStore } from '../store/local-store.js';
import type { ObjectStore } from '../domain/object-store.js';
import type { Logger } from '../observability/logger.js';
import { redactUrl } from '../domain/redact.js';
import { Pseudonymizer } from '../deid/pseudonyms.js';
import type { DeidContext, PipelineContext } from '../pipeline/context.js';
import type { DeidSpec } from '../domain/run-spec.js';
import { openPg } from '../sql/pg-client.js';
import { openPglite } from '../sql/pglite-client.js';
import { RenderPool } from '../pipeline/render-pool.js';

/**
 * The composition root: the one place that turns configuration into adapters (databases,
 * destination, fetcher, render threads). Stages receive what is built here.
 */

const PG_CONNECT_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'nothing listens at that host and port',
  ENOTFOUND: 'the host name does not resolve',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  '28P01': 'password authentication failed',
  '28000': 'the server refused this user',
  '3D000': 'the database does not exist',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server certificate is self-signed and not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'the server certificate chain is not trusted (give --source-ca-file)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    'the server certificate cannot be verified (give --source-ca-file)',
};

/** How the PACS database is used: someone else's production server, so gently. */
export interface SourceOptions {
  /** Pool size. */
  maxConnections: number;
  /** Server-side cap on one statement, in ms. */
  statementTimeoutMs: number;
  /** PEM file of the CA that signed the server's certificate (verify-full). */
  caFile?: string | undefined;
}

const DEFAULT_SOURCE_OPTIONS: SourceOptions = { maxConnections: 2, statementTimeoutMs: 300_000 };

/**
 * Opens the PACS database named by `source` and checks that it answers. PostgreSQL sessions
 * are read-only with a statement timeout and a small pool; TLS follows the URL's `sslmode`
 * (and `sslrootcert`), or `caFile`.
 */
export async function openSource(
  source: string,
  options: SourceOptions = DEFAULT_SOURCE_OPTIONS,
): Promise<SqlClient> {
  const shown = redactUrl(source);
  if (source.startsWith('pglite:')) {
    return openPglite(resolve(source.slice('pglite:'.length)), 'the PACS database');
  }
  let ca: string | undefined;
  if (options.caFile !== undefined) {
    try {
      ca = readFileSync(options.caFile, 'utf8');
    } catch (error) {
      throw new EtlError('CONFIG_INVALID', `cannot read the CA file: ${(error as Error).message}`, {
        subject: options.caFile,
        hint: 'give --source-ca-file the PEM file of the CA that signed the database certificate',
      });
    }
  }
  const client = openPg({
    connectionString: source,
    maxConnections: options.maxConnections,
    applicationName: 'eden-etl',
    readOnly: true,
    statementTimeoutMs: options.statementTimeoutMs,
    ...(ca === undefined ? {} : { ca }),
  });
  try {
    await client.query('SELECT 1');
  } catch (error) {
    await client.close();
    const code = (error as { code?: string }).code ?? '';
    const why = PG_CONNECT_ERRORS[code] ?? (error as Error).message;
    throw new EtlError('SOURCE_UNAVAILABLE', `cannot connect to the PACS database: ${why}`, {
      subject: shown,
      hint: 'check --source or SOURCE_DATABASE_NAME/USER/PASS/HOST/PORT, and that the server accepts connections from here',
      cause: error,
    });
  }
  return client;
}

export interface OpenedDestination {
  store: ObjectStore;
  /** Root URL without credentials, stored in the run spec. */
  rootUrl: string;
  prefix: string;
}

/**
 * Opens the destination: a local directory, or a GCS bucket (credentials from
 * GCS_CREDENTIALS_PATH or Application Default Credentials; STORAGE_EMULATOR_HOST honoured).
 */
export async function openDestination(
  dest: string,
  prefix: string,
  gcsCredentialsPath: string | undefined,
): Promise<OpenedDestination> {
  const destination = parseDestination(dest, prefix);
  if (destination.kind === 'gs') {
    return {
      store: await openGcsStore({
        bucket: destination.bucket,
        credentialsPath: gcsCredentialsPath,
      }),
      rootUrl: `gs://${destination.bucket}`,
      prefix: destination.prefix,
    };
  }
  return {
    store: await openLocalStore(destination.root),
    rootUrl: pathToFileURL(destination.root).href,
    prefix: destination.prefix,
  };
}

/** Credentials for the PACS web server: a bearer token, or a user and password. */
function pacsHttpAuth(config: Config): HttpAuth | undefined {
  if (config.pacsHttpToken !== undefined) {
    if (config.pacsHttpUser !== undefined) {
      throw new EtlError('CONFIG_INVALID', 'PACS_HTTP_TOKEN and PACS_HTTP_USER are both set', {
        hint: 'give either a bearer token or a user and password, not both',
      });
    }
    return { token: config.pacsHttpToken };
  }
  if (config.pacsHttpUser !== undefined) {
    return { user: config.pacsHttpUser, password: config.pacsHttpPassword ?? '' };
  }
  if (config.pacsHttpPassword !== undefined) {
    throw new EtlError('CONFIG_INVALID', 'PACS_HTTP_PASSWORD is set without PACS_HTTP_USER', {
      hint: 'set PACS_HTTP_USER too',
    });
  }
  return undefined;
}

/** What processes instances, whatever their run: the fetcher and the render threads. */
export interface Processing {
  fetcher: PipelineContext['fetcher'];
  renderer: PipelineContext['renderer'];
  close(): Promise<void>;
}

/**
 * Builds the fetcher and the render threads (one per core by default). `takeSlot`, when given,
 * is a PACS download limit shared with other processes and replaces the in-process one.
 */
export function openProcessing(config: Config, takeSlot?: () => Promise<void>): Processing {
  const auth = pacsHttpAuth(config);
  const pool = RenderPool.create({
    threads: config.renderThreads,
    timeoutMs: config.renderTimeout * 1000,
    j2kDecoder: config.j2kDecoder,
  });
  const fetcher = createFetcher({
    maxBytes: config.maxFileBytes,
    ...(config.filesRoot === undefined ? {} : { filesRoot: resolve(config.filesRoot) }),
    http: {
      maxConnectionsPerHost: config.maxPacsConnections,
      rateLimit: config.pacsRateLimit,
      takeSlot,
      connectTimeoutMs: config.pacsConnectTimeout * 1000,
      readTimeoutMs: config.pacsReadTimeout * 1000,
      auth,
    },
  });
  return {
    fetcher,
    renderer: pool,
    async close() {
      await fetcher.close();
      await pool.close();
    },
  };
}

export interface Runtime {
  context: PipelineContext;
  close(): Promise<void>;
}

/**
 * The key and options of a run that de-identifies, checked against the run: a resumed run (or
 * a worker taking its batches) must use the key the run started with, or its pseudonyms and
 * date shifts would not match those already delivered.
 */
export function deidContext(config: Config, deid: DeidSpec | undefined): DeidContext | undefined {
  if (deid === undefined) return undefined;
  const hint = 'set SECRET_KEY to the key the run started with (or start a new run)';
  if (config.secretKey === undefined) {
    throw new EtlError('CONFIG_INVALID', 'this run de-identifies and SECRET_KEY is not set', {
      subject: 'SECRET_KEY',
      hint,
    });
  }
  const pseudonymizer = new Pseudonymizer(config.secretKey);
  if (pseudonymizer.keyId() !== deid.keyId) {
    throw new EtlError('CONFIG_INVALID', 'SECRET_KEY is not the key this run started with', {
      subject: 'SECRET_KEY',
      hint,
    });
  }
  return {
    options: { secret: config.secretKey, keep: deid.keep, remove: deid.remove },
    pseudonymizer,
  };
}

/** Builds the fetcher and render threads of one run around its ledger and destination. */
export function openRuntime(
  config: Config,
  logger: Logger,
  ledger: Ledger,
  destination: OpenedDestination,
  deid?: DeidSpec,
): Runtime {
  const deidentify = deidContext(config, deid);
  const processing = openProcessing(config);
  return {
    context: {
      ledger,
      store: destination.store,
      fetcher: processing.fetcher,
      renderer: processing.renderer,
      logger,
      ...(deidentify === undefined ? {} : { deid: deidentify }),
    },
    async close() {
      await processing.close();
      await destination.store.close();
    },
  };
}

/**
 * Opens the run state: PostgreSQL when STATE_DATABASE_URL is set (workers on other machines
 * must see it), else the embedded database in --state-dir, which one process holds at a time.
 */
export async function openState(config: Config): Promise<SqlClient> {
  if (config.stateDatabaseUrl === undefined) {
    return openPglite(resolve(config.stateDir), 'the run state');
  }
  const client = openPg({
    connectionString: config.stateDatabaseUrl,
    maxConnections: 4,
    applicationName: 'eden-etl-state',
    readOnly: false,
    statementTimeoutMs: 0,
  });
  try {
    await client.query('SELECT 1');
  } catch (error) {
    await client.close();
    const code = (error as { code?: string }).code ?? '';
    const why = PG_CONNECT_ERRORS[code] ?? (error as Error).message;
    throw new EtlError('STATE_UNAVAILABLE', `cannot connect to the state database: ${why}`, {
      subject: redactUrl(config.stateDatabaseUrl),
      hint: 'check STATE_DATABASE_URL (--state-database-url): the user needs to create tables in that database',
      cause: error,
    });
  }
  return client;
}
