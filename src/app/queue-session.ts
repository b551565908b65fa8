import type { Config } from '../config/schema.js';
import { EtlError } from '../domain/errors.js';
import { Ledger, type RunRecord } from '../ledger/ledger.js';
import { queueSettingsOrFail, RunQueues } from '../queue/queues.js';
import { openState } from './compose.js';

/**
 * Runs `work` with the ledger in the state database and the queues in Redis, for the commands
 * that steer runs on the workers (retry, cancel, schedule), and closes both after.
 */
export async function withQueues<T>(
  config: Config,
  work: (ledger: Ledger, queues: RunQueues) => Promise<T>,
): Promise<T> {
  const settings = queueSettingsOrFail(config);
  const stateDb = await openState(config);
  try {
    const ledger = await Ledger.open(stateDb);
    const queues = await RunQueues.open(settings);
    try {
      return await work(ledger, queues);
    } finally {
      await queues.close();
    }
  } finally {
    await stateDb.close();
  }
}

export async function requireRun(ledger: Ledger, runId: string): Promise<RunRecord> {
  const run = await ledger.findRun(runId);
  if (run === null) {
    throw new EtlError('RUN_NOT_FOUND', 'no run has this id', {
      subject: runId,
      hint: '`eden-etl status` shows the latest run; check STATE_DATABASE_URL',
    });
  }
  return run;
}
