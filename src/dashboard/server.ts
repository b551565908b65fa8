import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { StateReader } from '../app/compose.js';
import { EtlError, isEtlError } from '../domain/errors.js';
import type { RunInsights, RunOverview } from '../ledger/run-insights.js';
import { imageLayout } from '../dataset/object-keys.js';
import { checkObjectKey, joinKey } from '../domain/object-key.js';
import type { ObjectStore } from '../domain/object-store.js';
import { captureError } from '../observability/error-tracking.js';
import type { Logger } from '../observability/logger.js';
import type { QueueViews } from '../queue/queue-views.js';
import { RATE_WINDOW_MS } from '../observability/progress.js';
import { basicAuth, checkExposure, isLoopbackHost } from './basic-auth.js';
import { page, html } from './html.js';
import { DashboardMetrics, type QueueDepth } from './metrics.js';
import {
  errorPage,
  failuresPage,
  previewPage,
  runPage,
  runsPage,
  type QueueState,
} from './pages.js';

export interface DashboardOptions {
  host: string;
  port: number;
  user: string;
  /** Undefined: no login, allowed on a loopback host only. */
  password: string | undefined;
  /** Reads the ledger: for as long as `fn` runs, the state database is held. */
  readLedger: StateReader;
  /** The BullMQ queues when Redis is configured, else null. */
  queues: Pick<QueueViews, 'prefix' | 'queues'> | null;
  /**
   * The destination a run wrote to (its root URL), for the preview's images: opened once and
   * closed by the caller (the composition root).
   */
  openStore: (rootUrl: string) => Promise<ObjectStore>;
  logger: Logger;
}

export interface Dashboard {
  /** `http://host:port` */
  url: string;
  close(): Promise<void>;
}

const WINDOW_SECONDS = RATE_WINDOW_MS / 1000;
/** Stage quantiles of /metrics cover instances settled within this many seconds. */
const RECENT_SECONDS = 300;
const FAILURES_PER_CODE = 200;
const PREVIEW_PAGE_SIZE = 24;
const QUEUE_TIMEOUT_MS = 2000;
const IMAGE_DIRS = new Set([imageLayout('jpeg').dir, imageLayout('png').dir]);
const IMAGE_TYPES: Record<string, string> = { jpg: 'image/jpeg', png: 'image/png' };

const CONTENT_SECURITY_POLICY =
  "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const BOARD_SECURITY_POLICY =
  "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'";

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function pageNumber(value: unknown): number {
  const parsed = typeof value === 'string' ? Number.parseInt(value, 10) : 1;
  return Number.isInteger(parsed) && parsed >= 1 && parsed <= 1_000_000 ? parsed : 1;
}

/**
 * The dashboard: runs, failures, stage timings and a preview of each run from the ledger,
 * Bull Board for the queues, Prometheus /metrics and an unauthenticated /healthz.
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  checkExposure(options.host, options.password);
  const { readLedger, logger } = options;
  const metrics = new DashboardMetrics(RECENT_SECONDS);
  const queueState: QueueState =
    options.queues === null
      ? { configured: false }
      : { configured: true, prefix: options.queues.prefix };
  // Specs never change once a run exists, so image requests need not read the ledger again.
  const specs = new Map<string, RunOverview['spec']>();

  const findRun = async (insights: RunInsights, runId: string): Promise<RunOverview> => {
    const [run] = await insights.runs(WINDOW_SECONDS, runId);
    if (run === undefined) {
      throw new EtlError('RUN_NOT_FOUND', 'no run has this id in the state database', {
        subject: runId,
      });
    }
    specs.set(run.runId, run.spec);
    return run;
  };

  const queueDepths = async (): Promise<QueueDepth[] | null> => {
    if (options.queues === null) return null;
    return Promise.all(
      options.queues.queues.map(async (queue) => {
        try {
          return {
            queue: queue.name,
            counts: await withTimeout(queue.getJobCounts(), QUEUE_TIMEOUT_MS),
          };
        } catch (error) {
          logger.warn(
            { queue: queue.name },
            `queue depth unavailable: ${(error as Error).message}`,
          );
          return { queue: queue.name, counts: null };
        }
      }),
    );
  };

  const app = express();
  app.disable('x-powered-by');
  app.use((_request, response, next) => {
    response.set({
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
      'Cache-Control': 'no-store',
    });
    next();
  });

  app.get('/healthz', (_request, response) => {
    response.json({ status: 'ok' });
  });

  app.use(basicAuth(options.user, options.password));

  app.get('/metrics', async (_request, response) => {
    const [ledger, queues] = await Promise.all([
      readLedger((insights) => insights.totals(RECENT_SECONDS)).catch((error: unknown) => {
        logger.warn(`metrics: the ledger is unavailable: ${(error as Error).message}`);
        return null;
      }),
      queueDepths(),
    ]);
    response.type(metrics.registry.contentType).send(await metrics.render({ ledger, queues }));
  });

  if (options.queues !== null) {
    const board = new ExpressAdapter();
    board.setBasePath('/queues');
    createBullBoard({
      queues: options.queues.queues.map((queue) => new BullMQAdapter(queue)),
      serverAdapter: board,
      options: { uiConfig: { boardTitle: 'eden-etl queues' } },
    });
    // Bull Board's own scripts and styles, and nothing from elsewhere: its page links web
    // fonts from a third party, which a hospital browser has no reason to contact.
    app.use('/queues', (_request, response, next) => {
      response.set('Content-Security-Policy', BOARD_SECURITY_POLICY);
      next();
    });
    app.use('/queues', board.getRouter() as express.Router);
  } else {
    app.get('/queues', (_request, response) => {
      response.send(
        page(
          'Queues',
          html`<p class="note">
            The queues are not configured: REDIS_URL is not set, so this dashboard has no BullMQ
            queue to show. Runs of the local executor are on the <a href="/runs">runs page</a>.
          </p>`,
        ).text,
      );
    });
  }

  // Bull Board brings its own scripts; the pages below need none.
  const ownPage = (response: Response) =>
    response.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);

  app.get('/', (_request, response) => response.redirect('/runs'));

  app.get('/runs', async (_request, response) => {
    const runs = await readLedger((insights) => insights.runs(WINDOW_SECONDS));
    for (const run of runs) specs.set(run.runId, run.spec);
    ownPage(response).send(runsPage(runs, WINDOW_SECONDS, queueState).text);
  });

  app.get('/runs/:runId', async (request, response) => {
    const runId = request.params.runId;
    const view = await readLedger(async (insights) => {
      const run = await findRun(insights, runId);
      return {
        run,
        timings: await insights.stageTimings(runId),
        failures: await insights.failures(runId, 1),
      };
    });
    ownPage(response).send(runPage(view.run, WINDOW_SECONDS, view.timings, view.failures).text);
  });

  app.get('/runs/:runId/failures', async (request, response) => {
    const runId = request.params.runId;
    const view = await readLedger(async (insights) => ({
      run: await findRun(insights, runId),
      failures: await insights.failures(runId, FAILURES_PER_CODE),
    }));
    ownPage(response).send(failuresPage(view.run, view.failures, FAILURES_PER_CODE).text);
  });

  app.get('/runs/:runId/preview', async (request, response) => {
    const runId = request.params.runId;
    const pageNo = pageNumber(request.query.page);
    const view = await readLedger(async (insights) => ({
      run: await findRun(insights, runId),
      preview: await insights.preview(runId, (pageNo - 1) * PREVIEW_PAGE_SIZE, PREVIEW_PAGE_SIZE),
    }));
    ownPage(response).send(previewPage(view.run, view.preview, pageNo, PREVIEW_PAGE_SIZE).text);
  });

  // Only rendered images of the run's own dataset are served: a whitelisted folder and one
  // plain file name, under the prefix the run wrote to.
  app.get('/runs/:runId/objects/:dir/:file', async (request, response) => {
    const { runId, dir, file } = request.params;
    const type = IMAGE_TYPES[file.slice(file.lastIndexOf('.') + 1)];
    if (!IMAGE_DIRS.has(dir) || type === undefined || file.includes('/')) {
      response.status(404).type('text/plain').send('not an image of a dataset\n');
      return;
    }
    checkObjectKey(file);
    const spec =
      specs.get(runId) ?? (await readLedger((insights) => findRun(insights, runId))).spec;
    const store = await options.openStore(spec.destination);
    const bytes = await store.read(joinKey(spec.prefix, `${dir}/${file}`));
    if (bytes === null) {
      response.status(404).type('text/plain').send('the image is not in the destination\n');
      return;
    }
    response.set('Cache-Control', 'private, max-age=3600').type(type).send(Buffer.from(bytes));
  });

  app.use((error: unknown, _request: Request, response: Response, next: NextFunction) => {
    if (response.headersSent) {
      next(error);
      return;
    }
    const etl = isEtlError(error) ? error : null;
    const status =
      etl === null
        ? 500
        : etl.code === 'RUN_NOT_FOUND'
          ? 404
          : etl.code === 'INVALID_IDENTIFIER'
            ? 400
            : ['STATE_LOCKED', 'STATE_UNAVAILABLE', 'DESTINATION_UNAVAILABLE'].includes(etl.code)
              ? 503
              : 500;
    if (status === 500) {
      logger.error({ err: error }, 'dashboard request failed');
      captureError(error, { command: 'dashboard' });
    }
    const message = etl?.oneLine() ?? 'internal error (see the dashboard log)';
    const hint =
      etl?.code === 'STATE_LOCKED'
        ? 'A run holds the embedded run state while it works; this page works again when it ends. To watch runs live, keep the state in PostgreSQL (STATE_DATABASE_URL).'
        : undefined;
    ownPage(response)
      .status(status)
      .send(errorPage('Unavailable', message, hint).text);
  });

  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why =
        error.code === 'EADDRINUSE'
          ? 'the port is in use'
          : error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND'
            ? 'no network interface of this machine has that address'
            : error.message;
      reject(
        new EtlError('CONFIG_INVALID', `the dashboard cannot listen: ${why}`, {
          subject: `${options.host}:${options.port}`,
          hint: 'choose another --port, or a --host this machine has (127.0.0.1, 0.0.0.0)',
          cause: error,
        }),
      );
    });
    server.listen(options.port, options.host, resolve);
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${shownHost}:${address.port}`;
  if (options.password === undefined) {
    logger.warn(
      `no DASHBOARD_PASSWORD: anyone on this machine can open the dashboard (allowed on ${isLoopbackHost(options.host) ? 'localhost' : options.host} only)`,
    );
  }
  return {
    url,
    async close() {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
