import type { Command } from 'commander';
import type { CommandName } from './catalog.js';

/** A command's definition: its flags and its action, which loads what the command uses. */
export type Definition = { define(program: Command): void };

// Loaded only for the command invoked: `--version`, `--help` and every other command do not
// pay for the dependencies of this one.
export const DEFINITIONS: Record<CommandName, () => Promise<Definition>> = {
  run: () => import('./run.js'),
  demo: () => import('./demo.js'),
  convert: () => import('./convert.js'),
  worker: () => import('./worker.js'),
  status: () => import('./status.js'),
  retry: () => import('./retry.js'),
  cancel: () => import('./cancel.js'),
  schedule: () => import('./schedule.js'),
  'sample-pacs': () => import('./sample-pacs.js'),
  dashboard: () => import('./dashboard.js'),
  verify: () => import('./verify.js'),
  config: () => import('./config.js'),
  'deid-map': () => import('./deid-map.js'),
};
