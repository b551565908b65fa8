// Builds dist/ (`npm run build`) unless it is newer than every source of the build, so that
// `npm start` run again with nothing changed starts at once instead of spending ~12 s in tsc.
// The build writes dist/.build-stamp when it succeeds; a deleted or moved source file changes
// its directory's mtime, so it counts as a change too.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';

const INPUTS = ['src', 'bench', 'tools', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];
const STAMP = join('dist', '.build-stamp');

function newestMtime(path) {
  const info = statSync(path, { throwIfNoEntry: false });
  if (info === undefined) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

const built = statSync(STAMP, { throwIfNoEntry: false })?.mtimeMs ?? 0;
if (Math.max(...INPUTS.map(newestMtime)) >= built) {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['run', 'build', '--silent'], { stdio: 'inherit' });
  process.exitCode = result.status ?? 1;
}
