import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveQueryPath, TOOL_VERSION } from '../../../src/app/package-info.js';
import { tempDir } from '../../support/cli.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const SHIPPED = 'queries/chest_dicom_files_and_reports.sql';

let dir: string;
let cleanup: () => Promise<void>;
let cwd: string;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir('package-info'));
  cwd = process.cwd();
  process.chdir(dir);
});

afterEach(async () => {
  process.chdir(cwd);
  await cleanup();
});

describe('TOOL_VERSION', () => {
  it('is the version of the package the CLI ships in', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(TOOL_VERSION).toBe(pkg.version);
    expect(TOOL_VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('resolveQueryPath', () => {
  it('finds a shipped query from any directory', () => {
    expect(resolveQueryPath(SHIPPED)).toBe(join(ROOT, SHIPPED));
  });

  it('prefers a query of the same name in the working directory', async () => {
    await mkdir(join(dir, 'queries'));
    await writeFile(join(dir, SHIPPED), 'SELECT 1');
    expect(resolveQueryPath(SHIPPED)).toBe(join(process.cwd(), SHIPPED));
  });

  it('keeps absolute paths, and resolves a query found nowhere against the working directory', () => {
    const absolute = join(dir, 'elsewhere.sql');
    expect(resolveQueryPath(absolute)).toBe(absolute);
    // Resolved where the user looks, so the error that it is missing names that path.
    expect(resolveQueryPath('queries/missing.sql')).toBe(resolve('queries/missing.sql'));
    expect(resolveQueryPath('queries/missing.sql')).not.toContain(ROOT);
  });
});
