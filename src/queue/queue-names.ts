/**
 * The BullMQ queues every eden-etl process (run, worker, dashboard, schedule) agrees on.
 * Their Redis keys start with the configured --queue-prefix, so two deployments (or two
 * test suites) can share one Redis without seeing each other's jobs.
 */
export const QUEUE_NAMES = {
  /** One job per (run, batch): processes the batch's pending instances. */
  batches: 'eden-batches',
  /** One job per run, the flow parent of its batches: writes CSV, card and manifest. */
  finalize: 'eden-finalize',
  /** Job schedulers that start recurring runs (`eden-etl schedule`). */
  schedules: 'eden-schedules',
} as const;
