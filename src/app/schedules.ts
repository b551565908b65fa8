import type { Composition } from './compose.js';
import { EtlError } from '../domain/errors.js';

/**
 * Recurring runs on BullMQ job schedulers (what Celery beat did): `eden-etl schedule
 * add|list|remove`. A schedule keeps its `run` options; at each firing a worker plans and
 * enqueues that run. Each function returns what to print.
 */

// Schedule jobs are small; the last ones are kept for the dashboard.
const KEEP_SCHEDULE_JOBS = { count: 100 };

/** When a schedule fires: a cron pattern (in a time zone), or every so many seconds. */
export type Firing = { cron: string; tz?: string | undefined } | { everySeconds: number };

export async function addSchedule(
  root: Composition,
  name: string,
  firing: Firing,
  runArgs: readonly string[],
): Promise<string> {
  root.queueSettings();
  const queues = await root.queues();
  await queues.schedules.upsertJobScheduler(
    name,
    'cron' in firing
      ? { pattern: firing.cron, ...(firing.tz === undefined ? {} : { tz: firing.tz }) }
      : { every: Math.round(firing.everySeconds * 1000) },
    {
      name: 'run',
      data: { schedule: name, args: [...runArgs] },
      opts: { removeOnComplete: KEEP_SCHEDULE_JOBS, removeOnFail: KEEP_SCHEDULE_JOBS },
    },
  );
  const when = 'cron' in firing ? `cron "${firing.cron}"` : `every ${firing.everySeconds} s`;
  return `Schedule ${name} saved: ${when} → eden-etl run ${runArgs.join(' ')}\n`;
}

export async function listSchedules(root: Composition): Promise<string> {
  root.queueSettings();
  const queues = await root.queues();
  const schedulers = await queues.schedules.getJobSchedulers(0, -1, true);
  if (schedulers.length === 0) return 'No schedule.\n';
  return schedulers
    .map((entry) => {
      const when =
        entry.pattern !== undefined && entry.pattern !== null
          ? `cron "${entry.pattern}"${entry.tz === undefined || entry.tz === null ? '' : ` ${entry.tz}`}`
          : `every ${Number(entry.every) / 1000} s`;
      const next = entry.next === undefined ? '-' : new Date(entry.next).toISOString();
      const args = (entry.template?.data as { args?: string[] } | undefined)?.args ?? [];
      return `${entry.key}\t${when}\tnext ${next}\teden-etl run ${args.join(' ')}\n`;
    })
    .join('');
}

export async function removeSchedule(root: Composition, name: string): Promise<string> {
  root.queueSettings();
  const queues = await root.queues();
  if (!(await queues.schedules.removeJobScheduler(name))) {
    throw new EtlError('USAGE', 'there is no schedule of this name', {
      subject: name,
      hint: '`eden-etl schedule list` shows them',
    });
  }
  return `Schedule ${name} removed.\n`;
}
