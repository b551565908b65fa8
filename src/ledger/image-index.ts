import type { Exclusion } from '../domain/exclusions.js';
import type { SqlClient } from '../domain/sql.js';

/** The run's index of admitted images, for the duplicate gates. */

/** A rendered image as the duplicate gates compare it. */
export interface ImageToAdmit {
  ordinal: number;
  seriesId: string;
  patientId: string | null;
  fileSha256: string;
  dHash: string;
  thumbnail: string;
}

/** Which duplicate checks a run makes. */
export interface DuplicateChecks {
  exact: boolean;
  /** The near-duplicate decision for an admitted image of another series; null: no check. */
  near: ((admitted: { dHash: string; thumbnail: string }) => string | null) | null;
}

/**
 * The duplicate gates' run-wide check, atomic with the admission of the image: under a table
 * lock (concurrent workers on a shared state database take turns; PGlite has one connection
 * anyway), looks for an admitted image with the same file, so the same pixels (`exact`) or, in
 * another series, one that `near` judges a near duplicate (its dHash bands overlap this one's,
 * so only candidates are judged); returns it, or admits
 * this image and returns null. Of two duplicates the first to get here is delivered. Admitting
 * again (a retried instance) replaces its own entry.
 */
export async function admitImage(
  sql: SqlClient,

  runId: string,
  image: ImageToAdmit,
  checks: DuplicateChecks,
): Promise<Exclusion | null> {
  const BAND_HEX = 8;
  const bands = Array.from(
    { length: image.dHash.length / BAND_HEX },
    (_, band) => `${band}:${image.dHash.slice(band * BAND_HEX, (band + 1) * BAND_HEX)}`,
  );
  return sql.transaction(async (tx) => {
    await tx.exec('LOCK TABLE eden_image_hashes IN SHARE ROW EXCLUSIVE MODE');
    type Match = {
      ordinal: number;
      instance_id: string;
      patient_id: string | null;
      dhash: string;
      thumbnail: string;
    };
    const select = `SELECT h.ordinal, i.instance_id, h.patient_id, h.dhash, h.thumbnail
      FROM eden_image_hashes h
      JOIN eden_items i ON i.run_id = h.run_id AND i.ordinal = h.ordinal
      WHERE h.run_id = $1 AND h.ordinal <> $2`;
    const whose = (match: Match) =>
      match.patient_id !== null && match.patient_id === image.patientId
        ? 'the same patient'
        : 'another patient';
    if (checks.exact) {
      const exact = await tx.query<Match>(
        `${select} AND h.image_sha256 = $3 ORDER BY h.ordinal LIMIT 1`,
        [runId, image.ordinal, image.fileSha256],
      );
      const match = exact.rows[0];
      if (match !== undefined) {
        return {
          reason: 'DUPLICATE_IMAGE',
          detail: `same pixels as instance ${match.instance_id} (${whose(match)})`,
        };
      }
    }
    if (checks.near !== null) {
      const near = await tx.query<Match>(
        `${select} AND h.series_id <> $3 AND h.bands && $4::text[] ORDER BY h.ordinal`,
        [runId, image.ordinal, image.seriesId, bands],
      );
      for (const match of near.rows) {
        const why = checks.near({ dHash: match.dhash, thumbnail: match.thumbnail });
        if (why !== null) {
          return {
            reason: 'NEAR_DUPLICATE',
            detail: `${why} from instance ${match.instance_id} (${whose(match)})`,
          };
        }
      }
    }
    await tx.query(
      `INSERT INTO eden_image_hashes (run_id, ordinal, series_id, patient_id, image_sha256, dhash,
         bands, thumbnail)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (run_id, ordinal) DO UPDATE SET image_sha256 = EXCLUDED.image_sha256,
         dhash = EXCLUDED.dhash, bands = EXCLUDED.bands, patient_id = EXCLUDED.patient_id,
         thumbnail = EXCLUDED.thumbnail`,
      [
        runId,
        image.ordinal,
        image.seriesId,
        image.patientId,
        image.fileSha256,
        image.dHash,
        bands,
        image.thumbnail,
      ],
    );
    return null;
  });
}
