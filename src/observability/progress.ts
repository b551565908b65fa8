import { performance } from 'node:perf_hooks';
import { SingleBar } from 'cli-progress';
import { formatClock } from './human-units.js';
import type { Logger } from './logger.js';

/**
 * Rate and ETA are computed over the last 30 seconds: long enough to smooth the bursts in which
 * batches settle (a batch finishes many instances at once), short enough to follow a real change
 * in throughput (a slow PACS, a worker joining) within half a minute.
 */
export const RATE_WINDOW_MS = 30_000;
// Below this span a rate is mostly noise (one early batch would promise a wildly short ETA).
const MIN_RATE_SPAN_MS = 1_000;
// How often the bar is redrawn without updates, so the rate decays when work stalls.
const TTY_REFRESH_MS = 1_000;

/** Cumulative counts for the run so far. */
export interface ProgressCounts {
  /** Instances settled: delivered, failed or skipped. */
  done: number;
  /** Of `done`, instances that failed. */
  failed: number;
  /** Of `done`, instances settled without work (already delivered by an earlier attempt). */
  skipped: number;
  /** Bytes written to the destination (DICOM + JPEG). */
  bytes: number;
}

export interface ProgressOptions {
  total: number;
  /** True: a redrawn bar on `stream`. False: a log line every `intervalMs` through `logger`. */
  tty: boolean;
  stream: NodeJS.WritableStream;
  logger: Logger;
  intervalMs?: number;
  /** Monotonic milliseconds; tests pass their own clock. */
  now?: () => number;
}

export interface Progress {
  update(counts: ProgressCounts): void;
  /** Shows the final numbers and stops the timer; later calls do nothing. */
  stop(): void;
}

/**
 * Instances per second over the last `windowMs`. Keeps the newest sample at or before the window's
 * start as the baseline, so with sparse updates the rate spans what is known, and decays
 * towards zero while nothing settles.
 */
export class SlidingRate {
  private samples: { at: number; count: number }[] = [];

  constructor(private readonly windowMs: number = RATE_WINDOW_MS) {
    if (!Number.isFinite(windowMs) || windowMs <= 0) {
      throw new RangeError(
        `rate window must be a positive number of milliseconds, got ${windowMs}`,
      );
    }
  }

  record(at: number, count: number): void {
    this.samples.push({ at, count });
    this.prune(at);
  }

  /** Null until the samples span at least a second. */
  perSecond(now: number): number | null {
    this.prune(now);
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (first === undefined || last === undefined || now - first.at < MIN_RATE_SPAN_MS) return null;
    return ((last.count - first.count) * 1000) / (now - first.at);
  }

  private prune(now: number): void {
    const start = now - this.windowMs;
    while (this.samples.length > 1 && (this.samples[1]?.at ?? Infinity) <= start) {
      this.samples.shift();
    }
  }
}

/** Seconds to finish `remaining` instances at `rate` per second; null when unknown. */
export function etaSeconds(remaining: number, rate: number | null): number | null {
  if (remaining <= 0) return 0;
  if (rate === null || rate <= 0) return null;
  return remaining / rate;
}

interface Snapshot extends ProgressCounts {
  total: number;
  rate: number | null;
  eta: number | null;
}

function rateText(rate: number | null): string {
  return rate === null ? '--' : rate.toFixed(1);
}

function etaText(eta: number | null): string {
  return eta === null ? '--:--:--' : formatClock(eta);
}

/** `instances 120/200 | failed 2 | skipped 0 | 3.4 inst/s | ETA 0:00:23` */
function formatProgress(snapshot: Snapshot): string {
  return `instances ${snapshot.done}/${snapshot.total} | failed ${snapshot.failed} | skipped ${snapshot.skipped} | ${rateText(snapshot.rate)} inst/s | ETA ${etaText(snapshot.eta)}`;
}

export function createProgress(options: ProgressOptions): Progress {
  const { total, tty, stream, logger, intervalMs = 5000, now = () => performance.now() } = options;
  if (!Number.isInteger(total) || total < 0) {
    throw new RangeError(`progress total must be an integer >= 0, got ${total}`);
  }
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new RangeError(
      `progress interval must be a positive number of milliseconds, got ${intervalMs}`,
    );
  }

  const rate = new SlidingRate();
  let counts: ProgressCounts = { done: 0, failed: 0, skipped: 0, bytes: 0 };
  let stopped = false;
  rate.record(now(), 0);

  const snapshot = (): Snapshot => {
    const perSecond = rate.perSecond(now());
    return { ...counts, total, rate: perSecond, eta: etaSeconds(total - counts.done, perSecond) };
  };

  const bar = tty
    ? new SingleBar({
        stream,
        format:
          '{bar} instances {value}/{total} | failed {failed} | skipped {skipped} | {rate} inst/s | ETA {etaText}',
        barsize: 30,
        // A crash must not leave the user's terminal without a cursor.
        hideCursor: false,
        clearOnComplete: false,
      })
    : null;
  const payload = (state: Snapshot) => ({
    failed: state.failed,
    skipped: state.skipped,
    rate: rateText(state.rate),
    etaText: etaText(state.eta),
  });

  const report = (): void => {
    const state = snapshot();
    if (bar !== null) {
      bar.update(state.done, payload(state));
    } else {
      // The numbers are in the message already; only what it leaves out goes in fields.
      logger.info({ bytes: state.bytes }, formatProgress(state));
    }
  };

  if (bar !== null) bar.start(total, 0, payload(snapshot()));
  const timer = setInterval(report, bar !== null ? TTY_REFRESH_MS : intervalMs);
  // Progress display must never be what keeps the process alive.
  timer.unref();

  return {
    update(next: ProgressCounts): void {
      if (stopped) return;
      counts = { ...next };
      // Skipped instances cost no work; counting them would promise an ETA the work cannot keep.
      rate.record(now(), next.done - next.skipped);
      if (bar !== null) report();
    },
    stop(): void {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      report();
      bar?.stop();
    },
  };
}
