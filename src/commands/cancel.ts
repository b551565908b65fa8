import type { Command } from 'commander';
import { withComposition } from '../app/compose.js';
import { loggerFor, resolveConfig } from '../app/invocation.js';
import { cancelRun } from '../app/run-control.js';
import { addSelectedConfigFlags } from '../config/flags.js';
import { COMMANDS } from './catalog.js';

export function define(program: Command): void {
  const command = program
    .command('cancel')
    .description(COMMANDS.cancel.description)
    .argument('<run>', 'run id');
  addSelectedConfigFlags(command, ['stateDatabaseUrl', 'queuePrefix']).action(
    async (runId: string, options: Record<string, unknown>) => {
      const { config } = resolveConfig(options);
      const report = await withComposition(config, loggerFor(config), (root) =>
        cancelRun(root, runId),
      );
      process.stdout.write(report);
    },
  );
}
