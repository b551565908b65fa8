import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/observability/logger.js';

/** A record as pino wrote it: its level name, message and the fields logged with it. */
export interface LogRecord {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  msg: string;
  [field: string]: unknown;
}

const LEVELS: Record<number, LogRecord['level']> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/**
 * A real logger that keeps its records instead of printing them, so a test can say what was
 * logged (and the test output stays quiet).
 */
export function recordingLogger(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        const raw = JSON.parse(line) as Record<string, unknown> & { level: number };
        records.push({ ...raw, level: LEVELS[raw.level] ?? 'info', msg: String(raw.msg) });
      }
      done();
    },
  });
  return { logger: createLogger({ level: 'trace', format: 'json', stream }), records };
}
