#!/usr/bin/env node
import { createRequire } from 'node:module';
import type * as commander from 'commander';
import { TOOL_VERSION } from '../app/package-info.js';
import { ERROR_CODES, EtlError, EXIT_STOPPED } from '../domain/errors.js';
import { RunStopped } from '../pipeline/limiter.js';
import { COMMANDS, type CommandName } from './catalog.js';
import { DEFINITIONS } from './definitions.js';

// Through require: a CommonJS package imported from an ES module has Node 20 run every file it
// requires through the ES module loader too, which doubles commander's load time.
const { Command, CommanderError, Help } = createRequire(import.meta.url)(
  'commander',
) as typeof commander;

const isCommand = (name: string | undefined): name is CommandName =>
  name !== undefined && Object.hasOwn(COMMANDS, name);

/** The command the arguments invoke (`help X` asks for X's help), if any. */
function invokedCommand(args: readonly string[]): CommandName | undefined {
  const words = args.filter((arg) => !arg.startsWith('-'));
  const name = words[0] === 'help' ? words[1] : words[0];
  return isCommand(name) ? name : undefined;
}

/**
 * Exit codes: 0 all delivered; 3 finished with failed instances; 2 invalid usage or
 * configuration; 1 fatal error; 130 stopped by a signal (resume with the same command).
 */
const program = new Command()
  .name('eden-etl')
  .description(
    'Builds vision-language-model datasets from a PACS: selects studies, fetches their DICOM, renders JPEGs, and writes DICOM + JPEG + CSV + a dataset card.',
  )
  .version(TOOL_VERSION)
  .showHelpAfterError()
  .exitOverride()
  .configureHelp({
    // The catalog's term for the top-level commands, which are not defined when listed;
    // commander's own for the subcommands of the one that is (`schedule add …`).
    subcommandTerm: (command) => {
      const name = command.name();
      return command.parent?.parent === null && isCommand(name)
        ? COMMANDS[name].term
        : new Help().subcommandTerm(command);
    },
  });

try {
  const invoked = invokedCommand(process.argv.slice(2));
  for (const name of Object.keys(COMMANDS) as CommandName[]) {
    if (name === invoked) (await DEFINITIONS[name]()).define(program);
    // The others only as `--help` lists them (and for commander's "did you mean").
    else program.command(name).description(COMMANDS[name].description);
  }
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has printed the problem and the help; --help and --version exit 0.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else if (error instanceof RunStopped) {
    process.exitCode = EXIT_STOPPED;
  } else if (error instanceof EtlError) {
    process.stderr.write(`eden-etl: ${error.oneLine()}\n`);
    process.exitCode = ERROR_CODES[error.code].exitCode;
  } else {
    process.stderr.write(
      `eden-etl: unexpected error: ${(error as Error).stack ?? String(error)}\n`,
    );
    process.exitCode = 1;
  }
}
