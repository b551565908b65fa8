/**
 * The error taxonomy. Every failure the ETL reports carries one of these stable codes, the
 * identifier it concerns (instance id, object key, URL without credentials) and what to do.
 * Codes are part of the public contract: they appear in the ledger, failures.csv, the
 * summary and logs, so never rename one.
 */
export const ERROR_CODES = {
  // Run-level: the run cannot start or cannot go on.
  USAGE: { retryable: false, exitCode: 2, summary: 'invalid command-line usage' },
  CONFIG_INVALID: { retryable: false, exitCode: 2, summary: 'invalid configuration' },
  QUERY_INVALID: { retryable: false, exitCode: 2, summary: 'selection query is unusable' },
  SOURCE_UNAVAILABLE: { retryable: true, exitCode: 1, summary: 'PACS database unreachable' },
  SOURCE_QUERY_FAILED: { retryable: false, exitCode: 1, summary: 'selection query failed' },
  STATE_UNAVAILABLE: { retryable: false, exitCode: 1, summary: 'run state unusable' },
  STATE_LOCKED: { retryable: false, exitCode: 1, summary: 'run state in use' },
  RUN_NOT_FOUND: { retryable: false, exitCode: 2, summary: 'no such run' },
  RUN_CANCELLED: { retryable: false, exitCode: 1, summary: 'run cancelled' },
  RUN_INCOMPLETE: { retryable: false, exitCode: 1, summary: 'run could not finish' },
  QUEUE_UNAVAILABLE: { retryable: true, exitCode: 1, summary: 'job queue (Redis) unreachable' },
  DESTINATION_UNAVAILABLE: { retryable: false, exitCode: 1, summary: 'destination unusable' },
  INTERNAL: { retryable: false, exitCode: 1, summary: 'internal error' },

  // Instance-level: recorded in the ledger, the run goes on.
  INVALID_IDENTIFIER: { retryable: false, exitCode: 3, summary: 'identifier unsafe as a name' },
  FILE_MISSING: { retryable: false, exitCode: 3, summary: 'DICOM file not found' },
  FETCH_FAILED: { retryable: true, exitCode: 3, summary: 'DICOM file could not be read' },
  FILE_TOO_LARGE: { retryable: false, exitCode: 3, summary: 'DICOM file above the size cap' },
  NOT_DICOM: { retryable: false, exitCode: 3, summary: 'not a DICOM file' },
  DICOM_TRUNCATED: { retryable: false, exitCode: 3, summary: 'DICOM file truncated' },
  DICOM_INVALID: { retryable: false, exitCode: 3, summary: 'DICOM file malformed' },
  NOT_AN_IMAGE: { retryable: false, exitCode: 3, summary: 'DICOM object has no image' },
  UNSUPPORTED_IMAGE: { retryable: false, exitCode: 3, summary: 'image encoding not supported' },
  RENDER_FAILED: { retryable: false, exitCode: 3, summary: 'image could not be rendered' },
  OBJECT_CONFLICT: {
    retryable: false,
    exitCode: 3,
    summary: 'destination holds a different object',
  },
  STORE_FAILED: { retryable: true, exitCode: 3, summary: 'object could not be written' },
  DEID_UNSUPPORTED: {
    retryable: false,
    exitCode: 3,
    summary: 'DICOM encoding the de-identifier cannot rewrite',
  },
} as const satisfies Record<string, { retryable: boolean; exitCode: number; summary: string }>;

/**
 * Exit code of a command stopped by a signal (once: after its instances in flight; twice: at
 * once). A run stopped so resumes with the same command.
 */
export const EXIT_STOPPED = 130;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface EtlErrorOptions {
  /** What the error is about: instance id, object key, file path, URL without credentials. */
  subject?: string;
  /** What the user can do about it, one sentence. */
  hint?: string;
  cause?: unknown;
  /** Overrides the code's default retryability (e.g. a 503 vs a 404 under FETCH_FAILED). */
  retryable?: boolean;
}

export class EtlError extends Error {
  readonly code: ErrorCode;
  readonly subject: string | undefined;
  readonly hint: string | undefined;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: EtlErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EtlError';
    this.code = code;
    this.subject = options.subject;
    this.hint = options.hint;
    this.retryable = options.retryable ?? ERROR_CODES[code].retryable;
  }

  /** One line for humans: `CODE subject: message (hint)`. */
  oneLine(): string {
    const subject = this.subject === undefined ? '' : ` ${this.subject}`;
    const hint = this.hint === undefined ? '' : ` — ${this.hint}`;
    return `${this.code}${subject}: ${this.message}${hint}`;
  }
}

export function isEtlError(value: unknown): value is EtlError {
  return value instanceof EtlError;
}

/** Wraps anything thrown into an EtlError, keeping an EtlError as it is. */
export function asEtlError(value: unknown, fallback: ErrorCode, subject?: string): EtlError {
  if (value instanceof EtlError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new EtlError(fallback, message, { subject, cause: value });
}

/** The plain-data form used to cross thread and process boundaries. */
export interface SerializedError {
  code: ErrorCode;
  message: string;
  subject?: string | undefined;
  hint?: string | undefined;
  retryable: boolean;
}

export function serializeError(error: EtlError): SerializedError {
  return {
    code: error.code,
    message: error.message,
    subject: error.subject,
    hint: error.hint,
    retryable: error.retryable,
  };
}

export function deserializeError(data: SerializedError): EtlError {
  return new EtlError(data.code, data.message, {
    subject: data.subject,
    hint: data.hint,
    retryable: data.retryable,
  });
}

/** A FETCH_FAILED the server asked us to retry after a delay (429/503 with `Retry-After`). */
export class RetryAfterError extends EtlError {
  readonly retryAfterMs: number;

  constructor(message: string, retryAfterMs: number, subject: string) {
    super('FETCH_FAILED', message, {
      subject,
      retryable: true,
      hint: 'the PACS web server is busy; lower --pacs-rate-limit or --max-pacs-connections',
    });
    this.retryAfterMs = retryAfterMs;
  }
}
