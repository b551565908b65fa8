import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ensureSamplePacs } from '../demo/sample-pacs.js';
import { openPglite } from '../sql/pglite-client.js';
import { addConfigFlags } from '../config/flags.js';
import { loggerFor, resolveConfig, runAndExit } from '../app/invocation.js';

/** The sample PACS is always generated from this seed: every user's demo has the same data. */
const SAMPLE_PACS_SEED = 1;
const DEMO_DESTINATION = 'file://./output';

export function addDemoCommand(program: Command): void {
  addConfigFlags(
    program
      .command('demo')
      .description(
        'Create the built-in sample PACS (once) and run the ETL on it into ./output. Accepts every option of `run`.',
      )
      .option('--resume [run-id]', 'Continue an unfinished run (the latest one without an id)'),
    ['source'],
  ).action(async (options: Record<string, unknown>) => {
    // The demo runs in this process on the embedded state, whether or not REDIS_URL is set.
    const commandDefaults = { dest: DEMO_DESTINATION, executor: 'local' };
    // The sample PACS directory is itself configurable, and the source follows from it.
    const { samplePacsDir } = resolveConfig(options, { commandDefaults }).config;
    const { config } = resolveConfig(options, {
      commandDefaults,
      commandFixed: { source: `pglite:${samplePacsDir}/db` },
    });
    const logger = loggerFor(config);
    const dir = resolve(samplePacsDir);
    const pacs = await openPglite(`${dir}/db`, 'the sample PACS database');
    try {
      const summary = await ensureSamplePacs(
        pacs,
        { dir, studies: config.studies, seed: SAMPLE_PACS_SEED },
        (done, total) => logger.info(`sample PACS: generating study ${done}/${total}`),
      );
      logger.info(
        summary,
        summary.created ? `sample PACS ready in ${dir}` : `sample PACS reused from ${dir}`,
      );
    } finally {
      await pacs.close();
    }
    await runAndExit(config, options, logger);
  });
}
