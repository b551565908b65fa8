import type { Command } from 'commander';
import { Ledger, type RunRecord } from '../ledger/ledger.js';
import {
  captureError,
  flushErrorTracking,
  initErrorTracking,
} from '../observability/error-tracking.js';
import { RETRY_BASE_DELAY_MS } from '../pipeline/process-item.js';
import { queueSettingsOrFail, RunQueues } from '../queue/queues.js';
import { startRunWorker } from '../pipeline/bullmq-worker.js';
import { createSharedRateLimit } from '../queue/shared-rate-limit.js';
import {
  deidContext,
  openDestination,
  openProcessing,
  openState,
  type OpenedDestination,
} from '../app/compose.js';
import { addConfigFlags } from '../config/flags.js';
import { loggerFor, resolveConfig, stopSignal } from '../app/invocation.js';
import { TOOL_VERSION } from '../app/package-info.js';
import { splitKeyOf } from '../app/local-run.js';
import { enqueueRun, jobRetryOf } from '../app/queued-run.js';
import { runOptionsOf } from '../config/run-args.js';

/**
 * `eden-etl worker`: takes batch, finalize and schedule jobs from Redis until stopped. The
 * composition root of a worker process: one state database, one fetcher (with the PACS rate
 * limit shared through Redis), one render pool, and each run's destination opened once.
 */
export function addWorkerCommand(program: Command): void {
  addConfigFlags(
    program
      .command('worker')
      .description(
        'Process the runs enqueued with --executor bullmq. Needs REDIS_URL, STATE_DATABASE_URL, the PACS database and file server, and the destination. --concurrency: instances in flight in this worker.',
      ),
    ['samplePacsDir'],
  ).action(async (options: Record<string, unknown>) => {
    const { config } = resolveConfig(options);
    const logger = loggerFor(config);
    initErrorTracking(config.sentryDsn, TOOL_VERSION);
    const settings = queueSettingsOrFail(config);
    const stateDb = await openState(config);
    const closers: (() => Promise<void>)[] = [() => stateDb.close()];
    try {
      const ledger = await Ledger.open(stateDb);
      const queues = await RunQueues.open(settings);
      closers.unshift(() => queues.close());
      const rateLimit =
        config.pacsRateLimit === undefined
          ? undefined
          : createSharedRateLimit({
              redisUrl: settings.redisUrl,
              key: `${settings.prefix}:pacs-rate-limit`,
              rate: config.pacsRateLimit,
            });
      if (rateLimit !== undefined) closers.unshift(() => rateLimit.close());
      const processing = openProcessing(
        config,
        rateLimit === undefined ? undefined : () => rateLimit.takeSlot(),
      );
      closers.unshift(() => processing.close());
      const destinations = new Map<string, Promise<OpenedDestination>>();
      closers.unshift(async () => {
        const opened = await Promise.allSettled(destinations.values());
        for (const entry of opened) {
          if (entry.status === 'fulfilled') await entry.value.store.close();
        }
      });
      const destinationOf = (run: RunRecord): Promise<OpenedDestination> => {
        const key = `${run.spec.destination}\n${run.spec.prefix}`;
        let opened = destinations.get(key);
        if (opened === undefined) {
          opened = openDestination(
            run.spec.destination,
            run.spec.prefix,
            config.gcsCredentialsPath,
          );
          destinations.set(key, opened);
          // A destination that could not be opened is tried again by the next job.
          opened.catch(() => destinations.delete(key));
        }
        return opened;
      };

      const worker = startRunWorker(
        settings,
        {
          ledger,
          logger,
          queues,
          toolVersion: TOOL_VERSION,
          reportError: (error, context) => captureError(error, { command: 'worker', ...context }),
          splitKey: splitKeyOf(config).key,
          async contextFor(run) {
            const { store } = await destinationOf(run);
            // A de-identifying run needs this worker's SECRET_KEY to be the run's: refused if not.
            const deid = deidContext(config, run.spec.deid);
            return {
              ledger,
              store,
              fetcher: processing.fetcher,
              renderer: processing.renderer,
              logger,
              ...(deid === undefined ? {} : { deid }),
            };
          },
          async startScheduledRun(data) {
            // The schedule's run options over this worker's own environment (credentials).
            const scheduled = resolveConfig(runOptionsOf(data.args)).config;
            const { run, target } = await enqueueRun(scheduled, logger, ledger, queues);
            await target.destination.store.close();
            return run.runId;
          },
        },
        {
          concurrency: config.concurrency,
          itemRetry: { attempts: config.retries + 1, baseDelayMs: RETRY_BASE_DELAY_MS },
          jobRetry: jobRetryOf(config),
          lockDurationMs: config.lockDuration * 1000,
          stalledIntervalMs: config.stalledInterval * 1000,
          recoverIntervalMs: config.recoverInterval * 1000,
        },
      );
      closers.unshift(() => worker.stop());
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
      for (const close of closers) await close();
      await flushErrorTracking();
    }
    logger.info('worker stopped');
  });
}
