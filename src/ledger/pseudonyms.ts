import type { DeidPhi, PhiFacts, PseudonymPair } from '../domain/deid.js';
import type { SqlClient } from '../domain/sql.js';

/**
 * What de-identification leaves in the run state, never in the dataset: the real → pseudonym map
 * and each instance's original header facts (to scrub its study's report at finalize).
 */

/** Adds real → pseudonym pairs to the run's map (a pair already there is left as it is). */
export async function recordPseudonyms(
  sql: SqlClient,
  runId: string,
  pairs: readonly PseudonymPair[],
): Promise<void> {
  if (pairs.length === 0) return;
  await sql.query(
    `INSERT INTO eden_deid_map (run_id, kind, real_value, pseudonym)
     SELECT $1, t.kind, t.real_value, t.pseudonym
     FROM unnest($2::text[], $3::text[], $4::text[]) AS t (kind, real_value, pseudonym)
     ON CONFLICT (run_id, kind, real_value) DO NOTHING`,
    [
      runId,
      pairs.map((pair) => pair.kind),
      pairs.map((pair) => pair.real),
      pairs.map((pair) => pair.pseudonym),
    ],
  );
}

/** Keeps what a de-identified instance's original header said, and the pseudonyms it used. */
export async function recordPhi(
  sql: SqlClient,
  runId: string,
  ordinal: number,
  studyId: string,
  phi: DeidPhi,
): Promise<void> {
  await sql.query(
    `INSERT INTO eden_deid_facts (run_id, ordinal, study_id, facts) VALUES ($1, $2, $3, $4)
     ON CONFLICT (run_id, ordinal) DO UPDATE SET facts = EXCLUDED.facts`,
    [runId, ordinal, studyId, JSON.stringify(phi.facts)],
  );
  await recordPseudonyms(sql, runId, phi.pseudonyms);
}

/** The run's real → pseudonym map, for the data steward (`eden-etl deid-map`). */
export async function deidMap(sql: SqlClient, runId: string): Promise<PseudonymPair[]> {
  const { rows } = await sql.query<{ kind: string; real_value: string; pseudonym: string }>(
    `SELECT kind, real_value, pseudonym FROM eden_deid_map WHERE run_id = $1
     ORDER BY kind, real_value`,
    [runId],
  );
  return rows.map((row) => ({ kind: row.kind, real: row.real_value, pseudonym: row.pseudonym }));
}

/** Each de-identified instance's header facts with its study, in selection order. */
export async function phiFacts(
  sql: SqlClient,
  runId: string,
): Promise<{ studyId: string; facts: PhiFacts }[]> {
  const { rows } = await sql.query<{ study_id: string; facts: PhiFacts }>(
    'SELECT study_id, facts FROM eden_deid_facts WHERE run_id = $1 ORDER BY ordinal',
    [runId],
  );
  return rows.map((row) => ({ studyId: row.study_id, facts: row.facts }));
}
