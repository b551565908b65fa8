import type { Command } from 'commander';
import { describeConfig } from '../config/load.js';
import { addConfigFlags } from '../config/flags.js';
import { resolveConfig } from '../app/invocation.js';
import { COMMANDS } from './catalog.js';

export function define(program: Command): void {
  addConfigFlags(program.command('config').description(COMMANDS.config.description)).action(
    (options: Record<string, unknown>) => {
      const rows = describeConfig(resolveConfig(options));
      const width = Math.max(...rows.map((row) => row.key.length));
      for (const row of rows) {
        process.stdout.write(`${row.key.padEnd(width)}  ${row.value.padEnd(40)}  ${row.origin}\n`);
      }
    },
  );
}
