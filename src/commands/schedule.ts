import type { Command } from 'commander';
import { withComposition } from '../app/compose.js';
import { loggerFor, resolveConfig } from '../app/invocation.js';
import { addSchedule, listSchedules, removeSchedule, type Firing } from '../app/schedules.js';
import { addSelectedConfigFlags } from '../config/flags.js';
import { runOptionsOf } from '../config/run-args.js';
import { EtlError } from '../domain/errors.js';
import { carriesSecret } from '../domain/redact.js';
import { COMMANDS } from './catalog.js';

function positiveSeconds(text: string): number {
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new EtlError(
      'USAGE',
      `--every: received ${JSON.stringify(text)}; expected seconds above 0`,
    );
  }
  return seconds;
}

/** --cron or --every, exactly one. */
function firingOf(options: Record<string, unknown>): Firing {
  const cron = typeof options.cron === 'string' ? options.cron : undefined;
  const every = typeof options.every === 'string' ? positiveSeconds(options.every) : undefined;
  if (cron !== undefined && every === undefined) {
    return { cron, tz: typeof options.tz === 'string' ? options.tz : undefined };
  }
  if (every !== undefined && cron === undefined) return { everySeconds: every };
  throw new EtlError('USAGE', 'give one of --cron PATTERN or --every SECONDS');
}

/** Prints what `work` returns, with a composition of the command's configuration. */
async function withQueues(
  options: Record<string, unknown>,
  work: Parameters<typeof withComposition<string>>[2],
): Promise<void> {
  const { config } = resolveConfig(options);
  process.stdout.write(await withComposition(config, loggerFor(config), work));
}

/**
 * The same options make the same run id, so a firing whose run is complete does nothing: use
 * `--seed random` for a new sample at each firing.
 */
export function define(program: Command): void {
  const schedule = program.command('schedule').description(COMMANDS.schedule.description);

  addSelectedConfigFlags(
    schedule
      .command('add')
      .description(
        'Add or replace schedule NAME: eden-etl schedule add NAME --cron "0 2 * * *" -- <run options>',
      )
      .argument('<name>', 'schedule name')
      .argument('[run-options...]', 'options of `eden-etl run`, after --')
      .option('--cron <pattern>', 'cron pattern (5 fields, or 6 with seconds first)')
      .option('--every <seconds>', 'fixed interval in seconds (instead of --cron)')
      .option('--tz <zone>', 'time zone of the cron pattern, e.g. Europe/Paris'),
    ['queuePrefix'],
  ).action(async (name: string, runArgs: string[], options: Record<string, unknown>) => {
    const firing = firingOf(options);
    if (runArgs.some(carriesSecret)) {
      throw new EtlError(
        'CONFIG_INVALID',
        'a run option carries credentials, which would be stored in Redis',
        {
          hint: 'give the workers their credentials in their environment (SOURCE_DATABASE_URL, …) and leave them out of the schedule',
        },
      );
    }
    // Checked now, with this machine's environment, so a typo fails here and not at 2 am.
    resolveConfig(runOptionsOf(runArgs));
    await withQueues(options, (root) => addSchedule(root, name, firing, runArgs));
  });

  addSelectedConfigFlags(
    schedule.command('list').description('List the schedules with their next firing.'),
    ['queuePrefix'],
  ).action((options: Record<string, unknown>) => withQueues(options, listSchedules));

  addSelectedConfigFlags(
    schedule
      .command('remove')
      .description('Remove schedule NAME.')
      .argument('<name>', 'schedule name'),
    ['queuePrefix'],
  ).action((name: string, options: Record<string, unknown>) =>
    withQueues(options, (root) => removeSchedule(root, name)),
  );
}
