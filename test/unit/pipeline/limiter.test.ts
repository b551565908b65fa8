import { describe, expect, it } from 'vitest';
import { createLimiter, RunStopped } from '../../../src/pipeline/limiter.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('createLimiter', () => {
  it('runs at most `slots` tasks at once, the others in order as slots free', async () => {
    const limit = createLimiter(2, new AbortController().signal);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const releases: (() => void)[] = [];
    const tasks = [0, 1, 2, 3].map((n) =>
      limit(async () => {
        running += 1;
        most = Math.max(most, running);
        order.push(n);
        await new Promise<void>((resolve) => releases.push(resolve));
        running -= 1;
        return n;
      }),
    );
    await tick();
    expect(order).toEqual([0, 1]);
    releases.shift()?.();
    await tick();
    expect(order).toEqual([0, 1, 2]);
    while (releases.length > 0 || order.length < 4) {
      releases.shift()?.();
      await tick();
    }
    expect(await Promise.all(tasks)).toEqual([0, 1, 2, 3]);
    expect(most).toBe(2);
  });

  it('frees the slot of a task that throws', async () => {
    const limit = createLimiter(1, new AbortController().signal);
    await expect(limit(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limit(() => Promise.resolve('next'))).toBe('next');
  });

  it('refuses tasks not yet started once stopped; those running finish', async () => {
    const stop = new AbortController();
    const limit = createLimiter(1, stop.signal);
    let release = () => undefined as void;
    const running = limit(
      () => new Promise<string>((resolve) => (release = () => resolve('finished'))),
    );
    const waiting = limit(() => Promise.resolve('never'));
    await tick();
    stop.abort();
    release();
    expect(await running).toBe('finished');
    await expect(waiting).rejects.toBeInstanceOf(RunStopped);
  });
});
