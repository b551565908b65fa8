import type { Command } from 'commander';
import { withComposition } from '../app/compose.js';
import { loggerFor, resolveConfig } from '../app/invocation.js';
import { TOOL_VERSION } from '../app/package-info.js';
import { addSelectedConfigFlags } from '../config/flags.js';
import type { ConfigKey } from '../config/schema.js';
import { startDashboard } from '../dashboard/server.js';
import { initErrorTracking } from '../observability/error-tracking.js';
import { COMMANDS } from './catalog.js';

const DASHBOARD_FLAGS: readonly ConfigKey[] = [
  'dashboardPort',
  'dashboardHost',
  'stateDir',
  'stateDatabaseUrl',
  'queuePrefix',
  'logLevel',
  'logFormat',
];

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

export function define(program: Command): void {
  addSelectedConfigFlags(
    program.command('dashboard').description(COMMANDS.dashboard.description),
    DASHBOARD_FLAGS,
  ).action(async (options: Record<string, unknown>) => {
    const { config } = resolveConfig(options);
    const logger = loggerFor(config);
    initErrorTracking(config.sentryDsn, TOOL_VERSION);
    await withComposition(config, logger, async (root) => {
      const dashboard = await startDashboard({
        host: config.dashboardHost,
        port: config.dashboardPort,
        user: config.dashboardUser,
        password: config.dashboardPassword,
        readLedger: root.stateReader(),
        queues: await root.queueViews(),
        openStore: async (rootUrl) => (await root.destination(rootUrl, '')).store,
        logger,
      });
      logger.info(`dashboard listening on ${dashboard.url}`);
      const signal = await untilSignal();
      logger.info(`${signal}: closing the dashboard`);
      await dashboard.close();
    });
  });
}
