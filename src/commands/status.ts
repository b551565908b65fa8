import type { Command } from 'commander';
import { withComposition } from '../app/compose.js';
import { loggerFor, resolveConfig } from '../app/invocation.js';
import { runStatus } from '../app/run-status.js';
import { addSelectedConfigFlags } from '../config/flags.js';
import { COMMANDS } from './catalog.js';

export function define(program: Command): void {
  const command = program
    .command('status')
    .description(COMMANDS.status.description)
    .argument('[run]', 'run id');
  addSelectedConfigFlags(command, ['stateDir', 'stateDatabaseUrl']).action(
    async (runId: string | undefined, options: Record<string, unknown>) => {
      const { config } = resolveConfig(options);
      const report = await withComposition(config, loggerFor(config), (root) =>
        runStatus(root, runId),
      );
      process.stdout.write(report);
    },
  );
}
