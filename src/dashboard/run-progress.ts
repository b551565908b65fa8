import type { RunOverview } from '../ledger/run-insights.js';
import { etaSeconds } from '../observability/progress.js';

/** What the runs page says about a run's progress. */
export interface RunProgress {
  settled: number;
  /** 0..100 */
  percent: number;
  /** Instances per second: over the recent window while running, over the whole run after. */
  rate: number | null;
  /** Seconds to go at `rate`; 0 when nothing is pending, null when unknown. */
  eta: number | null;
  state: 'planning' | 'running' | 'waiting' | 'finished';
}

/**
 * A run still has pending instances: it is `running` while instances settled within the window,
 * and `waiting` otherwise (queued behind other work, or interrupted and waiting for a resume).
 */
export function runProgress(run: RunOverview, windowSeconds: number): RunProgress {
  const settled = run.delivered + run.failed + run.excluded;
  const percent = run.total === 0 ? 0 : (100 * settled) / run.total;
  if (run.status === 'planning')
    return { settled, percent, rate: null, eta: null, state: 'planning' };
  if (run.pending === 0) {
    const span =
      run.firstSettledAt === null || run.lastSettledAt === null
        ? 0
        : (Date.parse(run.lastSettledAt) - Date.parse(run.firstSettledAt)) / 1000;
    return {
      settled,
      percent,
      rate: span > 0 ? settled / span : null,
      eta: 0,
      state: run.status === 'finalized' ? 'finished' : 'running',
    };
  }
  const rate = run.recentlySettled / windowSeconds;
  return {
    settled,
    percent,
    rate,
    eta: etaSeconds(run.pending, rate),
    state: run.recentlySettled > 0 ? 'running' : 'waiting',
  };
}
