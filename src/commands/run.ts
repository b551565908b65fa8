import type { Command } from 'commander';
import { loggerFor, resolveConfig } from '../app/invocation.js';
import { runAndExit } from '../app/run.js';
import { addConfigFlags } from '../config/flags.js';
import { COMMANDS } from './catalog.js';

export function define(program: Command): void {
  addConfigFlags(
    program
      .command('run')
      .description(COMMANDS.run.description)
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
