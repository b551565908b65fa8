import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { InstanceAttributes } from '../domain/dataset.js';
import { burnedInRisk } from '../deid/burned-in-risk.js';
import { asEtlError, EtlError, RetryAfterError } from '../domain/errors.js';
import type { PendingItem, StageTimings, StoredImage, StoredRecord } from '../ledger/ledger.js';
import { CONTENT_TYPES, type DatasetKeys } from '../dataset/object-keys.js';
import { NEAR_DUPLICATE } from '../domain/quality-gates.js';
import { firstExclusion, gatesNeedImageStats, instanceGates } from '../quality/quality-gates.js';
import { nearDuplicateOf } from '../quality/near-duplicates.js';
import type { PipelineContext } from './context.js';
import { fetchAndRender, storeImages } from './render-instance.js';
import type { RunSpec } from '../domain/run-spec.js';

export interface RetryPolicy {
  /** Tries per instance for transient errors (network, busy disk), including the first. */
  attempts: number;
  /** Delay before the first retry, doubled each time, with ±50% jitter. In ms. */
  baseDelayMs: number;
  /**
   * Once the tries are spent on a transient error, throw it and leave the instance pending
   * instead of recording it failed: a queue job retries its batch later (with a longer backoff).
   */
  deferTransient?: boolean;
}

/** Delay before an instance's first retry, doubled for each next one. In ms. */
export const RETRY_BASE_DELAY_MS = 1000;

/** Errors after which the DICOM is still worth delivering: the file is fine, its image is not. */
const DELIVER_DICOM_ANYWAY = new Set(['UNSUPPORTED_IMAGE', 'NOT_AN_IMAGE']);

/**
 * Errors that mean the destination itself is unusable (disk full, no permission): every
 * other instance would fail the same way, so the run stops and the item stays pending.
 */
function stopsTheRun(error: EtlError): boolean {
  return (
    (error.code === 'STORE_FAILED' && !error.retryable) || error.code === 'DESTINATION_UNAVAILABLE'
  );
}

export interface ItemResult {
  status: 'delivered' | 'failed' | 'excluded';
  /** Bytes of the objects stored for the instance (written or found already there). */
  bytes: number;
}

/**
 * Fetch → render → quality gates → store → record, for one instance. An instance a gate
 * excludes is recorded as excluded with its reason and nothing of it is stored. Instance failures are recorded in the
 * ledger and returned, never thrown; only errors that stop the whole run are thrown.
 * Exactly once: objects are created only if absent (same bytes already there counts as
 * delivered), and the ledger row changes only from pending, so a rerun after a crash
 * delivers what is missing and writes nothing twice.
 */
export async function processItem(
  ctx: PipelineContext,
  runId: string,
  spec: RunSpec,
  keys: DatasetKeys,
  item: PendingItem,
  retry: RetryPolicy,
): Promise<ItemResult> {
  const subject = `instance ${item.instanceId}`;
  // Never deliver a de-identifying run's files as they are: its key must be at hand.
  if (spec.deid !== undefined && ctx.deid === undefined) {
    throw new EtlError(
      'INTERNAL',
      'this run de-identifies but no de-identification key was given',
      {
        subject,
        hint: 'set SECRET_KEY to the key the run started with',
      },
    );
  }
  // De-identifying, the files are named by pseudonym; the ledger keeps the map for the CSV.
  const pseudonyms = ctx.deid?.pseudonymizer;
  const name = pseudonyms?.pseudonym('instance', item.instanceId) ?? item.instanceId;
  if (pseudonyms !== undefined) {
    await ctx.ledger.recordPseudonyms(runId, [
      { kind: 'study', real: item.studyId, pseudonym: pseudonyms.pseudonym('study', item.studyId) },
      {
        kind: 'series',
        real: item.seriesId,
        pseudonym: pseudonyms.pseudonym('series', item.seriesId),
      },
      { kind: 'instance', real: item.instanceId, pseudonym: name },
    ]);
  }
  const { quality } = spec;
  const gates = instanceGates(quality.gates, quality);
  const extras = { deid: ctx.deid?.options, stats: gatesNeedImageStats(quality.gates) };
  let attempts = item.attempts;
  for (;;) {
    attempts += 1;
    let dicom: StoredRecord | null = null;
    let attributes: InstanceAttributes | null = null;
    // Per stage, for the dashboard's timings; a failed attempt keeps the stages it reached.
    const timings: StageTimings = {};
    let mark = performance.now();
    const lap = (stage: keyof StageTimings) => {
      const now = performance.now();
      timings[stage] = Math.round(now - mark);
      mark = now;
    };
    try {
      const dicomKey = keys.dicom(name).full;
      const rendered = await fetchAndRender(ctx, item, spec.render, extras, lap);
      ({ attributes } = rendered);
      if (rendered.phi !== null) {
        await ctx.ledger.recordPhi(runId, item.ordinal, item.studyId, rendered.phi);
      }
      if (!rendered.ok && !DELIVER_DICOM_ANYWAY.has(rendered.error.code)) throw rendered.error;
      const stats = (rendered.ok ? rendered.images[0]?.stats : undefined) ?? null;
      // De-identifying, images that may carry burned-in patient data stay in the hospital.
      const quarantined =
        spec.deid?.quarantine === true && attributes !== null ? burnedInRisk(attributes) : null;
      let exclusion =
        quarantined ?? firstExclusion(gates, { attributes, stats, reportValue: item.reportValue });
      const exact = quality.gates.includes('duplicate');
      const near = quality.gates.includes('near-duplicate');
      if (exclusion === null && stats !== null && (exact || near)) {
        exclusion = await ctx.ledger.admitImage(
          runId,
          {
            ordinal: item.ordinal,
            seriesId: item.seriesId,
            patientId: attributes?.patientId ?? null,
            fileSha256: stats.fileSha256,
            dHash: stats.dHash,
            thumbnail: stats.thumbnail,
          },
          { exact, near: near ? nearDuplicateOf(stats, NEAR_DUPLICATE) : null },
        );
      }
      if (exclusion !== null) {
        ctx.logger.debug(
          { instanceId: item.instanceId, reason: exclusion.reason },
          exclusion.detail,
        );
        await ctx.ledger.recordOutcome(runId, item.ordinal, {
          status: 'excluded',
          attempts,
          dicom: null,
          images: [],
          recipe: rendered.ok ? (rendered.images[0]?.recipe ?? null) : null,
          attributes,
          error: null,
          timings,
          exclusion,
        });
        return { status: 'excluded', bytes: 0 };
      }
      dicom = await ctx.store.create(dicomKey, rendered.dicom, CONTENT_TYPES.dicom);
      if (!rendered.ok) throw rendered.error;
      const images: StoredImage[] = await storeImages(
        rendered.images,
        spec.render,
        (frame) => keys.image(name, spec.render.format, frame).full,
        (key, bytes, contentType) => ctx.store.create(key, bytes, contentType),
      );
      lap('store');
      await ctx.ledger.recordOutcome(runId, item.ordinal, {
        status: 'delivered',
        attempts,
        dicom,
        images,
        recipe: rendered.images[0]?.recipe ?? null,
        attributes: rendered.attributes,
        error: null,
        timings,
      });
      const imageBytes = images.reduce((sum, image) => sum + image.size, 0);
      return { status: 'delivered', bytes: dicom.size + imageBytes };
    } catch (thrown) {
      const error = asEtlError(thrown, 'INTERNAL', subject);
      const located =
        error.subject === undefined
          ? new EtlError(error.code, error.message, {
              subject,
              hint: error.hint,
              retryable: error.retryable,
              cause: error,
            })
          : error;
      if (stopsTheRun(located)) throw located;
      if (located.retryable && attempts - item.attempts < retry.attempts) {
        const backoff = retry.baseDelayMs * 2 ** (attempts - item.attempts - 1);
        // A server's Retry-After is a floor under the jittered backoff.
        const floor = located instanceof RetryAfterError ? located.retryAfterMs : 0;
        const delay = Math.max(backoff * (0.5 + Math.random()), floor);
        ctx.logger.warn(
          { instanceId: item.instanceId, code: located.code, attempt: attempts },
          `retrying in ${Math.round(delay)} ms: ${located.oneLine()}`,
        );
        await sleep(delay);
        continue;
      }
      if (located.retryable && retry.deferTransient === true) throw located;
      ctx.logger.debug({ instanceId: item.instanceId, code: located.code }, located.oneLine());
      await ctx.ledger.recordOutcome(runId, item.ordinal, {
        status: 'failed',
        attempts,
        dicom,
        images: [],
        recipe: null,
        attributes,
        error: located,
        timings,
      });
      return { status: 'failed', bytes: dicom?.size ?? 0 };
    }
  }
}
