import { Counter, Gauge, Registry } from 'prom-client';
import type { LedgerTotals } from '../ledger/run-insights.js';

/** Jobs by state in one BullMQ queue, or null when Redis did not answer. */
export interface QueueDepth {
  queue: string;
  counts: Record<string, number> | null;
}

export interface MetricsSnapshot {
  /** Null when the state database could not be read (e.g. a run holds the embedded state). */
  ledger: LedgerTotals | null;
  /** Null when no queue is configured (no REDIS_URL). */
  queues: QueueDepth[] | null;
}

/**
 * The Prometheus exposition of the dashboard. Every value is read from the ledger and the
 * queues at scrape time: the ledger is the truth shared by every worker, so one dashboard
 * reports the whole deployment, and a restart of the dashboard loses nothing. The ledger's
 * totals only grow, so they are exposed as counters.
 */
export class DashboardMetrics {
  readonly registry = new Registry();
  private readonly processed: Counter<'status'>;
  private readonly failed: Counter<'code'>;
  private readonly bytes: Counter<'kind'>;
  private readonly retries: Counter;
  private readonly stageSeconds: Counter<'stage'>;
  private readonly stageInstances: Counter<'stage'>;
  private readonly stageRecent: Gauge<'stage' | 'quantile'>;
  private readonly runInstances: Gauge<'run_id' | 'status'>;
  private readonly runs: Gauge<'status'>;
  private readonly ledgerUp: Gauge;
  private readonly queueJobs: Gauge<'queue' | 'state'>;
  private readonly queueUp: Gauge<'queue'>;

  constructor(readonly recentSeconds: number) {
    const registers = [this.registry];
    this.processed = new Counter({
      name: 'eden_instances_processed_total',
      help: 'Instances settled, by outcome (delivered, failed or excluded), over every run in the ledger.',
      labelNames: ['status'],
      registers,
    });
    this.failed = new Counter({
      name: 'eden_instances_failed_total',
      help: 'Failed instances by error code, over every run in the ledger.',
      labelNames: ['code'],
      registers,
    });
    this.bytes = new Counter({
      name: 'eden_bytes_stored_total',
      help: 'Bytes of the objects delivered to destinations (dicom or image).',
      labelNames: ['kind'],
      registers,
    });
    this.retries = new Counter({
      name: 'eden_instance_retries_total',
      help: 'Attempts beyond the first, summed over settled instances.',
      registers,
    });
    this.stageSeconds = new Counter({
      name: 'eden_stage_duration_seconds_total',
      help: 'Seconds instances spent in each stage (fetch, render, store).',
      labelNames: ['stage'],
      registers,
    });
    this.stageInstances = new Counter({
      name: 'eden_stage_instances_total',
      help: 'Instances timed in each stage; with eden_stage_duration_seconds_total, the mean.',
      labelNames: ['stage'],
      registers,
    });
    this.stageRecent = new Gauge({
      name: 'eden_stage_duration_seconds',
      help: `Quantiles of one instance's time in each stage, over instances settled in the last ${recentSeconds} s.`,
      labelNames: ['stage', 'quantile'],
      registers,
    });
    this.runInstances = new Gauge({
      name: 'eden_run_instances',
      help: 'Instances of each unfinished run by status (pending, delivered, failed, excluded).',
      labelNames: ['run_id', 'status'],
      registers,
    });
    this.runs = new Gauge({
      name: 'eden_runs',
      help: 'Runs in the ledger by status (planning, planned, finalized).',
      labelNames: ['status'],
      registers,
    });
    this.ledgerUp = new Gauge({
      name: 'eden_ledger_up',
      help: '1 when the state database answered this scrape, else 0.',
      registers,
    });
    this.queueJobs = new Gauge({
      name: 'eden_queue_jobs',
      help: 'Jobs in each BullMQ queue by state (waiting, active, delayed, failed, …).',
      labelNames: ['queue', 'state'],
      registers,
    });
    this.queueUp = new Gauge({
      name: 'eden_queue_up',
      help: '1 when Redis answered for the queue this scrape, else 0.',
      labelNames: ['queue'],
      registers,
    });
  }

  /** The exposition text for one snapshot. */
  async render(snapshot: MetricsSnapshot): Promise<string> {
    this.registry.resetMetrics();
    const { ledger, queues } = snapshot;
    this.ledgerUp.set(ledger === null ? 0 : 1);
    if (ledger !== null) this.setLedger(ledger);
    for (const { queue, counts } of queues ?? []) {
      this.queueUp.set({ queue }, counts === null ? 0 : 1);
      for (const [state, count] of Object.entries(counts ?? {})) {
        this.queueJobs.set({ queue, state }, count);
      }
    }
    return this.registry.metrics();
  }

  private setLedger(ledger: LedgerTotals): void {
    this.processed.inc({ status: 'delivered' }, 0);
    this.processed.inc({ status: 'failed' }, 0);
    this.processed.inc({ status: 'excluded' }, 0);
    for (const outcome of ledger.outcomes) {
      this.processed.inc({ status: outcome.status }, outcome.count);
      if (outcome.status === 'failed') this.failed.inc({ code: outcome.code }, outcome.count);
    }
    this.bytes.inc({ kind: 'dicom' }, ledger.dicomBytes);
    this.bytes.inc({ kind: 'image' }, ledger.imageBytes);
    this.retries.inc(ledger.retries);
    for (const stage of ledger.stages) {
      this.stageSeconds.inc({ stage: stage.stage }, stage.seconds);
      this.stageInstances.inc({ stage: stage.stage }, stage.count);
      if (stage.recent === null) continue;
      ['0.5', '0.9', '0.99'].forEach((quantile, index) => {
        const value = stage.recent?.[index];
        if (value !== undefined) this.stageRecent.set({ stage: stage.stage, quantile }, value);
      });
    }
    for (const run of ledger.activeRuns) {
      for (const status of ['pending', 'delivered', 'failed', 'excluded'] as const) {
        this.runInstances.set({ run_id: run.runId, status }, run[status]);
      }
    }
    for (const { status, count } of ledger.runsByStatus) this.runs.set({ status }, count);
  }
}
