import { setTimeout as sleep } from 'node:timers/promises';
import { asEtlError, EtlError } from '../domain/errors.js';
import { RetryAfterError } from '../extract/http-fetcher.js';
import type { PendingItem, StoredImage, StoredRecord } from '../ledger/ledger.js';
import { CONTENT_TYPES, type DatasetKeys } from '../load/object-keys.js';
import type { PipelineContext } from './context.js';
import type { RunSpec } from './run-spec.js';

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

export const LOCAL_RETRY_POLICY: RetryPolicy = { attempts: 3, baseDelayMs: 500 };

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
  status: 'delivered' | 'failed';
  /** Bytes of the objects stored for the instance (written or found already there). */
  bytes: number;
}

/**
 * Fetch → render → store → record, for one instance. Instance failures are recorded in the
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
  let attempts = item.attempts;
  for (;;) {
    attempts += 1;
    let dicom: StoredRecord | null = null;
    try {
      const dicomKey = keys.dicom(item.instanceId).full;
      const bytes = await ctx.fetcher.fetch(item);
      const rendered = await ctx.renderer.renderFrames(bytes, spec.render);
      if (!rendered.ok && !DELIVER_DICOM_ANYWAY.has(rendered.error.code)) throw rendered.error;
      dicom = await ctx.store.create(dicomKey, rendered.dicom, CONTENT_TYPES.dicom);
      if (!rendered.ok) throw rendered.error;
      const format = spec.render.format ?? 'jpeg';
      const everyFrame = spec.render.frames === 'all';
      const images: StoredImage[] = [];
      for (const image of rendered.images) {
        const { frame } = image.recipe;
        const key = keys.image(item.instanceId, format, everyFrame ? frame : null).full;
        images.push({
          ...(await ctx.store.create(key, image.bytes, CONTENT_TYPES[format])),
          frame,
        });
      }
      await ctx.ledger.recordOutcome(runId, item.ordinal, {
        status: 'delivered',
        attempts,
        dicom,
        images,
        recipe: rendered.images[0]?.recipe ?? null,
        error: null,
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
        error: located,
      });
      return { status: 'failed', bytes: dicom?.size ?? 0 };
    }
  }
}
