import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EtlError } from '../domain/errors.js';
import type { SqlClient } from '../domain/sql.js';
import { PACS_SCHEMA_SQL } from './pacs-schema.js';
import { renderStudyFiles } from './study-files.js';
import {
  DELETED_STUDY_ORDINAL,
  GENERATOR_VERSION,
  planStudy,
  type PlannedStudy,
} from './study-plan.js';

/**
 * The built-in sample PACS: a database in the reference PACS schema plus the DICOM files its
 * rows point to, generated deterministically from a seed. Study k depends only on (seed, k),
 * so asking for more studies later adds exactly the missing ones.
 */

export interface SamplePacsOptions {
  /** Root directory; DICOM files go in `${dir}/files/...`. */
  dir: string;
  /** Live (not deleted) studies wanted; one extra study marked deleted is always added. */
  studies: number;
  seed: number;
  /**
   * Where the files are served from, e.g. `https://pacs.example/files/`: file_url becomes this
   * URL followed by file_path. Default: the files' own `file://` URL.
   */
  baseUrl?: string;
}

export interface SamplePacsSummary {
  /** False when the existing sample PACS was reused as is and no file was written. */
  created: boolean;
  /** The counts below describe the whole database, which may hold more than was asked for. */
  studies: number;
  deletedStudies: number;
  series: number;
  instances: number;
  reportFields: number;
  /** Total size of the DICOM files. */
  bytes: number;
}

export const SAMPLE_PACS_DEFAULTS = { studies: 8, seed: 1 } as const;

const MAX_STUDIES = 10_000;

const META_SQL = `
CREATE TABLE IF NOT EXISTS sample_pacs_meta (
  singleton         boolean PRIMARY KEY DEFAULT TRUE CHECK (singleton),
  generator_version integer NOT NULL,
  seed              bigint NOT NULL,
  studies           integer NOT NULL,
  updated_at        timestamptz NOT NULL DEFAULT now()
);
`;

interface Meta {
  generatorVersion: number;
  seed: number;
  /** Highest live ordinal generated; 0 when only the deleted study exists. */
  studies: number;
}

function validate(options: SamplePacsOptions): SamplePacsOptions {
  const problems: string[] = [];
  if (typeof options.dir !== 'string' || options.dir.trim() === '') {
    problems.push(`dir: received ${JSON.stringify(options.dir)}, expected a directory path`);
  }
  if (!Number.isInteger(options.studies) || options.studies < 1 || options.studies > MAX_STUDIES) {
    problems.push(
      `studies: received ${String(options.studies)}, expected an integer from 1 to ${MAX_STUDIES}`,
    );
  }
  if (options.baseUrl !== undefined && !/^(https?|file):\/\/\S+$/.test(options.baseUrl)) {
    problems.push(
      `baseUrl: received ${JSON.stringify(options.baseUrl)}, expected an http(s):// or file:// URL`,
    );
  }
  if (!Number.isSafeInteger(options.seed) || options.seed < 0) {
    problems.push(`seed: received ${String(options.seed)}, expected a non-negative integer`);
  }
  if (problems.length > 0) {
    throw new EtlError('CONFIG_INVALID', `invalid sample PACS options: ${problems.join('; ')}`, {
      hint: 'fix the listed options',
    });
  }
  return { ...options, dir: resolve(options.dir) };
}

async function readMeta(db: SqlClient): Promise<Meta | undefined> {
  const { rows } = await db.query<{
    generator_version: number;
    seed: number | string;
    studies: number;
  }>('SELECT generator_version, seed, studies FROM sample_pacs_meta');
  const row = rows[0];
  if (row === undefined) return undefined;
  return { generatorVersion: row.generator_version, seed: Number(row.seed), studies: row.studies };
}

async function countRows(db: SqlClient): Promise<Omit<SamplePacsSummary, 'created'>> {
  const { rows } = await db.query<
    Record<keyof Omit<SamplePacsSummary, 'created'>, number | string>
  >(`
    SELECT
      (SELECT count(*) FROM pacs_studies WHERE NOT deleted)::int AS studies,
      (SELECT count(*) FROM pacs_studies WHERE deleted)::int AS "deletedStudies",
      (SELECT count(*) FROM pacs_series)::int AS series,
      (SELECT count(*) FROM pacs_instances)::int AS instances,
      (SELECT count(*) FROM pacs_report_fields)::int AS "reportFields",
      (SELECT coalesce(sum(file_size), 0) FROM pacs_instances)::bigint AS bytes
  `);
  const row = rows[0];
  if (row === undefined) throw new EtlError('INTERNAL', 'sample PACS count query returned no row');
  return {
    studies: Number(row.studies),
    deletedStudies: Number(row.deletedStudies),
    series: Number(row.series),
    instances: Number(row.instances),
    reportFields: Number(row.reportFields),
    bytes: Number(row.bytes),
  };
}

async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, bytes);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function insertStudy(
  db: SqlClient,
  study: PlannedStudy,
  sizes: ReadonlyMap<string, number>,
  filesUrl: string,
  seed: number,
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO pacs_studies (id, study_instance_uid, patient_id, patient_name, patient_sex,
         patient_birth_date, accession_number, study_date, study_description, modality, body_part,
         deleted, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'CHEST', $11, $12)`,
      [
        study.id,
        study.uid,
        study.patient.id,
        study.patient.name,
        study.patient.sex,
        study.patient.birthDate,
        study.accessionNumber,
        study.date,
        study.description,
        study.modality,
        study.deleted,
        study.createdAt,
      ],
    );
    for (const series of study.series) {
      await tx.query(
        `INSERT INTO pacs_series (id, study_id, series_instance_uid, series_number, modality,
           body_part, series_description)
         VALUES ($1, $2, $3, $4, $5, 'CHEST', $6)`,
        [series.id, study.id, series.uid, series.number, study.modality, series.description],
      );
      for (const instance of series.instances) {
        await tx.query(
          `INSERT INTO pacs_instances (id, series_id, sop_instance_uid, sop_class_uid,
             instance_number, file_path, file_url, file_size)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [
            instance.id,
            series.id,
            instance.sopInstanceUid,
            instance.sopClassUid ?? study.sopClassUid,
            instance.instanceNumber,
            instance.filePath,
            filesUrl + instance.filePath,
            sizes.get(instance.sopInstanceUid),
          ],
        );
      }
    }
    for (const field of study.reportFields) {
      await tx.query(
        `INSERT INTO pacs_report_fields (id, study_id, name, value, created_at)
         VALUES ($1, $2, $3, $4, $5)`,
        [field.id, study.id, field.name, field.value, field.createdAt],
      );
    }
    await tx.query(
      `INSERT INTO sample_pacs_meta (generator_version, seed, studies) VALUES ($1, $2, $3)
       ON CONFLICT (singleton) DO UPDATE
         SET generator_version = EXCLUDED.generator_version, seed = EXCLUDED.seed,
             studies = EXCLUDED.studies, updated_at = now()`,
      [GENERATOR_VERSION, seed, study.ordinal],
    );
  });
}

/**
 * Throws unless the database is empty or holds a sample PACS; drops a sample PACS made with
 * another seed or generator version. Returns the sample PACS that can be kept, if any.
 */
async function reusableMeta(
  db: SqlClient,
  filesDir: string,
  seed: number,
): Promise<Meta | undefined> {
  const meta = await readMeta(db);
  if (meta === undefined) {
    const { rows } = await db.query<{ count: number }>(
      'SELECT count(*)::int AS count FROM pacs_studies',
    );
    if ((rows[0]?.count ?? 0) > 0) {
      throw new EtlError(
        'CONFIG_INVALID',
        'the database holds PACS studies the sample generator did not create',
        {
          hint: 'give the sample PACS its own database and directory; it never modifies a foreign PACS',
        },
      );
    }
    return undefined;
  }
  if (meta.seed === seed && meta.generatorVersion === GENERATOR_VERSION) return meta;
  // Files first: if we die in between, the meta row still says "stale" and the next run retries.
  await rm(filesDir, { recursive: true, force: true });
  await db.transaction(async (tx) => {
    await tx.exec(
      'DELETE FROM pacs_report_fields; DELETE FROM pacs_instances; DELETE FROM pacs_series; DELETE FROM pacs_studies; DELETE FROM sample_pacs_meta;',
    );
  });
  return undefined;
}

interface Repair {
  study: PlannedStudy;
  /** file_path of each file to rewrite; the intact ones are left alone. */
  paths: Set<string>;
}

/** Generated studies with a file missing or of the wrong size on disk. */
async function studiesNeedingFiles(
  db: SqlClient,
  filesDir: string,
  seed: number,
  meta: Meta,
): Promise<Repair[]> {
  const { rows } = await db.query<{
    study_id: number | string;
    file_path: string;
    file_size: number | string;
  }>(`
    SELECT st.id AS study_id, i.file_path, i.file_size
    FROM pacs_instances i
    JOIN pacs_series se ON se.id = i.series_id
    JOIN pacs_studies st ON st.id = se.study_id
  `);
  const damaged = new Map<number, Set<string>>();
  for (const row of rows) {
    if ((await fileSize(join(filesDir, row.file_path))) === Number(row.file_size)) continue;
    const studyId = Number(row.study_id);
    damaged.set(studyId, (damaged.get(studyId) ?? new Set()).add(row.file_path));
  }
  if (damaged.size === 0) return [];
  const repairs: Repair[] = [];
  for (let ordinal = DELETED_STUDY_ORDINAL; ordinal <= meta.studies; ordinal += 1) {
    const study = planStudy(seed, ordinal);
    const paths = damaged.get(study.id);
    if (paths !== undefined) repairs.push({ study, paths });
  }
  return repairs;
}

/**
 * Makes sure `options.dir` holds a sample PACS of at least `options.studies` live studies
 * (plus one deleted study) generated from `options.seed`, and that `db` describes it.
 *
 * - Nothing to do (same seed and generator version, enough studies, every file present with
 *   its recorded size): returns `created: false` and writes no file.
 * - Fewer studies: generates only the missing ones; missing or truncated files are rewritten.
 * - Another seed or generator version: the old sample PACS is dropped and regenerated.
 * - A database holding studies the generator did not create is never touched (CONFIG_INVALID).
 *
 * Files are written to a temporary name and renamed, each study's rows are committed in one
 * transaction after its files exist, so an interrupted run leaves nothing half-written that a
 * rerun would trust. `onProgress(done, total)` counts studies written (the deleted one included)
 * and is not called when there is nothing to do.
 */
export async function ensureSamplePacs(
  db: SqlClient,
  options: SamplePacsOptions,
  onProgress?: (done: number, total: number) => void,
): Promise<SamplePacsSummary> {
  const { dir, studies, seed, baseUrl } = validate(options);
  const filesDir = join(dir, 'files');
  const filesUrl =
    baseUrl === undefined
      ? pathToFileURL(`${filesDir}/`).href
      : baseUrl.endsWith('/')
        ? baseUrl
        : `${baseUrl}/`;
  await db.exec(PACS_SCHEMA_SQL + META_SQL);

  const meta = await reusableMeta(db, filesDir, seed);
  let created = meta === undefined || meta.studies < studies;
  const repairs = meta === undefined ? [] : await studiesNeedingFiles(db, filesDir, seed, meta);
  const firstNew = meta === undefined ? DELETED_STUDY_ORDINAL : meta.studies + 1;
  const additions: PlannedStudy[] = [];
  for (let ordinal = firstNew; ordinal <= studies; ordinal += 1)
    additions.push(planStudy(seed, ordinal));

  const total = repairs.length + additions.length;
  let done = 0;
  const writeFiles = async (
    study: PlannedStudy,
    only?: Set<string>,
  ): Promise<Map<string, number>> => {
    const sizes = new Map<string, number>();
    for (const file of renderStudyFiles(study)) {
      if (only !== undefined && !only.has(file.instance.filePath)) continue;
      await writeAtomically(join(filesDir, file.instance.filePath), file.bytes);
      sizes.set(file.instance.sopInstanceUid, file.bytes.length);
    }
    return sizes;
  };

  for (const { study, paths } of repairs) {
    await writeFiles(study, paths);
    created = true;
    done += 1;
    onProgress?.(done, total);
  }
  for (const study of additions) {
    const sizes = await writeFiles(study);
    await insertStudy(db, study, sizes, filesUrl, seed);
    done += 1;
    onProgress?.(done, total);
  }

  // The directory (or the server) may have moved since the rows were written; file_url follows.
  await db.query(
    `UPDATE pacs_instances SET file_url = $1 || file_path WHERE file_url IS DISTINCT FROM $1 || file_path`,
    [filesUrl],
  );
  return { created, ...(await countRows(db)) };
}
