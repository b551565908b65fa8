/**
 * Bumped whenever a table changes shape: a state directory written by another version is
 * refused by name rather than misread.
 */
export const LEDGER_VERSION = '3';

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
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,
  dicom_key       text,
  dicom_size      bigint,
  dicom_md5       text,
  dicom_sha256    text,
  dicom_outcome   text,
  images          jsonb,
  recipe          jsonb,
  error_code      text,
  error_message   text,
  updated_at      timestamptz,
  PRIMARY KEY (run_id, ordinal),
  UNIQUE (run_id, instance_id)
);
CREATE INDEX IF NOT EXISTS eden_items_batch ON eden_items (run_id, batch_no, status);

CREATE TABLE IF NOT EXISTS eden_study_reports (
  run_id           text NOT NULL REFERENCES eden_runs (run_id) ON DELETE CASCADE,
  study_id         text NOT NULL,
  report_value     text NOT NULL,
  field_created_at timestamptz,
  field_count      integer NOT NULL,
  PRIMARY KEY (run_id, study_id)
);
`;
