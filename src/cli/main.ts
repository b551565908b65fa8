#!/usr/bin/env node
import { resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { describeConfig, loadConfig, type LoadOptions } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { ERROR_CODES, EtlError } from '../domain/errors.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { RunStopped } from '../queue/limiter.js';
import { openPglite } from '../sql/pglite-client.js';
import { ensureSamplePacs } from '../demo/sample-pacs.js';
import { addConfigFlags, configFlags } from './config-flags.js';
import { executeRun } from './execute-run.js';
import { TOOL_VERSION } from './package-info.js';

/** Exit codes: 0 all delivered; 3 finished with failed instances; 2 usage/config; 1 fatal; 130 stopped. */
const EXIT_STOPPED = 130;

function resolveConfig(options: Record<string, unknown>, extra: Partial<LoadOptions> = {}) {
  return loadConfig({
    flags: configFlags(options),
    envFile: typeof options.envFile === 'string' ? options.envFile : '.env',
    ...extra,
  });
}

function loggerFor(config: Config): Logger {
  const format = config.logFormat === 'json' ? 'json' : process.stderr.isTTY ? 'pretty' : 'plain';
  return createLogger({ level: config.logLevel, format });
}

/**
 * Ctrl-C once: stop taking new instances, finish those in flight, exit 130 (the run resumes
 * with the same command). Twice: exit at once; the ledger and the atomic writes make that safe.
 */
function stopSignal(logger: Logger): AbortSignal {
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

function resumeOption(value: unknown): string | true | undefined {
  if (value === true) return true;
  return typeof value === 'string' ? value : undefined;
}

const program = new Command()
  .name('eden-etl')
  .description(
    'Builds vision-language-model datasets from a PACS: selects studies, fetches their DICOM, renders JPEGs, and writes DICOM + JPEG + CSV + a dataset card.',
  )
  .version(TOOL_VERSION)
  .showHelpAfterError()
  .exitOverride();

addConfigFlags(
  program
    .command('run')
    .description('Run the ETL against a PACS database (--source) into a destination (--dest).')
    .option('--resume [run-id]', 'Continue an unfinished run (the latest one without an id)'),
  ['samplePacsDir'],
).action(async (options: Record<string, unknown>) => {
  const { config } = resolveConfig(options);
  const logger = loggerFor(config);
  process.exitCode = await executeRun({
    config,
    logger,
    resume: resumeOption(options.resume),
    out: process.stdout,
    signal: stopSignal(logger),
  });
});

addConfigFlags(
  program
    .command('demo')
    .description(
      'Create the built-in sample PACS (once) and run the ETL on it into ./output. Accepts every option of `run`.',
    )
    .option('--resume [run-id]', 'Continue an unfinished run (the latest one without an id)'),
  ['source'],
).action(async (options: Record<string, unknown>) => {
  const first = resolveConfig(options, { commandDefaults: { dest: 'file://./output' } });
  const samplePacsDir = resolve(first.config.samplePacsDir);
  const { config } = resolveConfig(options, {
    commandDefaults: { dest: 'file://./output' },
    commandFixed: { source: `pglite:${first.config.samplePacsDir}/db` },
  });
  const logger = loggerFor(config);
  const pacs = await openPglite(`${samplePacsDir}/db`, 'the sample PACS database');
  try {
    const summary = await ensureSamplePacs(
      pacs,
      { dir: samplePacsDir, studies: config.studies, seed: 1 },
      (done, total) => logger.info(`sample PACS: generating study ${done}/${total}`),
    );
    logger.info(
      summary,
      summary.created
        ? `sample PACS ready in ${samplePacsDir}`
        : `sample PACS reused from ${samplePacsDir}`,
    );
  } finally {
    await pacs.close();
  }
  process.exitCode = await executeRun({
    config,
    logger,
    resume: resumeOption(options.resume),
    out: process.stdout,
    signal: stopSignal(logger),
  });
});

addConfigFlags(
  program
    .command('config')
    .description(
      'Print the resolved configuration (secrets redacted) and where each value came from.',
    ),
).action((options: Record<string, unknown>) => {
  const rows = describeConfig(resolveConfig(options));
  const width = Math.max(...rows.map((row) => row.key.length));
  for (const row of rows) {
    process.stdout.write(`${row.key.padEnd(width)}  ${row.value.padEnd(40)}  ${row.origin}\n`);
  }
});

function exitCodeOf(error: unknown): number {
  if (error instanceof RunStopped) return EXIT_STOPPED;
  if (error instanceof EtlError) return ERROR_CODES[error.code].exitCode;
  return 1;
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has printed the problem and the help; --help and --version exit 0.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else if (error instanceof RunStopped) {
    process.exitCode = EXIT_STOPPED;
  } else {
    const line =
      error instanceof EtlError ? error.oneLine() : ((error as Error).stack ?? String(error));
    process.stderr.write(`eden-etl: ${line}\n`);
    process.exitCode = exitCodeOf(error);
  }
}
