import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: the first directory above this module holding package.json (src or dist). */
function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above the CLI');
    dir = parent;
  }
  return dir;
}

const PACKAGE_ROOT = findPackageRoot();

export const TOOL_VERSION: string = (
  JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

/**
 * A relative query path is looked up in the working directory first, then among the queries
 * shipped with the tool, so the default query works from any directory.
 */
export function resolveQueryPath(path: string): string {
  if (isAbsolute(path) || existsSync(path)) return resolve(path);
  const shipped = join(PACKAGE_ROOT, path);
  return existsSync(shipped) ? shipped : resolve(path);
}
