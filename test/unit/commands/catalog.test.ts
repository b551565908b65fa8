import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS, type CommandName } from '../../../src/commands/catalog.js';
import { DEFINITIONS } from '../../../src/commands/definitions.js';
import { runCli } from '../../support/cli.js';

/** What `define` registers for a command, as `eden-etl X --help` would show it. */
async function defined(name: CommandName): Promise<Command> {
  const program = new Command();
  (await DEFINITIONS[name]()).define(program);
  const [command, ...others] = program.commands;
  expect(others).toEqual([]);
  return command!;
}

describe('the command catalog', () => {
  it.each(Object.keys(COMMANDS) as CommandName[])(
    'lists %s as its definition describes it',
    async (name) => {
      const command = await defined(name);
      expect(command.name()).toBe(name);
      expect(command.description()).toBe(COMMANDS[name].description);
      // The term `--help` lists: name, [options] when it has any, then its arguments.
      const args = command.registeredArguments.map((arg) =>
        arg.required ? `<${arg.name()}${arg.variadic ? '...' : ''}>` : `[${arg.name()}]`,
      );
      const term = [name, ...(command.options.length > 0 ? ['[options]'] : []), ...args];
      expect(COMMANDS[name].term).toBe(term.join(' '));
    },
  );

  it('answers --version and --help without loading a command, and lists every command', async () => {
    const version = await runCli(['--version'], process.cwd());
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = await runCli(['--help'], process.cwd());
    expect(help.code).toBe(0);
    for (const { term } of Object.values(COMMANDS)) expect(help.stdout).toContain(term);
  });

  it('gives a command its own help, and suggests the command meant', async () => {
    const help = await runCli(['help', 'retry'], process.cwd());
    expect(help.stdout).toContain('Usage: eden-etl retry [options] <run>');
    expect(help.stdout).toContain('--job-attempts');
    const typo = await runCli(['stauts'], process.cwd());
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('(Did you mean status?)');
  });
});
