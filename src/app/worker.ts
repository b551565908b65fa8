import type { Config } from '../config/schema.js';
import { runOptionsOf } from '../config/run-args.js';
import {
  captureError,
  flushErrorTracking,
  initErrorTracking,
} from '../observability/error-tracking.js';
import type { Logger } from '../observability/logger.js';
import type { JobWorkers } from '../queue/job-workers.js';
import { runJobProcessors, startLostRunRecovery } from '../pipeline/bullmq-worker.js';
import { RETRY_BASE_DELAY_MS } from '../pipeline/process-item.js';
import { Composition } from './compose.js';
import { resolveConfig, stopSignal } from './invocation.js';
import { TOOL_VERSION } from './package-info.js';
import { enqueueRun, jobRetryOf } from './queued-run.js';
import { splitKeyOf } from './run-target.js';

/**
 * `eden-etl worker`: takes batch, finalize and schedule jobs from Redis until stopped. Its
 * composition holds one state database, one fetcher (with the PACS rate limit shared through
 * Redis), one render pool, and each run's destination opened once.
 */
export async function runWorker(config: Config, logger: Logger): Promise<void> {
  initErrorTracking(config.sentryDsn, TOOL_VERSION);
  const root = new Composition(config, logger, { shareRateLimit: true });
  const stopping = new AbortController();
  let stopRecovery = () => undefined as void;
  let workers: JobWorkers | undefined;
  try {
    const settings = root.queueSettings();
    // The render threads start now, not with the first job.
    const [ledger, queues] = await Promise.all([root.ledger(), root.queues(), root.processing()]);
    const jobRetry = jobRetryOf(config);
    const processors = runJobProcessors(
      {
        ledger,
        logger,
        toolVersion: TOOL_VERSION,
        reportError: (error, context) => captureError(error, { command: 'worker', ...context }),
        splitKey: splitKeyOf(config).key,
        // A de-identifying run needs this worker's SECRET_KEY to be the run's: refused if not.
        contextFor: (run) => root.pipelineContext(run.spec),
        async startScheduledRun(data) {
          // The schedule's run options over this worker's own environment (credentials).
          const scheduled = resolveConfig(runOptionsOf(data.args)).config;
          return (await enqueueRun(root, scheduled)).run.runId;
        },
      },
      {
        concurrency: config.concurrency,
        itemRetry: { attempts: config.retries + 1, baseDelayMs: RETRY_BASE_DELAY_MS },
      },
      stopping.signal,
    );
    workers = await root.jobWorkers(processors, {
      lockDurationMs: config.lockDuration * 1000,
      stalledIntervalMs: config.stalledInterval * 1000,
    });
    stopRecovery = startLostRunRecovery(
      queues,
      ledger,
      jobRetry,
      config.recoverInterval * 1000,
      logger,
    );
    logger.info(
      {
        queuePrefix: settings.prefix,
        concurrency: config.concurrency,
        renderThreads: config.renderThreads,
        pacsRateLimit: config.pacsRateLimit ?? null,
      },
      'worker ready',
    );
    const signal = stopSignal(logger);
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  } finally {
    stopRecovery();
    // Batches in progress see this first: their instances in flight finish, the rest go back.
    stopping.abort();
    try {
      // Before the stores and render threads they use, which were opened after them.
      await workers?.close();
      await root.close();
    } finally {
      await flushErrorTracking();
    }
  }
  logger.info('worker stopped');
}
