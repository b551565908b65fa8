import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runBatchesLocally } from '../../../src/pipeline/local-executor.js';
import { RunStopped } from '../../../src/pipeline/limiter.js';

describe('runBatchesLocally', () => {
  it('runs every batch and never exceeds the concurrency', async () => {
    let active = 0;
    let peak = 0;
    const done: string[] = [];
    await runBatchesLocally([0, 1, 2, 3], { concurrency: 3 }, async (batchNo, limit) => {
      await Promise.all(
        [0, 1, 2, 3, 4].map((item) =>
          limit(async () => {
            active += 1;
            peak = Math.max(peak, active);
            await sleep(2);
            active -= 1;
            done.push(`${batchNo}.${item}`);
          }),
        ),
      );
    });
    expect(done).toHaveLength(20);
    expect(peak).toBe(3);
  });

  it('stops starting work after an error, waits for work in flight, then throws it', async () => {
    const started: number[] = [];
    let inFlightFinished = false;
    const run = runBatchesLocally([0, 1, 2, 3, 4], { concurrency: 2 }, async (batchNo, limit) => {
      const settled = await Promise.allSettled([
        limit(async () => {
          started.push(batchNo);
          if (batchNo === 1) throw new Error('disk full');
          await sleep(20);
          if (batchNo === 0) inFlightFinished = true;
        }),
      ]);
      for (const entry of settled) if (entry.status === 'rejected') throw entry.reason;
    });
    await expect(run).rejects.toThrow('disk full');
    expect(inFlightFinished).toBe(true);
    expect(started).not.toContain(4);
  });

  it('ends with RunStopped when the caller aborts', async () => {
    const controller = new AbortController();
    const ran: number[] = [];
    const run = runBatchesLocally(
      [0, 1, 2, 3],
      { concurrency: 1, signal: controller.signal },
      async (batchNo, limit) => {
        await limit(async () => {
          ran.push(batchNo);
          if (batchNo === 0) controller.abort();
          await sleep(5);
        });
      },
    );
    await expect(run).rejects.toBeInstanceOf(RunStopped);
    expect(ran).toEqual([0]);
  });
});
