/**
 * The commands as `eden-etl --help` lists them. Kept apart from their definitions, which load
 * their dependencies, so that listing them (and `--version`) loads nothing else.
 */
export const COMMANDS = {
  run: {
    term: 'run [options]',
    description: 'Run the ETL against a PACS database (--source) into a destination (--dest).',
  },
  demo: {
    term: 'demo [options]',
    description:
      'Create the built-in sample PACS (once) and run the ETL on it into ./output. Accepts every option of `run`.',
  },
  convert: {
    term: 'convert [options] <inputs...>',
    description:
      "Render DICOM files (or every file in directories) to DIR/{name}.jpg, with the pipeline's renderer and options. One line per failure; exit 3 if any failed.",
  },
  worker: {
    term: 'worker [options]',
    description:
      'Process the runs enqueued with --executor bullmq. Needs REDIS_URL, STATE_DATABASE_URL, the PACS database and file server, and the destination. --concurrency: instances in flight in this worker.',
  },
  status: {
    term: 'status [options] [run]',
    description:
      'Show a run’s progress, throughput, ETA and failures by code, from the ledger (the latest run without RUN).',
  },
  retry: {
    term: 'retry [options] <run>',
    description: 'Re-queue the failed instances of a run (BullMQ executor) and finalize it again.',
  },
  cancel: {
    term: 'cancel [options] <run>',
    description: 'Stop a run on the workers: its waiting jobs are removed, its batches skipped.',
  },
  schedule: {
    term: 'schedule',
    description: 'Recurring runs, started by the workers (BullMQ job schedulers).',
  },
  'sample-pacs': {
    term: 'sample-pacs [options]',
    description:
      'Load the sample PACS (schema, rows and DICOM files) into a PostgreSQL database or a PGlite directory.',
  },
  dashboard: {
    term: 'dashboard [options]',
    description:
      'Serve the monitoring dashboard: runs, failures, stage timings, a dataset preview, the queues (Bull Board), /metrics and /healthz.',
  },
  verify: {
    term: 'verify [options] <dest>',
    description:
      'Re-read a delivered dataset (a folder or gs://bucket/prefix) and check it against its manifest.json: every object present with its checksum, CSV and JSONL files consistent, no patient in two splits. Exit 3 listing the differences.',
  },
  config: {
    term: 'config [options]',
    description:
      'Print the resolved configuration (secrets redacted) and where each value came from.',
  },
  'deid-map': {
    term: 'deid-map [options] <run>',
    description:
      'Export the real → pseudonym map of a de-identified run to a local CSV, for the data steward.',
  },
} as const;

export type CommandName = keyof typeof COMMANDS;
