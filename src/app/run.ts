import type { Config } from '../config/schema.js';
import { ERROR_CODES, isEtlError } from '../domain/errors.js';
import {
  captureError,
  flushErrorTracking,
  initErrorTracking,
} from '../observability/error-tracking.js';
import type { Logger } from '../observability/logger.js';
import { RunStopped } from '../pipeline/limiter.js';
import { withComposition } from './compose.js';
import { stopSignal } from './invocation.js';
import { executeRun, type RunInvocation } from './local-run.js';
import { TOOL_VERSION } from './package-info.js';
import { executeQueuedRun } from './queued-run.js';

/**
 * Runs the pipeline for `run` and `demo`, here or on the workers (`--executor`), and sets the
 * process exit code from its outcome.
 */
export async function runAndExit(
  config: Config,
  options: Record<string, unknown>,
  logger: Logger,
  prepareSource?: RunInvocation['prepareSource'],
): Promise<void> {
  const resume = options.resume;
  const invocation: RunInvocation = {
    resume: resume === true ? true : typeof resume === 'string' ? resume : undefined,
    out: process.stdout,
    signal: stopSignal(logger),
    ...(prepareSource === undefined ? {} : { prepareSource }),
  };
  initErrorTracking(config.sentryDsn, TOOL_VERSION);
  try {
    process.exitCode = await withComposition(config, logger, (root) =>
      config.executor === 'bullmq'
        ? executeQueuedRun(root, { ...invocation, detach: options.detach === true })
        : executeRun(root, invocation),
    );
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
