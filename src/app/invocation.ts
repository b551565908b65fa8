import { loadConfig, type LoadOptions, type ResolvedConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { ERROR_CODES, isEtlError } from '../domain/errors.js';
import {
  captureError,
  flushErrorTracking,
  initErrorTracking,
} from '../observability/error-tracking.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { RunStopped } from '../pipeline/limiter.js';
import { configFlags } from '../config/flags.js';
import { executeRun, type RunInvocation } from './local-run.js';
import { TOOL_VERSION } from './package-info.js';
import { executeQueuedRun } from './queued-run.js';

/** Exit code of a run stopped by a signal after finishing its instances in flight. */
export const EXIT_STOPPED = 130;

/** The configuration for one command: its flags over the environment, `.env` and defaults. */
export function resolveConfig(
  options: Record<string, unknown>,
  extra: Partial<LoadOptions> = {},
): ResolvedConfig {
  return loadConfig({
    flags: configFlags(options),
    envFile: typeof options.envFile === 'string' ? options.envFile : '.env',
    ...extra,
  });
}

export function loggerFor(config: Config): Logger {
  const format = config.logFormat === 'json' ? 'json' : process.stderr.isTTY ? 'pretty' : 'plain';
  return createLogger({ level: config.logLevel, format });
}

/**
 * Ctrl-C once: stop taking new instances, finish those in flight, exit 130 (the run resumes
 * with the same command). Twice: exit at once; the ledger and the atomic writes make that safe.
 */
export function stopSignal(logger: Logger): AbortSignal {
  const controller = new AbortController();
  let count = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    count += 1;
    if (count === 1) {
      logger.warn(
        `${signal}: finishing the instances in flight, then stopping (again to stop now)`,
      );
      controller.abort();
    } else {
      process.exit(EXIT_STOPPED);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}

/**
 * Runs the pipeline for `run` and `demo`, here or on the workers (`--executor`), and sets the
 * process exit code from its outcome.
 */
export async function runAndExit(
  config: Config,
  options: Record<string, unknown>,
  logger: Logger,
): Promise<void> {
  const resume = options.resume;
  const invocation: RunInvocation = {
    config,
    logger,
    resume: resume === true ? true : typeof resume === 'string' ? resume : undefined,
    out: process.stdout,
    signal: stopSignal(logger),
  };
  initErrorTracking(config.sentryDsn, TOOL_VERSION);
  try {
    process.exitCode =
      config.executor === 'bullmq'
        ? await executeQueuedRun({ ...invocation, detach: options.detach === true })
        : await executeRun(invocation);
  } catch (error) {
    if (isFatal(error)) {
      captureError(error, { command: 'run' });
      await flushErrorTracking();
    }
    throw error;
  }
}

/** Errors worth tracking: not a stop the user asked for, nor a usage or configuration mistake. */
function isFatal(error: unknown): boolean {
  if (error instanceof RunStopped) return false;
  return !isEtlError(error) || ERROR_CODES[error.code].exitCode === 1;
}
