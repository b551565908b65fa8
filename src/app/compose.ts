import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Config } from '../config/schema.js';
import { EtlError } from '../domain/errors.js';
import type { ObjectStore } from '../domain/object-store.js';
import { redactUrl } from '../domain/redact.js';
import type { DeidSpec, RunSpec } from '../domain/run-spec.js';
import type { SqlClient } from '../domain/sql.js';
import type { Ledger } from '../ledger/ledger.js';
import type { RunInsights } from '../ledger/run-insights.js';
import type { Logger } from '../observability/logger.js';
import type { DeidContext, PipelineContext } from '../pipeline/context.js';
import type { JobProcessors, JobWorkers } from '../queue/job-workers.js';
import type { QueueViews } from '../queue/queue-views.js';
import type { RunQueues } from '../queue/queues.js';
import { queueSettingsOrFail, type QueueSettings } from '../queue/settings.js';
import type { HttpAuth } from '../source/http-fetcher.js';
import { parseDestination } from '../store/destination.js';

/**
 * The composition root: the one place that turns the frozen configuration into adapters (state
 * and PACS databases, destinations, the fetcher, render threads, queues). Every command builds
 * one, takes what it needs and closes it; each adapter is built once, on first use, and its
 * module is loaded then, so a command pays only for what it uses (`status` never loads the
 * render threads, `convert` never loads PostgreSQL). Stages and the pipeline receive what is
 * built here and never open connections themselves.
 */

/** A destination as opened: its store, its root URL without credentials, the dataset prefix. */
export interface OpenedDestination {
  store: ObjectStore;
  /** Root URL without credentials, stored in the run spec. */
  rootUrl: string;
  prefix: string;
}

/** What processes instances, whatever their run: the fetcher and the render threads. */
export interface Processing {
  fetcher: PipelineContext['fetcher'];
  renderer: PipelineContext['renderer'];
}

/** Reads the run state for the dashboard, one read at a time when the state is embedded. */
export type StateReader = <T>(fn: (insights: RunInsights) => Promise<T>) => Promise<T>;

export interface CompositionOptions {
  /**
   * Share the PACS download rate limit with other processes through Redis (workers): every
   * worker then counts against one `--pacs-rate-limit`. Otherwise the limit is this process's.
   */
  shareRateLimit?: boolean;
}

/** The PACS database, read-only and gently: someone else's production server. */
async function openSourceDatabase(config: Config, source: string): Promise<SqlClient> {
  if (source.startsWith('pglite:')) {
    const { openPglite } = await import('../sql/pglite-client.js');
    return openPglite(resolve(source.slice('pglite:'.length)), 'the PACS database');
  }
  let ca: string | undefined;
  if (config.sourceCaFile !== undefined) {
    try {
      ca = readFileSync(config.sourceCaFile, 'utf8');
    } catch (error) {
      throw new EtlError('CONFIG_INVALID', `cannot read the CA file: ${(error as Error).message}`, {
        subject: config.sourceCaFile,
        hint: 'give --source-ca-file the PEM file of the CA that signed the database certificate',
      });
    }
  }
  const { connectPg } = await import('../sql/pg-client.js');
  return connectPg(
    {
      connectionString: source,
      maxConnections: config.sourceMaxConnections,
      applicationName: 'eden-etl',
      readOnly: true,
      statementTimeoutMs: config.sourceStatementTimeout * 1000,
      ...(ca === undefined ? {} : { ca }),
    },
    (why, cause) =>
      new EtlError('SOURCE_UNAVAILABLE', `cannot connect to the PACS database: ${why}`, {
        subject: redactUrl(source),
        hint: 'check --source or SOURCE_DATABASE_NAME/USER/PASS/HOST/PORT, and that the server accepts connections from here',
        cause,
      }),
  );
}

/**
 * The run state: PostgreSQL when STATE_DATABASE_URL is set (workers on other machines must see
 * it), else the embedded database in --state-dir, which one process holds at a time.
 */
async function openStateDatabase(config: Config): Promise<SqlClient> {
  const url = config.stateDatabaseUrl;
  if (url === undefined) {
    const { openPglite } = await import('../sql/pglite-client.js');
    return openPglite(resolve(config.stateDir), 'the run state');
  }
  const { connectPg } = await import('../sql/pg-client.js');
  return connectPg(
    {
      connectionString: url,
      maxConnections: 4,
      applicationName: 'eden-etl-state',
      readOnly: false,
      statementTimeoutMs: 0,
    },
    (why, cause) =>
      new EtlError('STATE_UNAVAILABLE', `cannot connect to the state database: ${why}`, {
        subject: redactUrl(url),
        hint: 'check STATE_DATABASE_URL (--state-database-url): the user needs to create tables in that database',
        cause,
      }),
  );
}

/**
 * Opens a destination: a local directory, or a GCS bucket (credentials from
 * GCS_CREDENTIALS_PATH or Application Default Credentials; STORAGE_EMULATOR_HOST honoured).
 */
async function openDestination(
  config: Config,
  dest: string,
  prefix: string,
): Promise<OpenedDestination> {
  const destination = parseDestination(dest, prefix);
  if (destination.kind === 'gs') {
    const { openGcsStore } = await import('../store/gcs-store.js');
    return {
      store: await openGcsStore({
        bucket: destination.bucket,
        credentialsPath: config.gcsCredentialsPath,
      }),
      rootUrl: `gs://${destination.bucket}`,
      prefix: destination.prefix,
    };
  }
  const { openLocalStore } = await import('../store/local-store.js');
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

/**
 * The key and options of a run that de-identifies, checked against the run: a resumed run (or
 * a worker taking its batches) must use the key the run started with, or its pseudonyms and
 * date shifts would not match those already delivered.
 */
async function deidContext(
  config: Config,
  deid: DeidSpec | undefined,
): Promise<DeidContext | undefined> {
  if (deid === undefined) return undefined;
  const hint = 'set SECRET_KEY to the key the run started with (or start a new run)';
  if (config.secretKey === undefined) {
    throw new EtlError('CONFIG_INVALID', 'this run de-identifies and SECRET_KEY is not set', {
      subject: 'SECRET_KEY',
      hint,
    });
  }
  const { Pseudonymizer } = await import('../deid/pseudonyms.js');
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

export class Composition {
  /** What to close, most recently opened first. */
  readonly #closers: (() => Promise<void>)[] = [];
  readonly #destinations = new Map<string, Promise<OpenedDestination>>();
  #ledger: Promise<Ledger> | undefined;
  #processing: Promise<Processing> | undefined;
  #queues: Promise<RunQueues> | undefined;
  #closed = false;

  constructor(
    readonly config: Config,
    readonly logger: Logger,
    private readonly options: CompositionOptions = {},
  ) {}

  /** Opens the run state once, for the life of the command. */
  ledger(): Promise<Ledger> {
    this.#ledger ??= this.#forgetIfFailed(
      this.#open(async () => {
        const sql = await openStateDatabase(this.config);
        this.#closers.unshift(() => sql.close());
        const { Ledger } = await import('../ledger/ledger.js');
        return Ledger.open(sql);
      }),
      () => (this.#ledger = undefined),
    );
    return this.#ledger;
  }

  /**
   * A state reader for a long-lived view (the dashboard). PostgreSQL state is shared: one pool
   * for the view's life. The embedded state is held by one process at a time, so it is opened
   * for each read only, one read at a time, and a run can start between two page views.
   */
  stateReader(): StateReader {
    const readWith = async <T>(
      sql: SqlClient,
      fn: (insights: RunInsights) => Promise<T>,
    ): Promise<T> => {
      const [{ Ledger }, { RunInsights }] = await Promise.all([
        import('../ledger/ledger.js'),
        import('../ledger/run-insights.js'),
      ]);
      // Opening checks the ledger version (and creates the tables in a new state database).
      await Ledger.open(sql);
      return fn(new RunInsights(sql));
    };
    if (this.config.stateDatabaseUrl !== undefined) {
      const shared = this.#open(async () => {
        const sql = await openStateDatabase(this.config);
        this.#closers.unshift(() => sql.close());
        return sql;
      });
      return async (fn) => readWith(await shared, fn);
    }
    let queue: Promise<unknown> = Promise.resolve();
    this.#closers.unshift(() => queue.then(() => undefined));
    return (fn) => {
      const next = queue.then(async () => {
        const sql = await openStateDatabase(this.config);
        try {
          return await readWith(sql, fn);
        } finally {
          await sql.close();
        }
      });
      // The next read waits for this one to finish, whether it succeeded or not.
      queue = next.catch(() => undefined);
      return next;
    };
  }

  /**
   * Opens the PACS database `source` (default: the configured one) for planning, and checks that
   * it answers. PostgreSQL sessions are read-only with a statement timeout and a small pool; TLS
   * follows the URL's `sslmode` (and `sslrootcert`), or --source-ca-file. The caller closes it
   * once the selection is read: the PACS is not held for the rest of the run. `config` is a
   * scheduled run's own configuration, when it is not the command's.
   */
  source(
    source: string | undefined = this.config.source,
    config: Config = this.config,
  ): Promise<SqlClient> {
    if (source === undefined) {
      throw new EtlError('CONFIG_INVALID', 'no PACS database given', {
        hint: 'give --source pglite:DIR or postgres://…, or set SOURCE_DATABASE_NAME/USER/PASS/HOST/PORT; `eden-etl demo` runs on the built-in sample PACS',
      });
    }
    return openSourceDatabase(config, source);
  }

  /**
   * A database the command writes to (`eden-etl sample-pacs --into`): PostgreSQL, or a PGlite
   * directory. Closed with the composition.
   */
  async writableDatabase(url: string, purpose: string): Promise<SqlClient> {
    let sql: SqlClient;
    if (url.startsWith('pglite:')) {
      const { openPglite } = await import('../sql/pglite-client.js');
      sql = await openPglite(resolve(url.slice('pglite:'.length)), purpose);
    } else if (/^postgres(ql)?:\/\//.test(url)) {
      const { connectPg } = await import('../sql/pg-client.js');
      sql = await connectPg(
        {
          connectionString: url,
          maxConnections: 1,
          applicationName: 'eden-etl',
          readOnly: false,
          statementTimeoutMs: 0,
        },
        (why, cause) =>
          new EtlError('SOURCE_UNAVAILABLE', `cannot connect to ${purpose}: ${why}`, {
            subject: redactUrl(url),
            cause,
          }),
      );
    } else {
      throw new EtlError(
        'USAGE',
        `--into: received ${JSON.stringify(redactUrl(url))}; expected postgres://… or pglite:DIR`,
      );
    }
    this.#closers.unshift(() => sql.close());
    return sql;
  }

  /**
   * The destination `dest` with the dataset `prefix`, opened once per (dest, prefix) and closed
   * with the composition. One that could not be opened is tried again at the next call.
   */
  destination(dest: string, prefix: string): Promise<OpenedDestination> {
    const key = `${dest}\n${prefix}`;
    let opened = this.#destinations.get(key);
    if (opened === undefined) {
      opened = this.#open(() => openDestination(this.config, dest, prefix));
      this.#destinations.set(key, opened);
      opened.then(
        (destination) => this.#closers.unshift(() => destination.store.close()),
        () => this.#destinations.delete(key),
      );
    }
    return opened;
  }

  /**
   * The fetcher and the render threads (one per core by default), built once. With
   * `shareRateLimit`, the PACS download limit is shared with the other workers through Redis.
   * A command that knows how many files it renders gives `inputs`: no more threads start than
   * that (each thread costs its start-up).
   */
  processing(options: { inputs?: number } = {}): Promise<Processing> {
    this.#processing ??= this.#forgetIfFailed(
      this.#open(async () => {
        const { config } = this;
        const auth = pacsHttpAuth(config);
        const takeSlot = await this.#sharedRateLimit();
        const [{ RenderPool }, { createFetcher }] = await Promise.all([
          import('../pipeline/render-pool.js'),
          import('../source/fetcher.js'),
        ]);
        const renderer = RenderPool.create({
          threads: Math.max(1, Math.min(config.renderThreads, options.inputs ?? Infinity)),
          timeoutMs: config.renderTimeout * 1000,
          j2kDecoder: config.j2kDecoder,
        });
        this.#closers.unshift(() => renderer.close());
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
        this.#closers.unshift(() => fetcher.close());
        return { fetcher, renderer };
      }),
      () => (this.#processing = undefined),
    );
    return this.#processing;
  }

  /**
   * Everything a run's instances are processed with: the ledger, the run's destination, the
   * shared fetcher and render threads, and its de-identification key (refused if it is not the
   * run's).
   */
  async pipelineContext(spec: RunSpec): Promise<PipelineContext> {
    const deid = await this.deid(spec);
    const [ledger, { store }, { fetcher, renderer }] = await Promise.all([
      this.ledger(),
      this.destination(spec.destination, spec.prefix),
      this.processing(),
    ]);
    return {
      ledger,
      store,
      fetcher,
      renderer,
      logger: this.logger,
      ...(deid === undefined ? {} : { deid }),
    };
  }

  /**
   * The de-identification key and options of a run that de-identifies; CONFIG_INVALID when this
   * process has no SECRET_KEY or not the run's.
   */
  deid(spec: RunSpec): Promise<DeidContext | undefined> {
    return deidContext(this.config, spec.deid);
  }

  /** Where the queues are; refuses a configuration the BullMQ executor cannot work with. */
  queueSettings(): QueueSettings {
    return queueSettingsOrFail(this.config);
  }

  /** The BullMQ queues, opened once, after checking that Redis answers. */
  queues(): Promise<RunQueues> {
    this.#queues ??= this.#forgetIfFailed(
      this.#open(async () => {
        const settings = this.queueSettings();
        const { RunQueues } = await import('../queue/queues.js');
        const queues = await RunQueues.open(settings);
        this.#closers.unshift(() => queues.close());
        return queues;
      }),
      () => (this.#queues = undefined),
    );
    return this.#queues;
  }

  /** The queues as the dashboard shows them; null when Redis is not configured. */
  async queueViews(): Promise<QueueViews | null> {
    const { redisUrl, queuePrefix } = this.config;
    if (redisUrl === undefined) return null;
    const { openQueueViews } = await import('../queue/queue-views.js');
    const views = openQueueViews({ redisUrl, prefix: queuePrefix }, this.logger);
    this.#closers.unshift(() => views.close());
    return views;
  }

  /** BullMQ workers running `processors` until the composition is closed. */
  async jobWorkers(
    processors: JobProcessors,
    options: { lockDurationMs: number; stalledIntervalMs: number },
  ): Promise<JobWorkers> {
    const { startJobWorkers } = await import('../queue/job-workers.js');
    const workers = startJobWorkers(this.queueSettings(), processors, options, this.logger);
    this.#closers.unshift(() => workers.close());
    return workers;
  }

  /** Closes everything opened, most recent first; the first failure is thrown after all ran. */
  async close(): Promise<void> {
    this.#closed = true;
    let failure: Error | undefined;
    for (const close of this.#closers.splice(0)) {
      try {
        await close();
      } catch (error) {
        failure ??= error instanceof Error ? error : new Error(String(error));
      }
    }
    if (failure !== undefined) throw failure;
  }

  async #sharedRateLimit(): Promise<(() => Promise<void>) | undefined> {
    const rate = this.config.pacsRateLimit;
    if (this.options.shareRateLimit !== true || rate === undefined) return undefined;
    const settings = this.queueSettings();
    const { createSharedRateLimit } = await import('../queue/shared-rate-limit.js');
    const limit = createSharedRateLimit({
      redisUrl: settings.redisUrl,
      key: `${settings.prefix}:pacs-rate-limit`,
      rate,
    });
    this.#closers.unshift(() => limit.close());
    return () => limit.takeSlot();
  }

  /** `opened`, calling `forget` if it fails: what could not be opened is tried again next time. */
  #forgetIfFailed<T>(opened: Promise<T>, forget: () => void): Promise<T> {
    opened.catch(forget);
    return opened;
  }

  /** Refuses to open anything once closed: it would never be closed. */
  #open<T>(open: () => Promise<T>): Promise<T> {
    if (this.#closed) {
      return Promise.reject(new EtlError('INTERNAL', 'the composition is closed'));
    }
    return open();
  }
}

/** Runs `work` with a composition of `config`, and closes it whatever happens. */
export async function withComposition<T>(
  config: Config,
  logger: Logger,
  work: (root: Composition) => Promise<T>,
  options: CompositionOptions = {},
): Promise<T> {
  const root = new Composition(config, logger, options);
  try {
    return await work(root);
  } finally {
    await root.close();
  }
}
