import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Composition } from '../../../src/app/compose.js';
import { addSchedule, listSchedules, removeSchedule } from '../../../src/app/schedules.js';
import { loadConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/observability/logger.js';
import { RunQueues } from '../../../src/queue/queues.js';
import type { QueueSettings } from '../../../src/queue/settings.js';
import { tempDir } from '../../support/cli.js';
import { deleteRedisKeys, REDIS_URL, testQueuePrefix } from '../../support/queue.js';

const logger = createLogger({ level: 'fatal', format: 'plain' });

let settings: QueueSettings;
let queues: RunQueues;
let root: Composition;

beforeEach(async () => {
  settings = { redisUrl: REDIS_URL, prefix: testQueuePrefix('schedules') };
  queues = await RunQueues.open(settings);
  // Schedules need only the queues: no state database is opened.
  root = {
    queueSettings: () => settings,
    queues: () => Promise.resolve(queues),
  } as unknown as Composition;
});

afterEach(async () => {
  await queues.close();
  await deleteRedisKeys(REDIS_URL, settings.prefix);
});

/** The listing's lines, each split at its tabs, with the next firing checked and masked. */
async function listed(): Promise<string[][]> {
  const text = await listSchedules(root);
  return text
    .trimEnd()
    .split('\n')
    .map((line) => {
      const fields = line.split('\t');
      expect(fields[2]).toMatch(/^next \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      return [fields[0] ?? '', fields[1] ?? '', fields[3] ?? ''];
    });
}

describe('schedules', () => {
  it('says there is none before any is added', async () => {
    expect(await listSchedules(root)).toBe('No schedule.\n');
  });

  it('saves cron and interval schedules with their run options, and lists them', async () => {
    expect(
      await addSchedule(root, 'nightly', { cron: '0 3 * * *', tz: 'Europe/Paris' }, [
        '--studies',
        '5',
      ]),
    ).toBe('Schedule nightly saved: cron "0 3 * * *" → eden-etl run --studies 5\n');
    expect(await addSchedule(root, 'often', { everySeconds: 90 }, ['--seed', 'x'])).toBe(
      'Schedule often saved: every 90 s → eden-etl run --seed x\n',
    );
    expect((await listed()).sort()).toEqual([
      ['nightly', 'cron "0 3 * * *" Europe/Paris', 'eden-etl run --studies 5'],
      ['often', 'every 90 s', 'eden-etl run --seed x'],
    ]);
    // What a worker receives when the schedule fires.
    const scheduler = await queues.schedules.getJobScheduler('often');
    expect(scheduler?.template?.data).toEqual({ schedule: 'often', args: ['--seed', 'x'] });
  });

  it('replaces a schedule saved again under the same name', async () => {
    await addSchedule(root, 'daily', { cron: '0 1 * * *' }, ['--studies', '1']);
    await addSchedule(root, 'daily', { everySeconds: 3600 }, ['--studies', '2']);
    expect(await listed()).toEqual([['daily', 'every 3600 s', 'eden-etl run --studies 2']]);
  });

  it('removes a schedule, and names one that does not exist', async () => {
    await addSchedule(root, 'gone-soon', { everySeconds: 60 }, []);
    expect(await removeSchedule(root, 'gone-soon')).toBe('Schedule gone-soon removed.\n');
    expect(await listSchedules(root)).toBe('No schedule.\n');
    await expect(removeSchedule(root, 'gone-soon')).rejects.toMatchObject({
      code: 'USAGE',
      subject: 'gone-soon',
      message: 'there is no schedule of this name',
      hint: expect.stringContaining('schedule list') as unknown,
    });
  });

  it('refuses to work without Redis, naming what is missing', async () => {
    const { dir, cleanup } = await tempDir('schedules');
    const real = new Composition(
      loadConfig({ flags: { stateDir: join(dir, 'state') }, env: {} }).config,
      logger,
    );
    try {
      for (const command of [
        () => listSchedules(real),
        () => removeSchedule(real, 'x'),
        () => addSchedule(real, 'x', { everySeconds: 1 }, []),
      ]) {
        await expect(command()).rejects.toMatchObject({
          code: 'CONFIG_INVALID',
          message: expect.stringContaining('REDIS_URL') as unknown,
        });
      }
    } finally {
      await real.close();
      await cleanup();
    }
  });
});
