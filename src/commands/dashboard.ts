import { Queue } from 'bullmq';
import type { Command } from 'commander';
import { Redis } from 'ioredis';
import type { Config, ConfigKey } from '../config/schema.js';
import type { SqlClient } from '../domain/sql.js';
import { startDashboard, type LedgerReader } from '../dashboard/server.js';
import { Ledger } from '../ledger/ledger.js';
import { RunInsights } from '../ledger/run-insights.js';
import { initErrorTracking } from '../observability/error-tracking.js';
import type { Logger } from '../observability/logger.js';
import { redactUrl } from '../domain/redact.js';
import { QUEUE_NAMES } from '../queue/queue-names.js';
import { openDestination, openState } from '../app/compose.js';
import { addSelectedConfigFlags } from '../config/flags.js';
import { loggerFor, resolveConfig } from '../app/invocation.js';
import { TOOL_VERSION } from '../app/package-info.js';

const DASHBOARD_FLAGS: readonly ConfigKey[] = [
  'dashboardPort',
  'dashboardHost',
  'stateDir',
  'stateDatabaseUrl',
  'queuePrefix',
  'logLevel',
  'logFormat',
];

interface LedgerAccess {
  read: LedgerReader;
  close(): Promise<void>;
}

async function readWith<T>(sql: SqlClient, fn: (insights: RunInsights) => Promise<T>): Promise<T> {
  // Opening checks the ledger version (and creates the tables in a new state database).
  await Ledger.open(sql);
  return fn(new RunInsights(sql));
}

/**
 * PostgreSQL state is shared: one pool for the dashboard's lifetime. The embedded state is
 * held by one process at a time, so the dashboard takes it only for each read, one read at a
 * time, and a run can start between two page views.
 */
async function openLedgerAccess(config: Config): Promise<LedgerAccess> {
  if (config.stateDatabaseUrl !== undefined) {
    const sql = await openState(config);
    await Ledger.open(sql);
    const insights = new RunInsights(sql);
    return { read: (fn) => fn(insights), close: () => sql.close() };
  }
  let queue: Promise<unknown> = Promise.resolve();
  const read: LedgerReader = (fn) => {
    const next = queue.then(async () => {
      const sql = await openState(config);
      try {
        return await readWith(sql, fn);
      } finally {
        await sql.close();
      }
    });
    // The next read waits for this one to finish, whether it succeeded or not.
    queue = next.catch(() => undefined);
    return next;
  };
  return { read, close: () => queue.then(() => undefined) };
}

function openQueues(config: Config, logger: Logger): { connection: Redis; queues: Queue[] } | null {
  if (config.redisUrl === undefined) return null;
  // Fail a command quickly while Redis is down: the pages and /metrics must still answer.
  const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 5000 });
  // ioredis reconnects every few seconds: say what is wrong once, and again when it changes.
  let lastProblem = '';
  const onError = (error: Error) => {
    if (error.message === lastProblem) return;
    lastProblem = error.message;
    logger.warn(`Redis ${redactUrl(config.redisUrl ?? '')}: ${error.message}`);
  };
  connection.on('error', onError);
  connection.on('ready', () => (lastProblem = ''));
  const queues = Object.values(QUEUE_NAMES).map((name) => {
    const queue = new Queue(name, { connection, prefix: config.queuePrefix });
    queue.on('error', onError);
    return queue;
  });
  return { connection, queues };
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

export function addDashboardCommand(program: Command): void {
  addSelectedConfigFlags(
    program
      .command('dashboard')
      .description(
        'Serve the monitoring dashboard: runs, failures, stage timings, a dataset preview, the queues (Bull Board), /metrics and /healthz.',
      ),
    DASHBOARD_FLAGS,
  ).action(async (options: Record<string, unknown>) => {
    const { config } = resolveConfig(options);
    const logger = loggerFor(config);
    initErrorTracking(config.sentryDsn, TOOL_VERSION);
    const ledger = await openLedgerAccess(config);
    const redis = openQueues(config, logger);
    try {
      const dashboard = await startDashboard({
        host: config.dashboardHost,
        port: config.dashboardPort,
        user: config.dashboardUser,
        password: config.dashboardPassword,
        readLedger: ledger.read,
        queues: redis === null ? null : { prefix: config.queuePrefix, queues: redis.queues },
        openStore: async (rootUrl) =>
          (await openDestination(rootUrl, '', config.gcsCredentialsPath)).store,
        logger,
      });
      logger.info(`dashboard listening on ${dashboard.url}`);
      const signal = await untilSignal();
      logger.info(`${signal}: closing the dashboard`);
      await dashboard.close();
    } finally {
      for (const queue of redis?.queues ?? []) await queue.close();
      redis?.connection.disconnect();
      await ledger.close();
    }
  });
}
