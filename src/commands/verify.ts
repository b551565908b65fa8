import { existsSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { EtlError } from '../domain/errors.js';
import { datasetKeys } from '../dataset/object-keys.js';
import { verifyDataset } from '../dataset/verify-dataset.js';
import { withComposition } from '../app/compose.js';
import { loggerFor, resolveConfig } from '../app/invocation.js';
import { COMMANDS } from './catalog.js';

/** Exit code when the dataset differs from its manifest. */
const EXIT_DIFFERENCES = 3;

/**
 * A local dataset folder is opened through its parent, with the folder as the prefix: the
 * local store keeps its temp directory at its root, and verifying must not add to the dataset.
 */
function localFolder(dest: string): { root: string; prefix: string } {
  const path = resolve(dest.startsWith('file://') ? fileURLToPath(dest) : dest);
  if (!existsSync(path)) {
    throw new EtlError('USAGE', 'there is no dataset folder here', {
      subject: path,
      hint: 'give the folder that holds manifest.json, e.g. output/eden-dataset-vlms/sample-test',
    });
  }
  return { root: dirname(path), prefix: basename(path) };
}

export function define(program: Command): void {
  program
    .command('verify')
    .description(COMMANDS.verify.description)
    .argument('<dest>', 'the dataset folder: a path, file://… or gs://bucket/prefix')
    .option('--env-file <path>', 'Read variables from this file', '.env')
    .action(async (dest: string, options: Record<string, unknown>) => {
      const { config } = resolveConfig(options);
      const where = dest.startsWith('gs://') ? { root: dest, prefix: '' } : localFolder(dest);
      await withComposition(config, loggerFor(config), async (root) => {
        const destination = await root.destination(where.root, where.prefix);
        const result = await verifyDataset(destination.store, datasetKeys(destination.prefix));
        const shown = `${destination.store.displayUrl}/${destination.prefix}`;
        if (result.differences.length === 0) {
          process.stdout.write(
            `OK ${shown}: dataset version ${result.version}, ${result.objects} objects as in manifest.json\n`,
          );
          process.exitCode = 0;
          return;
        }
        for (const line of result.differences) process.stdout.write(`DIFFERENT ${line}\n`);
        process.stdout.write(
          `${result.differences.length} differences in ${shown} (dataset version ${result.version ?? 'unknown'})\n`,
        );
        process.exitCode = EXIT_DIFFERENCES;
      });
    });
}
