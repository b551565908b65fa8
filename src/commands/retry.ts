import type { Command } from 'commander';
import { withComposition } from '../app/compose.js';
import { loggerFor, resolveConfig } from '../app/invocation.js';
import { retryRun } from '../app/run-control.js';
import { addSelectedConfigFlags } from '../config/flags.js';
import { COMMANDS } from './catalog.js';

export function define(program: Command): void {
  const command = program
    .command('retry')
    .description(COMMANDS.retry.description)
    .argument('<run>', 'run id');
  addSelectedConfigFlags(command, [
    'stateDatabaseUrl',
    'queuePrefix',
    'jobAttempts',
    'jobBackoff',
  ]).action(async (runId: string, options: Record<string, unknown>) => {
    const { config } = resolveConfig(options);
    const report = await withComposition(config, loggerFor(config), (root) =>
      retryRun(root, runId),
    );
    process.stdout.write(report);
  });
}
