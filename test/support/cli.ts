import { spawn, type ChildProcess } from 'node:child_process';
import type { StudyLine } from '../../src/dataset/dataset-jsonl.js';
import { instructionSamples } from '../../src/dataset/instruction-samples.js';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/src/commands/main.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Environment for a CLI under test: none of the developer's own configuration leaks in. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME', 'LANG', 'TMPDIR', 'SYSTEMROOT']) {
    if (process.env[name] !== undefined) env[name] = process.env[name];
  }
  return { ...env, EDEN_PROGRESS: 'lines', ...extra };
}

export function startCli(args: string[], cwd: string, env = cleanEnv()): ChildProcess {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  return spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function runCli(args: string[], cwd: string, env = cleanEnv()): Promise<CliResult> {
  const child = startCli(args, cwd, env);
  return collect(child);
}

export function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export async function tempDir(
  name: string,
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `eden-${name}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Every file below `dir`, relative, sorted. */
/**
 * The files a finished local dataset holds when `instanceIds` were delivered (default JPEG
 * output), sorted as listFiles sorts them.
 */
/**
 * The export files a demo-sized dataset holds (`--exports all`, every split in one shard), from
 * its studies.jsonl: a split's LLaVA and messages files when its studies give a sample, its
 * WebDataset shard when it has a study.
 */
export async function exportFiles(dataset: string): Promise<string[]> {
  const text = await readFile(join(dataset, 'studies.jsonl'), 'utf8');
  const studies = text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as StudyLine);
  const sampled = new Set(instructionSamples(studies).samples.map((sample) => sample.split));
  const splits = [...new Set(studies.map((study) => study.split))];
  return [
    ...[...sampled].flatMap((split) => [
      `exports/llava/split=${split}.json`,
      `exports/messages/split=${split}.jsonl`,
    ]),
    ...splits.map((split) => `exports/webdataset/split=${split}-000000.tar`),
  ];
}

export function datasetFiles(
  instanceIds: readonly string[],
  exports: readonly string[] = [],
): string[] {
  return [
    ...exports,
    'README-dataset.md',
    'dicom-reports-extracted-sample.csv',
    'excluded.csv',
    'failures.csv',
    'manifest.json',
    'metadata.jsonl',
    'studies.jsonl',
    ...instanceIds.map((id) => `dicom-files/${id}.dcm`),
    ...instanceIds.map((id) => `images-jpg/${id}.jpg`),
  ].sort();
}

export async function listFiles(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/** inode and mtime of each file: unchanged values prove a file was not written again. */
export async function fileIdentities(dir: string): Promise<Map<string, string>> {
  const identities = new Map<string, string>();
  for (const file of await listFiles(dir)) {
    const info = await stat(join(dir, file));
    identities.set(file, `${info.ino}:${info.mtimeMs}`);
  }
  return identities;
}
