import { loadConfig, type LoadOptions, type ResolvedConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { EXIT_STOPPED } from '../domain/errors.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { configFlags } from '../config/flags.js';

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
