#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { ERROR_CODES, EtlError } from '../domain/errors.js';
import { RunStopped } from '../pipeline/limiter.js';
import { addConfigCommand } from './config.js';
import { addConvertCommand } from './convert.js';
import { addDeidMapCommand } from './deid-map.js';
import { addDashboardCommand } from './dashboard.js';
import { addDemoCommand } from './demo.js';
import { EXIT_STOPPED } from '../app/invocation.js';
import { TOOL_VERSION } from '../app/package-info.js';
import { addRunCommand } from './run.js';
import { addSamplePacsCommand } from './sample-pacs.js';
import { addVerifyCommand } from './verify.js';
import { addCancelCommand } from './cancel.js';
import { addRetryCommand } from './retry.js';
import { addScheduleCommand } from './schedule.js';
import { addStatusCommand } from './status.js';
import { addWorkerCommand } from './worker.js';

/**
 * Exit codes: 0 all delivered; 3 finished with failed instances; 2 invalid usage or
 * configuration; 1 fatal error; 130 stopped by a signal (resume with the same command).
 */
const program = new Command()
  .name('eden-etl')
  .description(
    'Builds vision-language-model datasets from a PACS: selects studies, fetches their DICOM, renders JPEGs, and writes DICOM + JPEG + CSV + a dataset card.',
  )
  .version(TOOL_VERSION)
  .showHelpAfterError()
  .exitOverride();
addRunCommand(program);
addDemoCommand(program);
addConvertCommand(program);
addWorkerCommand(program);
addStatusCommand(program);
addRetryCommand(program);
addCancelCommand(program);
addScheduleCommand(program);
addSamplePacsCommand(program);
addDashboardCommand(program);
addVerifyCommand(program);
addConfigCommand(program);
addDeidMapCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has printed the problem and the help; --help and --version exit 0.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else if (error instanceof RunStopped) {
    process.exitCode = EXIT_STOPPED;
  } else if (error instanceof EtlError) {
    process.stderr.write(`eden-etl: ${error.oneLine()}\n`);
    process.exitCode = ERROR_CODES[error.code].exitCode;
  } else {
    process.stderr.write(
      `eden-etl: unexpected error: ${(error as Error).stack ?? String(error)}\n`,
    );
    process.exitCode = 1;
  }
}
