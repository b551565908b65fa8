import { availableParallelism } from 'node:os';
import { LOG_LEVELS } from '../domain/log-levels.js';
import { GATE_IDS } from '../domain/quality-gates.js';
import { EXPORT_FORMATS } from '../domain/instruction-exports.js';
import { DEFAULT_RENDER_OPTIONS } from '../domain/render.js';
import {
  flag,
  number,
  oneOf,
  positiveInt,
  text,
  url,
  type ParsedValue,
  type ValueParser,
} from './value-parser.js';

/**
 * Every configuration key, in one table: its validation, where it may come from and its
 * default. The loader, `eden-etl config`, `.env.example` and the README table follow it.
 */
export interface KeySpec {
  schema: ValueParser<unknown>;
  /** What a valid value looks like, for error messages: "received X; expected <this>". */
  expected: string;
  /** Environment variables, first set wins. */
  env?: readonly string[];
  /** The command-line flag, as shown to users. */
  flag?: string;
  /** The commands that take the flag; absent: every command that takes configuration flags. */
  commands?: readonly string[];
  default?: unknown;
  /**
   * Redacted wherever the configuration is shown: `true` hides the whole value, `'url'` only
   * the credentials in it (the rest of a database URL helps debugging).
   */
  secret?: true | 'url';
  doc: string;
}

const optionalText = text({ min: 1 }).optional();
const booleanText = flag();

/** DICOM tags as users write them, to 8 upper-case hex digits each: "(0010,1010)" → "00101010". */
const tagList = text({ pattern: /^[\s;]*(\(?[0-9A-Fa-f]{4},?[0-9A-Fa-f]{4}\)?([\s;]+|$))*$/ })
  .optional()
  .map((text = '') =>
    text
      .split(/[\s;]+/)
      .filter((word) => word !== '')
      .map((word) => word.replace(/[(),]/g, '').toUpperCase()),
  );

const SPLIT_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/** `train=0.8,validate=0.1,test=0.1`: unique lower-case names, fractions above 0 summing to 1. */
const splitsText = text()
  .map((text) =>
    text.split(',').map((part) => {
      const [name = '', fraction = ''] = part.split('=').map((piece) => piece.trim());
      return { name, fraction: /^\d*\.?\d+$/.test(fraction) ? Number(fraction) : Number.NaN };
    }),
  )
  .check(
    (shares) =>
      shares.every((share) => SPLIT_NAME.test(share.name) && share.fraction > 0) &&
      new Set(shares.map((share) => share.name)).size === shares.length &&
      Math.abs(shares.reduce((sum, share) => sum + share.fraction, 0) - 1) < 1e-9,
  );

/** `all`, `none`, or names from `known` separated by commas, in the order given. */
function choiceList<T extends string>(known: readonly T[]) {
  return text()
    .map((list) => list.split(',').map((part) => part.trim().toLowerCase()))
    .check((names) =>
      names.length === 1 && (names[0] === 'all' || names[0] === 'none')
        ? true
        : names.every((name) => (known as readonly string[]).includes(name)),
    )
    .map((names): T[] =>
      names[0] === 'all' ? [...known] : names[0] === 'none' ? [] : (names as T[]),
    );
}

/** Export formats, in the order of EXPORT_FORMATS whatever order they were given in. */
const exportList = choiceList(EXPORT_FORMATS).map((names) =>
  EXPORT_FORMATS.filter((format) => names.includes(format)),
);

/** Gate ids, in the order given. */
const gateList = choiceList(GATE_IDS);

export const CONFIG_KEYS = {
  source: {
    schema: text({ pattern: /^(pglite:.+|postgres(ql)?:\/\/.+)$/ }).optional(),
    expected: 'pglite:DIR or postgres://user:pass@host:port/db',
    env: ['SOURCE_DATABASE_URL'],
    flag: '--source',
    secret: 'url',
    doc: 'PACS database. Also built from SOURCE_DATABASE_NAME/USER/PASS/HOST/PORT.',
  },
  sourceMaxConnections: {
    schema: positiveInt(32),
    expected: 'an integer, 1..32',
    env: ['EDEN_SOURCE_MAX_CONNECTIONS'],
    flag: '--source-max-connections',
    default: 2,
    doc: 'Connections to the PACS database at most (it is someone else’s production server).',
  },
  sourceStatementTimeout: {
    schema: number({ positive: true, max: 86_400 }),
    expected: 'seconds, above 0 and at most 86400',
    env: ['EDEN_SOURCE_STATEMENT_TIMEOUT'],
    flag: '--source-statement-timeout',
    default: 300,
    doc: 'Longest one query may run on the PACS database, in seconds (server-side).',
  },
  sourceCaFile: {
    schema: optionalText,
    expected: 'the path of a PEM file',
    env: ['SOURCE_DATABASE_CA_FILE'],
    flag: '--source-ca-file',
    doc: 'CA certificate for TLS to the PACS database (verified); or sslmode/sslrootcert in the URL.',
  },
  sourceDatabaseName: {
    schema: optionalText,
    expected: 'a database name',
    env: ['SOURCE_DATABASE_NAME'],
    doc: 'PACS database name (the seed variables; used when --source is not given).',
  },
  sourceDatabaseUser: {
    schema: optionalText,
    expected: 'a user name',
    env: ['SOURCE_DATABASE_USER'],
    doc: 'PACS database user.',
  },
  sourceDatabasePass: {
    schema: optionalText,
    expected: 'a password',
    env: ['SOURCE_DATABASE_PASS'],
    secret: true,
    doc: 'PACS database password.',
  },
  sourceDatabaseHost: {
    schema: optionalText,
    expected: 'a host name',
    env: ['SOURCE_DATABASE_HOST'],
    default: 'localhost',
    doc: 'PACS database host.',
  },
  sourceDatabasePort: {
    schema: number({ integer: true, min: 1, max: 65535 }),
    expected: 'a TCP port, 1..65535',
    env: ['SOURCE_DATABASE_PORT'],
    default: 5432,
    doc: 'PACS database port.',
  },
  filesRoot: {
    schema: optionalText,
    expected: 'a directory path',
    env: ['EDEN_FILES_ROOT'],
    flag: '--files-root',
    doc: 'Directory that relative file_path values are resolved against when file_url is empty.',
  },
  samplePacsDir: {
    schema: text({ min: 1 }),
    expected: 'a directory path',
    env: ['EDEN_SAMPLE_PACS_DIR'],
    flag: '--sample-pacs-dir',
    default: '.eden/sample-pacs',
    doc: 'Where `eden-etl demo` keeps the generated sample PACS (database and DICOM files).',
  },
  query: {
    schema: text({ min: 1 }),
    expected: 'the path of a .sql file',
    env: ['EDEN_QUERY'],
    flag: '--query',
    default: 'queries/chest_dicom_files_and_reports.sql',
    doc: 'Selection query (see "The query contract").',
  },
  studies: {
    schema: positiveInt(10_000_000),
    expected: 'an integer, 1 or more',
    env: ['EDEN_STUDIES'],
    flag: '--studies',
    default: 8,
    doc: 'How many studies the query samples (:studies).',
  },
  seed: {
    schema: text({ pattern: /^[A-Za-z0-9_.-]{1,64}$/ }),
    expected: 'letters, digits, _ . - (1..64 characters), or "random"',
    env: ['EDEN_SEED'],
    flag: '--seed',
    default: '0',
    doc: 'Sampling seed (:seed): the same seed selects the same studies. "random" draws a new one.',
  },
  pageSize: {
    schema: positiveInt(100_000),
    expected: 'an integer, 1..100000',
    env: ['EDEN_PAGE_SIZE'],
    flag: '--page-size',
    default: 10_000,
    doc: 'Rows per selection page read from the PACS database; each page runs the query once. The unit of work is --batch-size.',
  },
  batchSize: {
    schema: positiveInt(100_000),
    expected: 'an integer, 1..100000',
    env: ['EDEN_BATCH_SIZE'],
    flag: '--batch-size',
    default: 25,
    doc: 'Instances per batch (the unit of work a worker takes).',
  },
  concurrency: {
    schema: positiveInt(1024),
    expected: 'an integer, 1..1024',
    env: ['EDEN_CONCURRENCY'],
    flag: '--concurrency',
    default: Math.max(2, availableParallelism() * 2),
    doc: 'Instances in flight at once in this process (bounds memory).',
  },
  renderThreads: {
    schema: positiveInt(256),
    expected: 'an integer, 1..256',
    env: ['EDEN_RENDER_THREADS'],
    flag: '--render-threads',
    default: availableParallelism(),
    doc: 'Worker threads that render images (one per core by default).',
  },
  renderTimeout: {
    schema: number({ positive: true, max: 86_400 }),
    expected: 'seconds, above 0 and at most 86400',
    env: ['EDEN_RENDER_TIMEOUT'],
    flag: '--render-timeout',
    default: 600,
    doc: 'Longest one file may take to render, in seconds; past it the file fails (RENDER_FAILED).',
  },
  j2kDecoder: {
    schema: oneOf(['auto', 'native', 'wasm']),
    expected: 'auto, native or wasm',
    env: ['EDEN_J2K_DECODER'],
    flag: '--j2k-decoder',
    default: 'auto',
    doc: "JPEG 2000 decoder: native is the system's OpenJPEG (libopenjp2) on every core, wasm the bundled one-core build; auto is native when the library is installed.",
  },
  retries: {
    schema: number({ integer: true, min: 0, max: 20 }),
    expected: 'an integer, 0..20',
    env: ['EDEN_RETRIES'],
    flag: '--retries',
    default: 5,
    doc: 'Retries per instance after a transient error (network, HTTP 5xx/429, busy disk), waiting 1, 2, 4… s (±50%, at least Retry-After): 5 rides out about half a minute of PACS outage.',
  },
  dest: {
    schema: text({ min: 1 }).optional(),
    expected: 'file://DIR, a directory path, or gs://BUCKET[/PATH]',
    env: ['EDEN_DEST'],
    flag: '--dest',
    doc: 'Destination root. Defaults to gs://$GCS_BUCKET_NAME when that is set.',
  },
  prefix: {
    schema: text(),
    expected: 'a relative path such as eden-dataset-vlms/sample-test',
    env: ['EDEN_PREFIX'],
    flag: '--prefix',
    default: 'eden-dataset-vlms/sample-test',
    doc: 'Dataset folder under the destination root.',
  },
  stateDir: {
    schema: text({ min: 1 }),
    expected: 'a directory path',
    env: ['EDEN_STATE_DIR'],
    flag: '--state-dir',
    default: '.eden/state',
    doc: 'Run state (the ledger), an embedded database directory (when STATE_DATABASE_URL is unset).',
  },
  stateDatabaseUrl: {
    schema: text({ pattern: /^postgres(ql)?:\/\/.+/ }).optional(),
    expected: 'postgres://user:password@host:port/database',
    env: ['STATE_DATABASE_URL'],
    flag: '--state-database-url',
    secret: 'url',
    doc: 'Run state (the ledger) in PostgreSQL, shared by distributed workers; replaces --state-dir.',
  },
  jpegQuality: {
    schema: positiveInt(100),
    expected: 'an integer, 1..100',
    env: ['EDEN_JPEG_QUALITY'],
    flag: '--quality',
    default: DEFAULT_RENDER_OPTIONS.quality,
    doc: 'JPEG quality.',
  },
  optimiseCoding: {
    schema: booleanText,
    expected: 'true or false',
    env: ['EDEN_OPTIMISE_CODING'],
    flag: '--optimise-coding',
    default: DEFAULT_RENDER_OPTIONS.optimiseCoding,
    doc: 'Optimised Huffman tables: ~10% smaller JPEGs, ~2x encode time.',
  },
  format: {
    schema: oneOf(['jpeg', 'png']),
    expected: 'jpeg or png',
    env: ['EDEN_IMAGE_FORMAT'],
    flag: '--format',
    default: DEFAULT_RENDER_OPTIONS.format,
    doc: 'Image format: JPEG (images-jpg/), or lossless PNG (images-png/).',
  },
  bitDepth: {
    schema: number().pipe(oneOf([8, 16])),
    expected: '8 or 16 (16 with --format png)',
    env: ['EDEN_BIT_DEPTH'],
    flag: '--bit-depth',
    default: DEFAULT_RENDER_OPTIONS.bitDepth,
    doc: 'Grey levels of the image: 16 writes a 16-bit PNG master (with --format png).',
  },
  maxSize: {
    schema: positiveInt(65_535).optional(),
    expected: 'a size in pixels, 1..65535',
    env: ['EDEN_MAX_SIZE'],
    flag: '--max-size',
    doc: 'Longest side of the image in pixels; larger images are downsampled (lanczos3).',
  },
  window: {
    schema: text({ pattern: /^\s*-?\d+(\.\d+)?\s*,\s*\d+(\.\d+)?\s*$/ })
      .map((value) => {
        const [center, width] = value.split(',').map(Number) as [number, number];
        return { center, width };
      })
      .check((window) => window.width > 0)
      .optional(),
    expected: 'CENTER,WIDTH in modality units, width above 0, e.g. 40,400',
    env: ['EDEN_WINDOW'],
    flag: '--window',
    doc: "VOI window to use instead of the file's.",
  },
  windowIndex: {
    schema: positiveInt(1000),
    expected: 'an integer, 1 or more',
    env: ['EDEN_WINDOW_INDEX'],
    flag: '--window-index',
    default: DEFAULT_RENDER_OPTIONS.windowIndex,
    doc: "Which of the file's windows (or VOI LUTs) to use, from 1.",
  },
  frames: {
    schema: oneOf(['first', 'all']),
    expected: 'first or all',
    env: ['EDEN_FRAMES'],
    flag: '--frames',
    default: DEFAULT_RENDER_OPTIONS.frames,
    doc: 'Frames of multi-frame images to render: the first, or all ({instance_id}_{frame}).',
  },
  qualityGates: {
    schema: gateList,
    expected: `all, none, or a comma-separated list of ${GATE_IDS.join(', ')}`,
    env: ['EDEN_QUALITY_GATES'],
    flag: '--quality-gates',
    default: 'all',
    doc: 'Quality gates that exclude instances before upload (listed with their reason in excluded.csv).',
  },
  minReportChars: {
    schema: number({ integer: true, min: 0, max: 100_000 }),
    expected: 'an integer, 0..100000',
    env: ['EDEN_MIN_REPORT_CHARS'],
    flag: '--min-report-chars',
    default: 20,
    doc: 'The short-report gate excludes studies whose report has fewer characters (0: only empty).',
  },
  exports: {
    schema: exportList,
    expected: `all, none, or a comma-separated list of ${EXPORT_FORMATS.join(', ')}`,
    env: ['EDEN_EXPORTS'],
    flag: '--exports',
    default: 'none',
    doc: 'Instruction-tuning files written beside the dataset: LLaVA conversation JSON, OpenAI-style messages JSONL (docs/dataset-format.md).',
  },
  shardMegabytes: {
    schema: positiveInt(100_000),
    expected: 'an integer, 1..100000 (MiB)',
    env: ['EDEN_SHARD_MEGABYTES'],
    flag: '--shard-megabytes',
    default: 500,
    doc: 'Largest WebDataset shard of --exports webdataset, in MiB; finalize holds one shard in memory.',
  },
  instructionTemplates: {
    schema: text().optional(),
    expected: 'the path of a JSON file of instruction templates',
    env: ['EDEN_INSTRUCTION_TEMPLATES'],
    flag: '--instruction-templates',
    doc: 'Instruction templates for --exports instead of the built-in ones: a JSON array of {id, target, requires, prompt} (docs/dataset-format.md).',
  },
  splits: {
    schema: splitsText,
    expected: 'NAME=FRACTION,… with lower-case unique names and fractions above 0 summing to 1',
    env: ['EDEN_SPLITS'],
    flag: '--splits',
    default: 'train=0.8,validate=0.1,test=0.1',
    doc: 'Patient-level splits: a keyed hash of the patient id puts all of a patient’s studies in one.',
  },
  splitKey: {
    schema: text({ min: 16 }).optional(),
    expected: 'a secret of 16 characters or more',
    env: ['EDEN_SPLIT_KEY'],
    flag: '--split-key',
    secret: true,
    doc: 'Key of the split hash; else SECRET_KEY; else a public default (splits then predictable).',
  },
  maxFileBytes: {
    schema: number({ integer: true, min: 1024 }),
    expected: 'a byte count, 1024 or more',
    env: ['EDEN_MAX_FILE_BYTES'],
    flag: '--max-file-bytes',
    default: 1024 * 1024 * 1024,
    doc: 'Largest DICOM file fetched; larger ones fail with FILE_TOO_LARGE (protects memory).',
  },
  maxPacsConnections: {
    schema: positiveInt(256),
    expected: 'an integer, 1..256',
    env: ['EDEN_MAX_PACS_CONNECTIONS'],
    flag: '--max-pacs-connections',
    default: 4,
    doc: 'Open connections per PACS web server (http(s):// file URLs), at most.',
  },
  pacsRateLimit: {
    schema: number({ positive: true, max: 100_000 }).optional(),
    expected: 'requests per second, above 0 (e.g. 20 or 0.5)',
    env: ['EDEN_PACS_RATE_LIMIT'],
    flag: '--pacs-rate-limit',
    doc: 'Most requests per second to PACS web servers, for the whole process (none by default).',
  },
  pacsConnectTimeout: {
    schema: number({ positive: true, max: 3600 }),
    expected: 'seconds, above 0 and at most 3600',
    env: ['EDEN_PACS_CONNECT_TIMEOUT'],
    flag: '--pacs-connect-timeout',
    default: 10,
    doc: 'Longest wait to connect to a PACS web server, in seconds (then retried).',
  },
  pacsReadTimeout: {
    schema: number({ positive: true, max: 3600 }),
    expected: 'seconds, above 0 and at most 3600',
    env: ['EDEN_PACS_READ_TIMEOUT'],
    flag: '--pacs-read-timeout',
    default: 60,
    doc: 'Longest wait for response headers or the next piece of a body, in seconds (then retried).',
  },
  pacsHttpUser: {
    schema: optionalText,
    expected: 'a user name',
    env: ['PACS_HTTP_USER'],
    doc: 'Basic auth user for the PACS web server (credentials in a file_url win).',
  },
  pacsHttpPassword: {
    schema: optionalText,
    expected: 'a password',
    env: ['PACS_HTTP_PASSWORD'],
    secret: true,
    doc: 'Basic auth password for the PACS web server.',
  },
  pacsHttpToken: {
    schema: optionalText,
    expected: 'a bearer token',
    env: ['PACS_HTTP_TOKEN'],
    secret: true,
    doc: 'Bearer token for the PACS web server (instead of a user and password).',
  },
  logLevel: {
    schema: text()
      .map((value) => value.toLowerCase())
      .pipe(oneOf(LOG_LEVELS)),
    expected: LOG_LEVELS.join(', ') + ' (any case)',
    env: ['LOGGING_LEVEL'],
    flag: '--log-level',
    default: 'info',
    doc: 'Log level.',
  },
  logFormat: {
    schema: oneOf(['plain', 'json']),
    expected: 'plain or json',
    env: ['LOG_FORMAT'],
    flag: '--log-format',
    default: 'plain',
    doc: 'Log lines for people (plain) or pino JSON lines (json).',
  },
  progress: {
    schema: oneOf(['auto', 'bar', 'lines', 'off']),
    expected: 'auto, bar, lines or off',
    env: ['EDEN_PROGRESS'],
    flag: '--progress',
    default: 'auto',
    doc: 'Progress display: a bar on a terminal, log lines otherwise (auto).',
  },
  redisUrl: {
    schema: text({ pattern: /^rediss?:\/\/.+/ }).optional(),
    expected: 'redis://host:port/db',
    env: ['REDIS_URL'],
    secret: 'url',
    doc: 'Redis for distributed workers (not used by the local executor).',
  },
  queuePrefix: {
    schema: text({ pattern: /^[A-Za-z0-9_-]{1,64}$/ }),
    expected: 'letters, digits, _ or -, at most 64',
    env: ['EDEN_QUEUE_PREFIX'],
    flag: '--queue-prefix',
    default: 'eden',
    doc: 'Prefix of the Redis keys of the queues; runs that share Redis must share it to see each other.',
  },
  executor: {
    schema: oneOf(['bullmq', 'local']).optional(),
    expected: 'bullmq or local',
    env: ['EDEN_EXECUTOR'],
    flag: '--executor',
    doc: 'Where batches run: BullMQ workers (`eden-etl worker`; the default when REDIS_URL is set) or this process (local).',
  },
  jobAttempts: {
    schema: positiveInt(100),
    expected: 'an integer, 1..100',
    env: ['EDEN_JOB_ATTEMPTS'],
    flag: '--job-attempts',
    default: 3,
    doc: 'Tries of a batch job whose instances fail transiently (network, 5xx, busy disk), the first included.',
  },
  jobBackoff: {
    schema: number({ positive: true, max: 86_400 }),
    expected: 'seconds, above 0 and at most 86400',
    env: ['EDEN_JOB_BACKOFF'],
    flag: '--job-backoff',
    default: 60,
    doc: 'Delay before the first retry of a batch job, in seconds; doubled at each retry.',
  },
  lockDuration: {
    schema: number({ positive: true, max: 3600 }),
    expected: 'seconds, above 0 and at most 3600',
    env: ['EDEN_LOCK_DURATION'],
    flag: '--lock-duration',
    default: 30,
    doc: 'A worker renews its lock on a job every half of this, in seconds; a dead worker’s job is free once it lapses.',
  },
  stalledInterval: {
    schema: number({ positive: true, max: 3600 }),
    expected: 'seconds, above 0 and at most 3600',
    env: ['EDEN_STALLED_INTERVAL'],
    flag: '--stalled-interval',
    default: 30,
    doc: 'How often workers look for jobs of dead workers (lapsed locks) and take them over, in seconds.',
  },
  recoverInterval: {
    schema: number({ positive: true, max: 86_400 }),
    expected: 'seconds, above 0 and at most 86400',
    env: ['EDEN_RECOVER_INTERVAL'],
    flag: '--recover-interval',
    default: 30,
    doc: 'How often workers and `run` look for runs whose jobs Redis lost (restarted without persistence) and enqueue them again from the ledger, in seconds.',
  },
  gcsBucketName: {
    schema: text({ pattern: /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/ }).optional(),
    expected: 'a GCS bucket name (lower case letters, digits, . _ -)',
    env: ['GCS_BUCKET_NAME'],
    doc: 'Destination bucket when --dest is not given.',
  },
  gcsCredentialsPath: {
    schema: optionalText,
    expected: 'the path of a service account JSON key',
    env: ['GCS_CREDENTIALS_PATH'],
    doc: 'Service account key for GCS; Application Default Credentials when unset.',
  },
  sentryDsn: {
    schema: url().optional(),
    expected: 'a Sentry DSN URL',
    env: ['SENTRY_DSN', 'SENTRY_DNS'],
    secret: 'url',
    doc: 'Optional error tracking (the seed spelling SENTRY_DNS is accepted).',
  },
  dashboardPort: {
    schema: number({ integer: true, min: 0, max: 65535 }),
    expected: 'a TCP port, 0..65535 (0: any free port)',
    env: ['DASHBOARD_PORT'],
    flag: '--port',
    commands: ['dashboard'],
    default: 3000,
    doc: 'Port the dashboard listens on.',
  },
  dashboardHost: {
    schema: text({ min: 1 }),
    expected: 'a host name or IP address to listen on, e.g. 127.0.0.1 or 0.0.0.0',
    env: ['DASHBOARD_HOST'],
    flag: '--host',
    commands: ['dashboard'],
    default: '127.0.0.1',
    doc: 'Address the dashboard listens on; other than localhost it needs DASHBOARD_PASSWORD.',
  },
  dashboardUser: {
    schema: text({ min: 1 }),
    expected: 'a user name',
    env: ['DASHBOARD_USER', 'FLOWER_USER'],
    default: 'admin',
    doc: 'Dashboard login (the seed FLOWER_USER is accepted).',
  },
  dashboardPassword: {
    schema: optionalText,
    expected: 'a password',
    env: ['DASHBOARD_PASSWORD', 'FLOWER_PASSWORD'],
    secret: true,
    doc: 'Dashboard password (the seed FLOWER_PASSWORD is accepted).',
  },
  secretKey: {
    schema: text({ min: 16 }).optional(),
    expected: 'a secret of 16 characters or more',
    env: ['SECRET_KEY'],
    secret: true,
    doc: 'Key for pseudonyms and date shifts when de-identifying (required with --deidentify basic).',
  },
  deidentify: {
    schema: oneOf(['none', 'basic']),
    expected: 'none or basic',
    env: ['DEIDENTIFY'],
    flag: '--deidentify',
    default: 'none',
    doc: 'De-identify DICOM and reports: basic = PS3.15 Basic Profile, modified dates, clean descriptors.',
  },
  deidKeep: {
    schema: tagList,
    expected: 'DICOM tags such as 0010,1010 or (0010,0040), separated by spaces',
    env: ['EDEN_DEID_KEEP'],
    flag: '--deid-keep',
    doc: 'Tags kept as they are although the profile would remove or replace them.',
  },
  deidRemove: {
    schema: tagList,
    expected: 'DICOM tags such as 0008,1030, separated by spaces',
    env: ['EDEN_DEID_REMOVE'],
    flag: '--deid-remove',
    doc: 'Tags removed although the profile would keep them.',
  },
  deidStaffNames: {
    schema: optionalText,
    expected: 'the path of a text file, one name per line',
    env: ['EDEN_DEID_STAFF_NAMES'],
    flag: '--deid-staff-names',
    doc: 'Staff names scrubbed from reports, besides those the DICOM headers name.',
  },
  deidQuarantine: {
    schema: booleanText,
    expected: 'true or false, e.g. --deid-quarantine false',
    env: ['EDEN_DEID_QUARANTINE'],
    flag: '--deid-quarantine',
    default: true,
    doc: 'When de-identifying, leave out images at risk of burned-in text (BURNED_IN_RISK).',
  },
} satisfies Record<string, KeySpec>;

export type ConfigKey = keyof typeof CONFIG_KEYS;

export type Config = Readonly<{
  [K in ConfigKey]: ParsedValue<(typeof CONFIG_KEYS)[K]['schema']>;
}>;
