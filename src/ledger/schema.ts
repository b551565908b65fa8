/**
 * Bumped whenever a table changes shape: a state directory written by another version is
 * refused by name rather than misread.
 */
export const LEDGER_VERSION = '7';

/**
 * The ledger's tables. Plain PostgreSQL, so the same schema serves the embedded state
 * (PGlite) and a shared state database for distributed workers. Idempotent.
 */
export const LEDGER_SCHEMA = `
CREATE TABLE IF NOT EXISTS eden_meta (
  key   text PRIMARY KEY,
  value text NOT NULL
);

CREATE TABLE IF NOT EXISTS eden_runs (
  run_id          text PRIMARY KEY,
  status          text NOT NULL CHECK (status IN ('planning', 'planned', 'finalized', 'cancelled')),
  spec            jsonb NOT NULL,
  pages           integer,
  total_instances integer,
  total_studies   integer,
  created_at      timestamptz NOT NULL DEFAULT now(),
  planned_at      timestamptz,
  finished_at     timestamptz,
  -- Bumped by \`eden-etl retry\`: queue job ids carry it, so the re-queued jobs are new jobs
  -- while enqueueing the same round twice stays harmless.
  dispatch_round  integer NOT NULL DEFAULT 1,
  cancelled_at    timestamptz
);

CREATE TABLE IF NOT EXISTS eden_items (
  run_id          text NOT NULL REFERENCES eden_runs (run_id) ON DELETE CASCADE,
  ordinal         integer NOT NULL,
  batch_no        integer NOT NULL,
  study_id        text NOT NULL,
  series_id       text NOT NULL,
  series_number   integer,
  instance_id     text NOT NULL,
  instance_number integer,
  file_path       text,
  file_url        text,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'excluded')),
  attempts        integer NOT NULL DEFAULT 0,
  dicom_key       text,
  dicom_size      bigint,
  dicom_md5       text,
  dicom_sha256    text,
  dicom_outcome   text,
  images          jsonb,
  recipe          jsonb,
  attributes      jsonb,
  error_code      text,
  error_message   text,
  timings         jsonb,
  exclusion_reason text,
  exclusion_detail text,
  updated_at      timestamptz,
  PRIMARY KEY (run_id, ordinal),
  UNIQUE (run_id, instance_id)
);
CREATE INDEX IF NOT EXISTS eden_items_batch ON eden_items (run_id, batch_no, status);

-- The images admitted to a run so far, for the duplicate gates: the SHA-256 of the image file, and the
-- 256-bit dHash cut into eight 32-bit bands (each tagged with its position), so that a near
-- duplicate (at most 7 bits apart) shares at least one band and is found through the index,
-- not by comparing with every image of the run.
CREATE TABLE IF NOT EXISTS eden_image_hashes (
  run_id       text NOT NULL REFERENCES eden_runs (run_id) ON DELETE CASCADE,
  ordinal      integer NOT NULL,
  series_id    text NOT NULL,
  patient_id   text,
  image_sha256 text NOT NULL,
  dhash        text NOT NULL,
  bands        text[] NOT NULL,
  thumbnail    text NOT NULL,
  PRIMARY KEY (run_id, ordinal)
);
CREATE INDEX IF NOT EXISTS eden_image_hashes_files ON eden_image_hashes (run_id, image_sha256);
CREATE INDEX IF NOT EXISTS eden_image_hashes_bands ON eden_image_hashes USING gin (bands);

CREATE TABLE IF NOT EXISTS eden_study_reports (
  run_id           text NOT NULL REFERENCES eden_runs (run_id) ON DELETE CASCADE,
  study_id         text NOT NULL,
  report_value     text NOT NULL,
  field_created_at timestamptz,
  field_count      integer NOT NULL,
  PRIMARY KEY (run_id, study_id)
);

-- De-identification: real value → pseudonym (patient, accession, uid, study, series, instance).
-- Never uploaded; exported only by \`eden-etl deid-map\`.
CREATE TABLE IF NOT EXISTS eden_deid_map (
  run_id     text NOT NULL REFERENCES eden_runs (run_id) ON DELETE CASCADE,
  kind       text NOT NULL,
  real_value text NOT NULL,
  pseudonym  text NOT NULL,
  PRIMARY KEY (run_id, kind, real_value)
);

-- What each de-identified instance's original header said (names, IDs, date shift…), to scrub
-- its study's report when the dataset files are written.
CREATE TABLE IF NOT EXISTS eden_deid_facts (
  run_id   text NOT NULL REFERENCES eden_runs (run_id) ON DELETE CASCADE,
  ordinal  integer NOT NULL,
  study_id text NOT NULL,
  facts    jsonb NOT NULL,
  PRIMARY KEY (run_id, ordinal)
);
`;
