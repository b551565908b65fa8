import type { Command } from 'commander';
import { CONFIG_KEYS, type ConfigKey, type KeySpec } from './schema.js';

const SPECS: Readonly<Record<ConfigKey, KeySpec>> = CONFIG_KEYS;

/**
 * Adds a flag for every configuration key that has one (the table in src/config/schema.ts) and
 * belongs to the command (KeySpec.commands), except `omit`.
 */
export function addConfigFlags(command: Command, omit: readonly ConfigKey[] = []): Command {
  const keys = (Object.keys(SPECS) as ConfigKey[]).filter((key) => !omit.includes(key));
  return addSelectedConfigFlags(command, keys);
}

/** Adds the flags of `keys` only (and --env-file), for commands that need a few settings. */
export function addSelectedConfigFlags(command: Command, keys: readonly ConfigKey[]): Command {
  for (const key of keys) {
    const spec = SPECS[key];
    if (spec.flag === undefined) continue;
    if (spec.commands !== undefined && !spec.commands.includes(command.name())) continue;
    const isSwitch = spec.expected === 'true or false';
    const defaultNote =
      spec.default === undefined ? '' : ` (default: ${JSON.stringify(spec.default)})`;
    command.option(isSwitch ? spec.flag : `${spec.flag} <value>`, `${spec.doc}${defaultNote}`);
  }
  return command.option('--env-file <path>', 'Read variables from this file', '.env');
}

/** Commander's name for a flag's value: `--state-dir` → `stateDir`, `--port` → `port`. */
function optionName(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/** The configuration values given as flags, keyed by configuration key. */
export function configFlags(options: Record<string, unknown>): Partial<Record<ConfigKey, unknown>> {
  const flags: Partial<Record<ConfigKey, unknown>> = {};
  for (const key of Object.keys(SPECS) as ConfigKey[]) {
    const flag = SPECS[key].flag;
    const value = flag === undefined ? undefined : options[optionName(flag)];
    if (value !== undefined) flags[key] = value;
  }
  return flags;
}
