import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addConfigFlags, addSelectedConfigFlags, configFlags } from '../../../src/config/flags.js';

const flagsOf = (command: Command) => command.options.map((option) => option.long);

describe('configuration flags', () => {
  it('gives a command-specific flag to its command only', () => {
    const program = new Command();
    const run = addConfigFlags(program.command('run'));
    const dashboard = addSelectedConfigFlags(program.command('dashboard'), [
      'dashboardPort',
      'stateDir',
    ]);
    expect(flagsOf(run)).toContain('--studies');
    expect(flagsOf(run)).not.toContain('--port');
    expect(flagsOf(dashboard)).toEqual(['--port', '--state-dir', '--env-file']);
  });

  it('maps each flag value back to its configuration key', async () => {
    const program = new Command().exitOverride();
    let seen: Record<string, unknown> = {};
    addSelectedConfigFlags(program.command('dashboard'), ['dashboardPort', 'stateDir']).action(
      (options: Record<string, unknown>) => {
        seen = configFlags(options);
      },
    );
    await program.parseAsync(['dashboard', '--port', '8080', '--state-dir', '/s'], {
      from: 'user',
    });
    expect(seen).toEqual({ dashboardPort: '8080', stateDir: '/s' });
  });
});
