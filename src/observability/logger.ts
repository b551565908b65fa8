import { pino, type DestinationStream, type Logger } from 'pino';
import { EtlError } from '../domain/errors.js';
import { LOG_LEVELS, type LogLevel } from '../domain/log-levels.js';

export type { Logger };

/**
 * json: pino's JSON lines, for log collectors. plain: one line per record for humans and files.
 * pretty: plain with the level in colour, for terminals.
 */
const LOG_FORMATS = ['pretty', 'plain', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Default: stderr, so stdout stays free for command output. */
  stream?: NodeJS.WritableStream;
}

// Field names that hold secrets somewhere in our configuration, HTTP requests or GCS
// credentials. pino's wildcards match one level, so each name is listed at three depths.
const SECRET_KEYS = [
  'password',
  'pass',
  'passwd',
  'secret',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'apiKey',
  'api_key',
  'authorization',
  'Authorization',
  'cookie',
  'credentials',
  'privateKey',
  'private_key',
  'client_secret',
];
const REDACT_PATHS = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const LEVEL_COLOURS: Record<number, string> = {
  10: '\u001b[90m',
  20: '\u001b[36m',
  30: '\u001b[32m',
  40: '\u001b[33m',
  50: '\u001b[31m',
  60: '\u001b[1;31m',
};
const RESET = '\u001b[0m';
const DIM = '\u001b[2m';
const ERROR_LEVEL = 50;
// pino's own fields, shown in the line's fixed part or (pid, hostname) not worth a human's eye.
const FIXED_FIELDS = new Set(['time', 'level', 'msg', 'pid', 'hostname']);

function scalar(value: unknown): string {
  if (typeof value === 'string') {
    return value !== '' && /^[^\s"=\\]+$/.test(value) ? value : JSON.stringify(value);
  }
  return JSON.stringify(value) ?? String(value);
}

/** Flattens nested objects to `a.b=value` pairs; collects stacks apart (they are multi-line). */
function collect(prefix: string, value: unknown, pairs: string[][], stacks: string[]): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const fields = value as Record<string, unknown>;
    for (const [key, inner] of Object.entries(fields)) {
      // pino's error serializer repeats an error's name as `type`: show it once.
      if (key === 'name' && inner === fields.type) continue;
      const name = prefix === '' ? key : `${prefix}.${key}`;
      if (key === 'stack' && typeof inner === 'string') stacks.push(inner);
      else collect(name, inner, pairs, stacks);
    }
    return;
  }
  pairs.push([prefix, scalar(value)]);
}

/** `2026-11-26T04:10:00Z INFO message key=value`, plus the stack under errors that have one. */
function humanLine(record: Record<string, unknown>, colour: boolean): string {
  const level = typeof record.level === 'number' ? record.level : 30;
  const name = LEVEL_NAMES[level] ?? `LEVEL${level}`;
  const time =
    typeof record.time === 'string' ? record.time.replace(/\.\d+Z$/, 'Z') : scalar(record.time);
  // A message must not break the one-line-per-record promise.
  const message = (typeof record.msg === 'string' ? record.msg : '').replace(/\r?\n|\r/g, '\\n');
  const pairs: string[][] = [];
  const stacks: string[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (!FIXED_FIELDS.has(key)) collect(key, value, pairs, stacks);
  }
  const fields = pairs.map(([key, value]) =>
    colour ? `${DIM}${key}=${RESET}${value}` : `${key}=${value}`,
  );
  const label = colour ? `${LEVEL_COLOURS[level] ?? ''}${name}${RESET}` : name;
  let line = [time, label, message, ...fields].filter((part) => part !== '').join(' ');
  // Stacks are for bugs; below error level they would bury the log.
  if (level >= ERROR_LEVEL) {
    for (const stack of stacks) {
      line += `\n${stack
        .split('\n')
        .slice(1)
        .map((frame) => `    ${frame.trim()}`)
        .join('\n')}`;
    }
  }
  return `${line}\n`;
}

/**
 * A synchronous pino destination that turns each JSON record into a human line. In-process on
 * purpose: pino transports run in worker threads, which would lose the last lines on a crash.
 */
function humanDestination(out: NodeJS.WritableStream, colour: boolean): DestinationStream {
  return {
    write(chunk: string): void {
      for (const json of chunk.split('\n')) {
        if (json === '') continue;
        out.write(humanLine(JSON.parse(json) as Record<string, unknown>, colour));
      }
    },
  };
}

export function createLogger(options: LoggerOptions): Logger {
  const { level, format } = options;
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new EtlError(
      'CONFIG_INVALID',
      `log level ${JSON.stringify(level)} is not one of ${LOG_LEVELS.join(', ')}`,
      {
        subject: 'log level',
      },
    );
  }
  if (!(LOG_FORMATS as readonly string[]).includes(format)) {
    throw new EtlError(
      'CONFIG_INVALID',
      `log format ${JSON.stringify(format)} is not one of ${LOG_FORMATS.join(', ')}`,
      {
        subject: 'log format',
      },
    );
  }
  const out = options.stream ?? process.stderr;
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    format === 'json' ? out : humanDestination(out, format === 'pretty'),
  );
}
