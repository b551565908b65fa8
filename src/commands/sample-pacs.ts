import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { ensureSamplePacs, SAMPLE_PACS_DEFAULTS } from '../demo/sample-pacs.js';
import { redactUrl } from '../domain/redact.js';
import { withComposition } from '../app/compose.js';
import { loggerFor, resolveConfig } from '../app/invocation.js';
import { COMMANDS } from './catalog.js';

/**
 * `eden-etl sample-pacs --into URL`: the sample PACS in a database of the user's (a real
 * PostgreSQL, or a PGlite directory), so a demo, a test or a benchmark can run against a real
 * server. The files go to --files, and file_url points at them (or at --base-url when they are
 * served over HTTP).
 */
export function define(program: Command): void {
  program
    .command('sample-pacs')
    .description(COMMANDS['sample-pacs'].description)
    .requiredOption('--into <url>', 'postgres://user:pass@host:port/db, or pglite:DIR')
    .option('--studies <n>', 'Live studies to generate', String(SAMPLE_PACS_DEFAULTS.studies))
    .option('--files <dir>', 'Where the DICOM files are written', '.eden/sample-pacs')
    .option('--base-url <url>', 'URL the files are served from (file_url = URL + file_path)')
    .addOption(
      new Option('--seed <n>', 'Generator seed').default(String(SAMPLE_PACS_DEFAULTS.seed)),
    )
    .option('--log-level <level>', 'Log level')
    .option('--log-format <format>', 'plain or json')
    .action(async (options: Record<string, string | undefined>) => {
      // --studies is validated with the same rule and message as everywhere else.
      const { config } = resolveConfig({
        logLevel: options.logLevel,
        logFormat: options.logFormat,
        studies: options.studies,
      });
      const logger = loggerFor(config);
      const into = options.into ?? '';
      const seed = Number(options.seed);
      await withComposition(config, logger, async (root) => {
        const db = await root.writableDatabase(into, 'the sample PACS database');
        const summary = await ensureSamplePacs(
          db,
          {
            dir: resolve(options.files ?? '.eden/sample-pacs'),
            studies: config.studies,
            seed,
            ...(options.baseUrl === undefined ? {} : { baseUrl: options.baseUrl }),
          },
          (done, total) => logger.info(`sample PACS: study ${done}/${total}`),
        );
        logger.info(
          summary,
          `sample PACS ${summary.created ? 'written to' : 'already in'} ${redactUrl(into)}`,
        );
        process.stdout.write(
          `${summary.studies} studies (+${summary.deletedStudies} deleted), ${summary.series} series, ` +
            `${summary.instances} instances, ${summary.reportFields} report fields in ${redactUrl(into)}\n`,
        );
      });
    });
}
