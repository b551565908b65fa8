// The layers of docs/architecture.md, enforced by `npm run lint` (depcruise). An import only
// ever points down:
//
//   commands/, dashboard/         thin CLI files and HTTP views
//   app/                          the composition root and the application services
//   pipeline/                     plan, process-item, process-batch, finalize, executors
//   sql/ source/ transform/ deid/ quality/ dataset/ store/ ledger/ queue/
//                                 stages and adapters: never each other
//   config/ dicom/ observability/ the configuration, the DICOM format, logs and progress
//   domain/                       types passed between stages, error codes, redaction
//
// demo/ (the sample-PACS generator) stands aside: only the demo and sample-pacs commands use it.
// test/unit/architecture.test.ts shows each rule failing on a bad import.

const STAGES = 'sql|source|transform|deid|quality|dataset|store|ledger|queue';
const FOUNDATIONS = 'config|dicom|observability';

/** The modules that open connections: only the composition root builds them. */
const ADAPTER_CONSTRUCTORS = [
  '^src/sql/pg-client\\.ts$',
  '^src/sql/pglite-client\\.ts$',
  '^src/store/gcs-store\\.ts$',
  '^src/store/local-store\\.ts$',
  '^src/queue/queues\\.ts$',
  '^src/queue/shared-rate-limit\\.ts$',
  '^src/queue/job-workers\\.ts$',
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Modules that import each other cannot be understood or changed one at a time.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'domain-is-the-floor',
      comment: 'domain/ holds the types every layer shares; it imports nothing of ours.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: '^src/', pathNot: '^src/domain/' },
    },
    {
      name: 'foundations-import-domain-only',
      comment: 'config/, dicom/ and observability/ sit just above domain/ and beside each other.',
      severity: 'error',
      from: { path: `^src/(${FOUNDATIONS})/` },
      to: { path: '^src/', pathNot: ['^src/domain/', '^src/$1/'] },
    },
    {
      name: 'stages-never-import-each-other',
      comment:
        'A stage or adapter imports domain/, dicom/, observability/ and itself only; the pipeline composes stages, so no stage knows another (the ledger holds state, not decisions). Nor do stages read configuration: they take typed options.',
      severity: 'error',
      from: { path: `^src/(${STAGES})/` },
      to: { path: '^src/', pathNot: ['^src/(domain|dicom|observability)/', '^src/$1/'] },
    },
    {
      name: 'pipeline-below-the-app',
      comment: 'The pipeline is composed by the app; it takes adapters, never builds them.',
      severity: 'error',
      from: { path: '^src/pipeline/' },
      to: { path: '^src/(app|commands|dashboard|demo|config)/' },
    },
    {
      name: 'app-below-commands',
      comment: 'Application services know nothing of command parsing or HTTP views.',
      severity: 'error',
      from: { path: '^src/app/' },
      to: { path: '^src/(commands|dashboard|demo)/' },
    },
    {
      name: 'dashboard-beside-commands',
      comment: 'The dashboard is a view over the app; the dashboard command starts it.',
      severity: 'error',
      from: { path: '^src/dashboard/' },
      to: { path: '^src/(commands|demo)/' },
    },
    {
      name: 'demo-only-for-its-commands',
      comment:
        'The sample-PACS generator is used by `eden-etl demo` and `eden-etl sample-pacs` only.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/demo/', '^src/commands/(demo|sample-pacs)\\.ts$'] },
      to: { path: '^src/demo/' },
    },
    {
      name: 'demo-stands-aside',
      comment: 'The generator writes DICOM with dicom/ and describes it with domain/ types.',
      severity: 'error',
      from: { path: '^src/demo/' },
      to: { path: '^src/', pathNot: ['^src/(domain|dicom|demo)/'] },
    },
    {
      name: 'only-the-composition-root-builds-adapters',
      comment:
        'Databases, stores and queues are opened in one place (src/app/compose.ts) and passed in; elsewhere their types only.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/app/compose\\.ts$'] },
      to: { path: ADAPTER_CONSTRUCTORS, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'client-libraries-behind-adapters',
      comment: 'pg, PGlite, the GCS client and ioredis are used by their adapter modules only.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(sql|store|queue)/' },
      to: {
        path: '(^|/)node_modules/(pg|@electric-sql/pglite|@google-cloud/storage|ioredis)/',
        dependencyTypesNot: ['type-only'],
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
