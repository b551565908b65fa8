import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../src/observability/logger.js';
import {
  createProgress,
  etaSeconds,
  RATE_WINDOW_MS,
  type ProgressCounts,
  SlidingRate,
} from '../../../src/observability/progress.js';

describe('SlidingRate', () => {
  it('is unknown until a second has passed', () => {
    const rate = new SlidingRate();
    rate.record(0, 0);
    rate.record(500, 10);
    expect(rate.perSecond(500)).toBeNull();
    expect(rate.perSecond(1000)).toBe(10);
  });

  it('follows the last window, not the whole run', () => {
    const rate = new SlidingRate(10_000);
    rate.record(0, 0);
    // 1 instance/s for 100 s, then 10 instances/s.
    for (let t = 1; t <= 100; t += 1) rate.record(t * 1000, t);
    for (let t = 101; t <= 120; t += 1) rate.record(t * 1000, 100 + (t - 100) * 10);
    expect(rate.perSecond(120_000)).toBeCloseTo(10, 5);
  });

  it('decays while nothing settles', () => {
    const rate = new SlidingRate(10_000);
    rate.record(0, 0);
    rate.record(10_000, 100);
    expect(rate.perSecond(10_000)).toBe(10);
    expect(rate.perSecond(15_000)).toBeCloseTo(100 / 15, 5);
    // A whole window without progress: the rate is zero, the ETA unknown.
    expect(rate.perSecond(20_000)).toBe(0);
  });

  it('documents a 30 second window', () => {
    expect(RATE_WINDOW_MS).toBe(30_000);
  });
});

describe('etaSeconds', () => {
  it('divides what remains by the rate', () => {
    expect(etaSeconds(100, 4)).toBe(25);
    expect(etaSeconds(0, null)).toBe(0);
    expect(etaSeconds(10, null)).toBeNull();
    expect(etaSeconds(10, 0)).toBeNull();
  });
});

describe('createProgress without a TTY', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function setup() {
    const stream = new PassThrough();
    const chunks: string[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
    const logger = createLogger({ level: 'info', format: 'plain', stream });
    let clock = 0;
    const progress = createProgress({
      total: 200,
      tty: false,
      stream,
      logger,
      intervalMs: 5000,
      now: () => clock,
    });
    const advance = (ms: number) => {
      clock += ms;
      vi.advanceTimersByTime(ms);
    };
    const lines = () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line !== '');
    return { progress, advance, lines };
  }

  it('logs a plain line every interval and one at stop', () => {
    const { progress, advance, lines } = setup();
    progress.update({ done: 10, failed: 1, skipped: 0, bytes: 1000 });
    advance(4999);
    expect(lines()).toHaveLength(0);
    progress.update({ done: 20, failed: 1, skipped: 0, bytes: 2000 });
    advance(1);
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toContain(
      'INFO instances 20/200 | failed 1 | skipped 0 | 4.0 inst/s | ETA 0:00:45',
    );
    advance(5000);
    expect(lines()).toHaveLength(2);
    const final: ProgressCounts = { done: 200, failed: 2, skipped: 0, bytes: 9000 };
    progress.update(final);
    progress.stop();
    progress.stop();
    expect(lines()).toHaveLength(3);
    expect(lines()[2]).toContain('instances 200/200 | failed 2 | skipped 0');
    expect(lines()[2]).toContain('ETA 0:00:00');
    advance(20_000);
    expect(lines()).toHaveLength(3);
  });

  it('does not count skipped instances in the rate', () => {
    const { progress, advance, lines } = setup();
    progress.update({ done: 100, failed: 0, skipped: 100, bytes: 0 });
    advance(5000);
    expect(lines()[0]).toContain(
      'instances 100/200 | failed 0 | skipped 100 | 0.0 inst/s | ETA --:--:--',
    );
    progress.stop();
  });
});

describe('createProgress on a TTY', () => {
  it('draws a bar with the same numbers', () => {
    const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 200 });
    const chunks: string[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
    const logger = createLogger({ level: 'info', format: 'plain', stream: new PassThrough() });
    let clock = 0;
    const progress = createProgress({ total: 10, tty: true, stream, logger, now: () => clock });
    clock = 2000;
    progress.update({ done: 4, failed: 1, skipped: 0, bytes: 0 });
    progress.stop();
    const output = chunks.join('');
    expect(output).toContain('instances 4/10 | failed 1 | skipped 0 | 2.0 inst/s | ETA 0:00:03');
  });

  it('refuses a negative total, naming it', () => {
    const logger = createLogger({ level: 'info', format: 'plain', stream: new PassThrough() });
    expect(() =>
      createProgress({ total: -1, tty: false, stream: new PassThrough(), logger }),
    ).toThrow(/got -1/);
  });
});
