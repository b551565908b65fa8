import type { Command } from 'commander';
import { addConfigFlags } from '../config/flags.js';
import { loggerFor, resolveConfig } from '../app/invocation.js';
import { runWorker } from '../app/worker.js';
import { COMMANDS } from './catalog.js';

export function define(program: Command): void {
  addConfigFlags(program.command('worker').description(COMMANDS.worker.description), [
    'samplePacsDir',
  ]).action(async (options: Record<string, unknown>) => {
    const { config } = resolveConfig(options);
    await runWorker(config, loggerFor(config));
  });
}
