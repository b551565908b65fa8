/**
 * The reference PACS schema: the tables the original system's query reads
 * (`pacs_studies ... WHERE deleted = FALSE`), as the sample PACS and the tests use them. Plain
 * PostgreSQL that runs on PGlite and on a real server alike; idempotent, so loading it twice
 * is harmless.
 *
 * Ids are bigint, as in the PACS it mirrors. node-postgres returns int8 as a string, PGlite as
 * a JavaScript number; the sample ids stay below 2^53 (seven digits), so `Number(id)` is exact
 * for both, and SQL that compares ids should compare them as bigint, never as text.
 */
export const PACS_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS pacs_studies (
  id                 bigint PRIMARY KEY,
  study_instance_uid text NOT NULL UNIQUE,
  patient_id         text,
  patient_name       text,
  patient_sex        text,
  patient_birth_date date,
  accession_number   text,
  study_date         date,
  study_description  text,
  modality           text,
  body_part          text,
  deleted            boolean NOT NULL DEFAULT FALSE,
  created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS pacs_series (
  id                  bigint PRIMARY KEY,
  study_id            bigint NOT NULL REFERENCES pacs_studies (id),
  series_instance_uid text NOT NULL UNIQUE,
  series_number       integer,
  modality            text,
  body_part           text,
  series_description  text
);
CREATE INDEX IF NOT EXISTS pacs_series_study_id_idx ON pacs_series (study_id);

CREATE TABLE IF NOT EXISTS pacs_instances (
  id               bigint PRIMARY KEY,
  series_id        bigint NOT NULL REFERENCES pacs_series (id),
  sop_instance_uid text NOT NULL UNIQUE,
  sop_class_uid    text,
  instance_number  integer,
  file_path        text,
  file_url         text,
  file_size        bigint
);
CREATE INDEX IF NOT EXISTS pacs_instances_series_id_idx ON pacs_instances (series_id);

CREATE TABLE IF NOT EXISTS pacs_report_fields (
  id         bigint PRIMARY KEY,
  study_id   bigint NOT NULL REFERENCES pacs_studies (id),
  name       text NOT NULL,
  value      text,
  created_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS pacs_report_fields_study_id_idx ON pacs_report_fields (study_id);
`;
