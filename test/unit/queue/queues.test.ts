import { Job } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { EtlError } from '../../../src/domain/errors.js';
import { QUEUE_NAMES } from '../../../src/queue/queue-names.js';
import { RunQueues } from '../../../src/queue/queues.js';
import { deleteRedisKeys, freePort, REDIS_URL, testQueuePrefix } from '../../support/queue.js';

describe('RunQueues', () => {
  const opened: RunQueues[] = [];
  const prefixes: string[] = [];
  afterEach(async () => {
    for (const queues of opened.splice(0)) await queues.close();
    for (const prefix of prefixes.splice(0)) await deleteRedisKeys(REDIS_URL, prefix);
  });

  async function open(label: string): Promise<RunQueues> {
    const prefix = testQueuePrefix(label);
    prefixes.push(prefix);
    const queues = await RunQueues.open({ redisUrl: REDIS_URL, prefix });
    opened.push(queues);
    return queues;
  }

  it('opens the three queues under the settings’ prefix, ready to take jobs', async () => {
    const queues = await open('queues-open');
    expect(queues.batches.name).toBe(QUEUE_NAMES.batches);
    expect(queues.finalize.name).toBe(QUEUE_NAMES.finalize);
    expect(queues.schedules.name).toBe(QUEUE_NAMES.schedules);
    for (const queue of [queues.batches, queues.finalize, queues.schedules]) {
      expect(queue.opts.prefix).toBe(queues.settings.prefix);
    }
    await queues.batches.add('batch', { runId: 'r', batchNo: 1 }, { jobId: 'r-b1' });
    await queues.schedules.add('schedule', { schedule: 's', args: [] });
    expect(await queues.batches.getWaitingCount()).toBe(1);
    expect(await queues.schedules.getWaitingCount()).toBe(1);
    expect(await queues.finalize.getWaitingCount()).toBe(0);
  });

  it('puts flows on the same prefix, so the workers of the prefix see their children', async () => {
    const queues = await open('queues-flow');
    await queues.flows.add({
      name: 'finalize',
      queueName: QUEUE_NAMES.finalize,
      data: { runId: 'r' },
      opts: { jobId: 'r-finalize' },
      children: [
        { name: 'batch', queueName: QUEUE_NAMES.batches, data: { runId: 'r', batchNo: 1 } },
      ],
    });
    const parent = await Job.fromId(queues.finalize, 'r-finalize');
    expect(await parent?.getState()).toBe('waiting-children');
    expect(await queues.batches.getWaitingCount()).toBe(1);
  });

  it('names an unreachable Redis without its password, within the timeout', async () => {
    const port = await freePort();
    const started = performance.now();
    const error: unknown = await RunQueues.open(
      { redisUrl: `redis://eden:s3cret-pw@127.0.0.1:${port}`, prefix: 'eden-unused' },
      300,
    ).then(
      () => new Error('opened an unreachable Redis'),
      (failure: unknown) => failure,
    );
    expect(performance.now() - started).toBeLessThan(3000);
    expect(error).toBeInstanceOf(EtlError);
    expect(error).toMatchObject({
      code: 'QUEUE_UNAVAILABLE',
      message: 'cannot reach Redis: no answer within 300 ms',
      hint: expect.stringContaining('REDIS_URL') as unknown,
    });
    const { subject } = error as EtlError;
    expect(subject).toContain(`127.0.0.1:${port}`);
    expect(subject).not.toContain('s3cret-pw');
  });

  it('closes again without failing, whatever was closed already', async () => {
    const queues = await open('queues-close');
    await queues.close();
    await expect(queues.close()).resolves.toBeUndefined();
  });
});
