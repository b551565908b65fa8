import type { Command } from 'commander';
import { addConfigFlags } from '../config/flags.js';
import { loggerFor, resolveConfig, runAndExit } from '../app/invocation.js';

export function addRunCommand(program: Command): void {
  addConfigFlags(
    program
      .command('run')
      .description('Run the ETL against a PACS database (--source) into a destination (--dest).')
      .option('--resume [run-id]', 'Continue an unfinished run (the latest one without an id)')
      .option(
        '--detach',
        'With the BullMQ executor: enqueue the run, print its id and return (eden-etl status follows it)',
      ),
    ['samplePacsDir'],
  ).action(async (options: Record<string, unknown>) => {
    const { config } = resolveConfig(options);
    await runAndExit(config, options, loggerFor(config));
  });
}
