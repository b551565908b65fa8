/** Runs a task when a slot is free; rejects tasks not yet started once `signal` aborts. */
export type Limiter = <T>(task: () => Promise<T>) => Promise<T>;

export class RunStopped extends Error {
  constructor() {
    super('the run was stopped before this task started');
    this.name = 'RunStopped';
  }
}

export function createLimiter(slots: number, signal: AbortSignal): Limiter {
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    active -= 1;
    waiting.shift()?.();
  };
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= slots) await new Promise<void>((resolve) => waiting.push(resolve));
    active += 1;
    try {
      if (signal.aborted) throw new RunStopped();
      return await task();
    } finally {
      release();
    }
  };
}
