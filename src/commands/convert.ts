import { resolve } from 'node:path';
import type { Command } from 'commander';
import { withComposition } from '../app/compose.js';
import { convertFiles, listInputs } from '../app/convert-files.js';
import { loggerFor, resolveConfig } from '../app/invocation.js';
import { renderOptionsOf } from '../config/render-options.js';
import { addConfigFlags } from '../config/flags.js';
import { COMMANDS } from './catalog.js';

/** Exit code when some inputs could not be converted. */
const EXIT_FAILED_INPUTS = 3;

/** Only the rendering and resource flags concern `convert`; the rest of `run`'s are left out. */
const PIPELINE_ONLY = [
  'source',
  'query',
  'studies',
  'seed',
  'pageSize',
  'batchSize',
  'dest',
  'prefix',
  'stateDir',
  'filesRoot',
  'samplePacsDir',
  'progress',
  'exports',
] as const;

export function define(program: Command): void {
  addConfigFlags(
    program
      .command('convert')
      .description(COMMANDS.convert.description)
      .argument('<inputs...>', 'DICOM files or directories')
      .requiredOption('--out <dir>', 'Directory the images are written to (created if needed)'),
    PIPELINE_ONLY,
  ).action(async (inputs: string[], options: Record<string, unknown>) => {
    const { config } = resolveConfig(options);
    const files = await listInputs(inputs);
    const outDir = resolve(String(options.out));
    await withComposition(config, loggerFor(config), async (root) => {
      const [{ store }, { fetcher, renderer }] = await Promise.all([
        root.destination(outDir, ''),
        root.processing({ inputs: files.length }),
      ]);
      const summary = await convertFiles(
        files,
        { fetcher, renderer, store },
        { render: renderOptionsOf(config), concurrency: config.concurrency },
        ({ input, error }) => process.stdout.write(`FAILED ${input}: ${error.oneLine()}\n`),
      );
      process.stdout.write(
        `converted ${summary.converted} of ${summary.inputs} files into ${outDir} ` +
          `(${summary.images} images, ${summary.failures.length} failed)\n`,
      );
      process.exitCode = summary.failures.length > 0 ? EXIT_FAILED_INPUTS : 0;
    });
  });
}
