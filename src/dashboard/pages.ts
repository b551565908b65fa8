import { ERROR_CODES } from '../domain/errors.js';
import type {
  FailureGroup,
  PreviewItem,
  RunOverview,
  StageTiming,
} from '../ledger/run-insights.js';
import { formatBytes, formatClock } from '../observability/human-units.js';
import { redactUrl } from '../domain/redact.js';
import { html, page, type Html } from './html.js';
import { runProgress } from './run-progress.js';

/** Whether the queues can be shown, for the banner of the runs page. */
export type QueueState = { configured: true; prefix: string } | { configured: false };

const runLink = (runId: string, suffix = '') => `/runs/${encodeURIComponent(runId)}${suffix}`;

function rateText(rate: number | null): string {
  return rate === null ? '–' : `${rate.toFixed(2)}/s`;
}

function etaText(eta: number | null): string {
  return eta === null ? '–' : formatClock(eta);
}

function progressBar(run: RunOverview): Html {
  const width = (count: number) => (run.total === 0 ? 0 : (100 * count) / run.total).toFixed(1);
  return html`<div
    class="bar"
    title="${run.delivered} delivered, ${run.failed} failed of ${run.total}"
  >
    <div class="ok" style="width:${width(run.delivered)}%"></div>
    <div class="bad" style="width:${width(run.failed)}%"></div>
  </div>`;
}

function queueBanner(queues: QueueState): Html {
  return queues.configured
    ? html`<p class="note">
        Queues: BullMQ on Redis (key prefix <code>${queues.prefix}</code>) —
        <a href="/queues">open the queue board</a> for batches waiting, active, delayed and failed.
      </p>`
    : html`<p class="note">
        The queues are not configured (REDIS_URL is not set): runs of the local executor are shown
        from the ledger; set REDIS_URL to watch the distributed queues too.
      </p>`;
}

export function runsPage(runs: RunOverview[], windowSeconds: number, queues: QueueState): Html {
  const rows = runs.map((run) => {
    const progress = runProgress(run, windowSeconds);
    return html`<tr data-run="${run.runId}">
      <td>
        <a href="${runLink(run.runId)}"><code>${run.runId}</code></a>
      </td>
      <td>${progress.state}</td>
      <td>${run.createdAt.replace('T', ' ').slice(0, 19)}</td>
      <td>${run.spec.destination}/${run.spec.prefix}</td>
      <td class="num" data-field="total">${run.total}</td>
      <td class="num" data-field="delivered">${run.delivered}</td>
      <td class="num" data-field="failed">
        ${run.failed === 0 ? '0' : html`<a href="${runLink(run.runId, '/failures')}">${run.failed}</a>`}
      </td>
      <td class="num" data-field="excluded">${run.excluded}</td>
      <td class="num" data-field="pending">${run.pending}</td>
      <td>${progressBar(run)} ${progress.percent.toFixed(1)}%</td>
      <td class="num">${rateText(progress.rate)}</td>
      <td class="num">${etaText(progress.eta)}</td>
      <td class="num">${formatBytes(run.bytes)}</td>
    </tr>`;
  });
  const table =
    runs.length === 0
      ? html`<p>No run in the state database yet.</p>`
      : html`<table>
          <thead>
            <tr>
              <th>run</th>
              <th>state</th>
              <th>created (UTC)</th>
              <th>destination</th>
              <th class="num">instances</th>
              <th class="num">delivered</th>
              <th class="num">failed</th>
              <th class="num">excluded</th>
              <th class="num">pending</th>
              <th>progress</th>
              <th class="num">rate</th>
              <th class="num">ETA</th>
              <th class="num">stored</th>
            </tr>
          </thead>
          <tbody>
            ${rows}
          </tbody>
        </table>`;
  return page('Runs', html`${queueBanner(queues)}${table}`);
}

export function runPage(
  run: RunOverview,
  windowSeconds: number,
  timings: StageTiming[],
  failures: FailureGroup[],
): Html {
  const progress = runProgress(run, windowSeconds);
  const facts = html`<div class="facts">
      <span>state</span><span data-field="state">${progress.state}</span> <span>instances</span
      ><span data-field="total">${run.total}</span> <span>delivered</span
      ><span data-field="delivered">${run.delivered}</span> <span>failed</span
      ><span data-field="failed">${run.failed}</span> <span>excluded</span
      ><span data-field="excluded">${run.excluded}</span> <span>pending</span
      ><span data-field="pending">${run.pending}</span> <span>retried</span
      ><span>${run.retried} instances took more than one attempt</span> <span>progress</span
      ><span>${progressBar(run)} ${progress.percent.toFixed(1)}%</span> <span>rate</span
      ><span>${rateText(progress.rate)} instances</span> <span>ETA</span
      ><span>${etaText(progress.eta)}</span> <span>stored</span
      ><span>${formatBytes(run.bytes)}</span> <span>source</span
      ><span><code>${run.spec.source}</code></span> <span>query</span
      ><span
        ><code>${run.spec.query.name}</code>, ${run.spec.queryParameters.studies} studies, seed
        ${run.spec.queryParameters.seed}</span
      >
      <span>destination</span><span><code>${run.spec.destination}/${run.spec.prefix}</code></span>
      <span>created</span><span>${run.createdAt}</span> <span>finished</span
      ><span>${run.finishedAt ?? '–'}</span>
    </div>
    <p>
      <a href="${runLink(run.runId, '/preview')}">Dataset preview</a> ·
      <a href="${runLink(run.runId, '/failures')}">Failures (${run.failed})</a>
    </p>`;
  const timingTable =
    timings.length === 0
      ? html`<p>No stage timings recorded.</p>`
      : html`<table>
          <thead>
            <tr>
              <th>stage</th>
              <th class="num">instances</th>
              <th class="num">mean ms</th>
              <th class="num">p50 ms</th>
              <th class="num">p95 ms</th>
              <th class="num">max ms</th>
            </tr>
          </thead>
          <tbody>
            ${timings.map(
              (timing) =>
                html`<tr>
                  <td>${timing.stage}</td>
                  <td class="num">${timing.count}</td>
                  <td class="num">${timing.meanMs.toFixed(1)}</td>
                  <td class="num">${timing.p50Ms.toFixed(0)}</td>
                  <td class="num">${timing.p95Ms.toFixed(0)}</td>
                  <td class="num">${timing.maxMs.toFixed(0)}</td>
                </tr>`,
            )}
          </tbody>
        </table>`;
  const failureTable =
    failures.length === 0
      ? html`<p>No failure.</p>`
      : html`<table>
          <thead>
            <tr>
              <th>code</th>
              <th class="num">instances</th>
              <th>meaning</th>
              <th>first reason</th>
            </tr>
          </thead>
          <tbody>
            ${failures.map(
              (group) =>
                html`<tr>
                  <td>
                    <a href="${runLink(run.runId, `/failures#${group.code}`)}">${group.code}</a>
                  </td>
                  <td class="num">${group.count}</td>
                  <td>${ERROR_CODES[group.code]?.summary ?? ''}</td>
                  <td>${group.instances[0]?.message ?? ''}</td>
                </tr>`,
            )}
          </tbody>
        </table>`;
  return page(
    `Run ${run.runId}`,
    html`${facts}
      <h2>Time per stage</h2>
      ${timingTable}
      <h2>Failures by code</h2>
      ${failureTable}`,
  );
}

export function failuresPage(run: RunOverview, failures: FailureGroup[], limit: number): Html {
  const sections = failures.map(
    (group) =>
      html`<h2 id="${group.code}">
          ${group.code}: ${group.count} — ${ERROR_CODES[group.code]?.summary ?? ''}
        </h2>
        <table data-code="${group.code}">
          <thead>
            <tr>
              <th>instance</th>
              <th>study</th>
              <th class="num">attempts</th>
              <th>reason</th>
              <th>file</th>
            </tr>
          </thead>
          <tbody>
            ${group.instances.map(
              (failure) =>
                html`<tr>
                  <td><code>${failure.instanceId}</code></td>
                  <td><code>${failure.studyId}</code></td>
                  <td class="num">${failure.attempts}</td>
                  <td>${failure.message}</td>
                  <td><code>${redactUrl(failure.fileUrl ?? failure.filePath ?? '')}</code></td>
                </tr>`,
            )}
          </tbody>
        </table>
        ${group.count > group.instances.length ? html`<p>… and ${group.count - group.instances.length} more (the first ${limit} are shown; <code>failures.csv</code> in the dataset lists them all).</p>` : ''}`,
  );
  return page(
    `Failures of run ${run.runId}`,
    html`<p>
        <a href="${runLink(run.runId)}">Back to the run</a> · ${run.failed} of ${run.total}
        instances failed.
      </p>
      ${failures.length === 0 ? html`<p>No failure.</p>` : sections}`,
  );
}

export function previewPage(
  run: RunOverview,
  preview: { total: number; items: PreviewItem[] },
  pageNo: number,
  pageSize: number,
): Html {
  const pages = Math.max(1, Math.ceil(preview.total / pageSize));
  const prefix = run.spec.prefix === '' ? '' : `${run.spec.prefix}/`;
  const cards = preview.items.flatMap((item) =>
    item.images.map((image) => {
      const relative = image.key.startsWith(prefix) ? image.key.slice(prefix.length) : image.key;
      const src = runLink(
        run.runId,
        `/objects/${relative.split('/').map(encodeURIComponent).join('/')}`,
      );
      return html`<figure class="card" data-instance="${item.instanceId}">
        <img
          src="${src}"
          alt="instance ${item.instanceId}${item.images.length > 1 ? ` frame ${image.frame}` : ''}"
          loading="lazy"
        />
        <figcaption>
          <code>${item.instanceId}</code>${item.images.length > 1 ? ` frame ${image.frame}` : ''} ·
          study <code>${item.studyId}</code>
        </figcaption>
        <p>${item.reportValue}</p>
      </figure>`;
    }),
  );
  const link = (target: number, label: string) =>
    target < 1 || target > pages
      ? html`<span>${label}</span>`
      : html`<a href="${runLink(run.runId, `/preview?page=${target}`)}">${label}</a>`;
  const nav = html`<p>
    ${link(pageNo - 1, '← previous')} · page ${pageNo} of ${pages} (${preview.total} instances with
    images) · ${link(pageNo + 1, 'next →')}
  </p>`;
  return page(
    `Preview of run ${run.runId}`,
    html`<p><a href="${runLink(run.runId)}">Back to the run</a></p>
      ${nav}
      ${cards.length === 0 ? html`<p>No rendered image on this page.</p>` : html`<div class="cards">${cards}</div>`}${nav}`,
  );
}

export function errorPage(title: string, message: string, hint: string | undefined): Html {
  return page(
    title,
    html`<p class="error">${message}</p>
      ${hint === undefined ? '' : html`<p>${hint}</p>`}`,
  );
}
