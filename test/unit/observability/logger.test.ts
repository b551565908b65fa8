import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { EtlError } from '../../../src/domain/errors.js';
import type { LogLevel } from '../../../src/domain/log-levels.js';
import { createLogger, type LogFormat } from '../../../src/observability/logger.js';

function capture(format: LogFormat, level: LogLevel = 'info') {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  const logger = createLogger({ level, format, stream });
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line !== ''),
  };
}

describe('createLogger', () => {
  it('writes pino JSON lines in json format', () => {
    const { logger, lines } = capture('json');
    logger.info({ runId: 'r1', count: 3 }, 'batch settled');
    const [line] = lines();
    const record = JSON.parse(line!) as Record<string, unknown>;
    expect(record).toMatchObject({ level: 30, msg: 'batch settled', runId: 'r1', count: 3 });
    expect(record.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('writes one human line per record in plain format', () => {
    const { logger, lines } = capture('plain');
    logger
      .child({ runId: 'r1' })
      .warn({ key: 'a/b.dcm', note: 'two words', nested: { n: 1 }, ok: true }, 'slow\nput');
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ WARN slow\\nput runId=r1 key=a\/b\.dcm note="two words" nested\.n=1 ok=true$/,
    );
  });

  it('colours the level in pretty format only', () => {
    const pretty = capture('pretty');
    pretty.logger.info('hello');
    expect(pretty.lines()[0]).toContain('\u001b[');
    const plain = capture('plain');
    plain.logger.info('hello');
    expect(plain.lines()[0]).not.toContain('\u001b[');
  });

  it('adds the stack under errors, and error fields as key=value', () => {
    const { logger, lines } = capture('plain');
    const error = new EtlError('STORE_FAILED', 'disk full', { subject: 'k', hint: 'free space' });
    logger.error({ err: error }, 'put failed');
    const [first, ...stack] = lines();
    expect(first).toContain('ERROR put failed');
    expect(first).toContain('err.code=STORE_FAILED');
    expect(first).toContain('err.hint="free space"');
    expect(stack.length).toBeGreaterThan(0);
    expect(stack.every((frame) => frame.startsWith('    at '))).toBe(true);
  });

  it('filters by level', () => {
    const { logger, lines } = capture('plain', 'info');
    logger.debug('hidden');
    logger.info('shown');
    expect(lines()).toHaveLength(1);
  });

  it.each<LogFormat>(['json', 'plain'])('redacts secret fields in %s format', (format) => {
    const { logger, lines } = capture(format);
    logger.info(
      { password: 'hunter2', db: { password: 'hunter3' }, headers: { authorization: 'Bearer x' } },
      'connecting',
    );
    const output = lines().join('\n');
    expect(output).not.toMatch(/hunter2|hunter3|Bearer x/);
    expect(output).toContain('[REDACTED]');
  });

  it('rejects an unknown level or format, naming it', () => {
    expect(() => createLogger({ level: 'verbose' as LogLevel, format: 'json' })).toThrow(
      /"verbose"/,
    );
    expect(() => createLogger({ level: 'info', format: 'xml' as 'json' })).toThrow(/"xml"/);
  });
});
