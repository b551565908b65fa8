import type { SqlClient } from '../domain/sql.js';
import { bindParameters, type SelectionQuery } from '../source/query-file.js';
import { checkSelectionQuery, readSelection } from '../source/selection.js';
import { studyReports } from '../source/study-report.js';
import type { Ledger, RunRecord } from '../ledger/ledger.js';
import type { RunSpec } from '../domain/run-spec.js';

/**
 * Freezes the run's selection in the ledger: the query runs once, page by page, and its
 * instances get stable ordinals and batch numbers. Resumes and retries then work from the
 * ledger alone, and see exactly the same studies even if the PACS changes meanwhile.
 */
export async function planRun(
  ledger: Ledger,
  source: SqlClient,
  runId: string,
  spec: RunSpec,
  query: SelectionQuery,
): Promise<RunRecord> {
  const parameters = bindParameters(query, spec.queryParameters);
  await checkSelectionQuery(source, query, parameters);
  // A run planned again keeps the spec it was created with (the card and the console report
  // it): its batches and pages follow that spec, whatever sizes this invocation was given.
  const { spec: stored } = await ledger.createRun(runId, spec);
  await ledger.writeSelection(runId, stored.batchSize, (addPage) =>
    readSelection(source, {
      query,
      parameters,
      pageSize: stored.pageSize,
      onPage: (instances) => addPage(instances, studyReports(instances)),
    }),
  );
  const run = await ledger.findRun(runId);
  if (run === null) throw new Error(`run ${runId} vanished while planning`);
  return run;
}
