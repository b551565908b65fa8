import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loggerFor, resolveConfig } from '../app/invocation.js';
import { runAndExit } from '../app/run.js';
import { addConfigFlags } from '../config/flags.js';
import { ensureSamplePacs } from '../demo/sample-pacs.js';
import { COMMANDS } from './catalog.js';

/** The sample PACS is always generated from this seed: every user's demo has the same data. */
const SAMPLE_PACS_SEED = 1;
const DEMO_DESTINATION = 'file://./output';

export function define(program: Command): void {
  addConfigFlags(
    program
      .command('demo')
      .description(COMMANDS.demo.description)
      .option('--resume [run-id]', 'Continue an unfinished run (the latest one without an id)'),
    ['source'],
  ).action(async (options: Record<string, unknown>) => {
    // The demo runs in this process on the embedded state, whether or not REDIS_URL is set, and
    // shows every export format (`--exports none` leaves them out).
    const commandDefaults = { dest: DEMO_DESTINATION, executor: 'local', exports: 'all' };
    // The sample PACS directory is itself configurable, and the source follows from it.
    const { samplePacsDir } = resolveConfig(options, { commandDefaults }).config;
    const { config } = resolveConfig(options, {
      commandDefaults,
      commandFixed: { source: `pglite:${samplePacsDir}/db` },
    });
    const logger = loggerFor(config);
    const dir = resolve(samplePacsDir);
    // Created (or checked) in the PACS database the run plans from, when it plans: a rerun of
    // a finished demo opens neither.
    await runAndExit(config, options, logger, async (pacs) => {
      const summary = await ensureSamplePacs(
        pacs,
        { dir, studies: config.studies, seed: SAMPLE_PACS_SEED },
        (done, total) => logger.info(`sample PACS: generating study ${done}/${total}`),
      );
      logger.info(
        summary,
        summary.created ? `sample PACS ready in ${dir}` : `sample PACS reused from ${dir}`,
      );
    });
  });
}
