import type { Command } from 'commander';
import { EtlError } from '../domain/errors.js';
import { carriesSecret } from '../domain/redact.js';
import { addSelectedConfigFlags } from '../config/flags.js';
import { resolveConfig } from '../app/invocation.js';
import { withQueues } from '../app/queue-session.js';
import { runOptionsOf } from '../config/run-args.js';

// Schedule jobs are small; the last ones are kept for the dashboard.
const KEEP_SCHEDULE_JOBS = { count: 100 };

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

/**
 * `eden-etl schedule add|list|remove`: recurring runs on BullMQ job schedulers (what Celery beat
 * did). A schedule keeps its `run` options; at each firing a worker plans and enqueues that run.
 * The same options make the same run id, so a firing whose run is complete does nothing: use
 * `--seed random` for a new sample at each firing.
 */
export function addScheduleCommand(program: Command): void {
  const schedule = program
    .command('schedule')
    .description('Recurring runs, started by the workers (BullMQ job schedulers).');

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
    const cron = typeof options.cron === 'string' ? options.cron : undefined;
    const every = typeof options.every === 'string' ? positiveSeconds(options.every) : undefined;
    if ((cron === undefined) === (every === undefined)) {
      throw new EtlError('USAGE', 'give one of --cron PATTERN or --every SECONDS');
    }
    const secret = runArgs.find(carriesSecret);
    if (secret !== undefined) {
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
    const { config } = resolveConfig(options);
    await withQueues(config, async (_ledger, queues) => {
      await queues.schedules.upsertJobScheduler(
        name,
        cron === undefined
          ? { every: Math.round((every ?? 0) * 1000) }
          : { pattern: cron, ...(typeof options.tz === 'string' ? { tz: options.tz } : {}) },
        {
          name: 'run',
          data: { schedule: name, args: runArgs },
          opts: { removeOnComplete: KEEP_SCHEDULE_JOBS, removeOnFail: KEEP_SCHEDULE_JOBS },
        },
      );
      process.stdout.write(
        `Schedule ${name} saved: ${cron === undefined ? `every ${every} s` : `cron "${cron}"`} → eden-etl run ${runArgs.join(' ')}\n`,
      );
    });
  });

  addSelectedConfigFlags(
    schedule.command('list').description('List the schedules with their next firing.'),
    ['queuePrefix'],
  ).action(async (options: Record<string, unknown>) => {
    const { config } = resolveConfig(options);
    await withQueues(config, async (_ledger, queues) => {
      const schedulers = await queues.schedules.getJobSchedulers(0, -1, true);
      if (schedulers.length === 0) process.stdout.write('No schedule.\n');
      for (const entry of schedulers) {
        const when =
          entry.pattern !== undefined && entry.pattern !== null
            ? `cron "${entry.pattern}"${entry.tz === undefined || entry.tz === null ? '' : ` ${entry.tz}`}`
            : `every ${Number(entry.every) / 1000} s`;
        const next = entry.next === undefined ? '-' : new Date(entry.next).toISOString();
        const args = (entry.template?.data as { args?: string[] } | undefined)?.args ?? [];
        process.stdout.write(
          `${entry.key}\t${when}\tnext ${next}\teden-etl run ${args.join(' ')}\n`,
        );
      }
    });
  });

  addSelectedConfigFlags(
    schedule
      .command('remove')
      .description('Remove schedule NAME.')
      .argument('<name>', 'schedule name'),
    ['queuePrefix'],
  ).action(async (name: string, options: Record<string, unknown>) => {
    const { config } = resolveConfig(options);
    await withQueues(config, async (_ledger, queues) => {
      if (!(await queues.schedules.removeJobScheduler(name))) {
        throw new EtlError('USAGE', 'there is no schedule of this name', {
          subject: name,
          hint: '`eden-etl schedule list` shows them',
        });
      }
      process.stdout.write(`Schedule ${name} removed.\n`);
    });
  });
}
