import { resolve } from 'node:path';
import type { Command } from 'commander';
import { convertFiles, listInputs } from '../app/convert-files.js';
import { createFileFetcher } from '../source/fetcher.js';
import { openLocalStore } from '../store/local-store.js';
import { RenderPool } from '../pipeline/render-pool.js';
import { addConfigFlags } from '../config/flags.js';
import { resolveConfig } from '../app/invocation.js';
import { renderOptionsOf } from '../app/render-options.js';

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
] as const;

export function addConvertCommand(program: Command): void {
  addConfigFlags(
    program
      .command('convert')
      .description(
        "Render DICOM files (or every file in directories) to DIR/{name}.jpg, with the pipeline's renderer and options. One line per failure; exit 3 if any failed.",
      )
      .argument('<inputs...>', 'DICOM files or directories')
      .requiredOption('--out <dir>', 'Directory the images are written to (created if needed)'),
    PIPELINE_ONLY,
  ).action(async (inputs: string[], options: Record<string, unknown>) => {
    const { config } = resolveConfig(options);
    const files = await listInputs(inputs);
    const outDir = resolve(String(options.out));
    const store = await openLocalStore(outDir);
    const renderer = RenderPool.create({
      threads: config.renderThreads,
      timeoutMs: config.renderTimeout * 1000,
      j2kDecoder: config.j2kDecoder,
    });
    try {
      const summary = await convertFiles(
        files,
        { fetcher: createFileFetcher({ maxBytes: config.maxFileBytes }), renderer, store },
        { render: renderOptionsOf(config), concurrency: config.concurrency },
        ({ input, error }) => process.stdout.write(`FAILED ${input}: ${error.oneLine()}\n`),
      );
      process.stdout.write(
        `converted ${summary.converted} of ${summary.inputs} files into ${outDir} ` +
          `(${summary.images} images, ${summary.failures.length} failed)\n`,
      );
      process.exitCode = summary.failures.length > 0 ? EXIT_FAILED_INPUTS : 0;
    } finally {
      await renderer.close();
      await store.close();
    }
  });
}
