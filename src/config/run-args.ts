import { Command, CommanderError } from 'commander';
import { EtlError } from '../domain/errors.js';
import { addConfigFlags } from './flags.js';

/**
 * The options of `eden-etl run`, parsed from a list of arguments as the command line would
 * (schedules keep their run's arguments and workers start the run from them).
 */
export function runOptionsOf(args: readonly string[]): Record<string, unknown> {
  const command = addConfigFlags(new Command('run'), ['samplePacsDir'])
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined })
    .allowExcessArguments(false);
  try {
    command.parse([...args], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      throw new EtlError(
        'USAGE',
        `run options ${JSON.stringify(args.join(' '))}: ${error.message}`,
        {
          hint: 'give the options of `eden-etl run` after --',
        },
      );
    }
    throw error;
  }
  return command.opts();
}
