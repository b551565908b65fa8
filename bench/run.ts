/**
 * Other benchmarks, by their first argument: `npm run bench -- render [...]` the renderer
 * (bench/render.ts), `plan` planning time (bench/plan.ts), `upload` uploads into the GCS emulator
 * (bench/upload.ts), `distributed` the BullMQ executor against the local one
 * (bench/distributed.ts), `deid` the report scrubber (bench/deid-scrubber.ts), `startup` what each
 * command costs to start, against its targets (bench/startup.ts).
 *
 * `npm run bench [-- --studies 8,200 --repeat 3]`: the pipeline on generated sample PACSes of
 * the given sizes. For each size it generates the PACS once (not timed), then runs
 * `eden-etl run` into a fresh destination `repeat` times as a separate process under
 * `/usr/bin/time -v`, and prints the median instances/s, MB/s (DICOM bytes in) and peak RSS.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../src/commands/main.js', import.meta.url));
const TIME = '/usr/bin/time';

interface Measurement {
  instances: number;
  dicomBytes: number;
  processSeconds: number;
  wallSeconds: number;
  peakRssMiB: number | null;
}

function run(
  command: string,
  args: string[],
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', EDEN_PROGRESS: 'off' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function number(pattern: RegExp, text: string, what: string): number {
  const match = pattern.exec(text);
  if (match?.[1] === undefined)
    throw new Error(`bench: could not read ${what} from the run's report`);
  return Number(match[1]);
}

async function measure(cwd: string, studies: number, dest: string): Promise<Measurement> {
  const args = [
    CLI,
    'run',
    '--source',
    'pglite:pacs/db',
    '--studies',
    String(studies),
    '--dest',
    dest,
    '--state-dir',
    `${dest}-state`,
  ];
  const timed = existsSync(TIME);
  const started = performance.now();
  const result = timed
    ? await run(TIME, ['-v', process.execPath, ...args], cwd)
    : await run(process.execPath, args, cwd);
  const wallSeconds = (performance.now() - started) / 1000;
  if (result.code !== 0) {
    throw new Error(`bench: the run exited ${String(result.code)}:\n${result.stderr.slice(-2000)}`);
  }
  const rssKiB = /Maximum resident set size \(kbytes\): (\d+)/.exec(result.stderr)?.[1];
  return {
    instances: number(/Total records: (\d+)/, result.stdout, 'the record count'),
    dicomBytes: number(/DICOM bytes: (\d+)/, result.stdout, 'the DICOM bytes'),
    processSeconds: number(/Process: .*\(([\d.]+)s\)/, result.stdout, 'the process time'),
    wallSeconds,
    peakRssMiB: rssKiB === undefined ? null : Number(rssKiB) / 1024,
  };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      studies: { type: 'string', default: '8,200' },
      repeat: { type: 'string', default: '3' },
    },
  });
  const sizes = values.studies.split(',').map(Number);
  const repeat = Number(values.repeat);
  if (sizes.some((size) => !Number.isInteger(size) || size < 1) || !(repeat >= 1)) {
    throw new Error(`bench: --studies takes sizes like 8,200 and --repeat a count ≥ 1`);
  }
  process.stdout.write(
    `machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}; ` +
      `median of ${repeat} run(s) per size; peak RSS from ${existsSync(TIME) ? TIME + ' -v' : 'n/a (install GNU time)'}\n\n`,
  );
  process.stdout.write(
    'studies | instances | inst/s (process) | MB/s (DICOM) | wall s | peak RSS MiB\n',
  );
  process.stdout.write(
    '--------|-----------|------------------|--------------|--------|-------------\n',
  );
  for (const studies of sizes) {
    const cwd = await mkdtemp(join(tmpdir(), `eden-bench-${studies}-`));
    try {
      // The demo generates the PACS (untimed) and its own run warms the file cache.
      const setup = await run(
        process.execPath,
        [
          CLI,
          'demo',
          '--studies',
          String(studies),
          '--sample-pacs-dir',
          'pacs',
          '--dest',
          'warmup',
        ],
        cwd,
      );
      if (setup.code !== 0) throw new Error(`bench: setup failed:\n${setup.stderr.slice(-2000)}`);
      const runs: Measurement[] = [];
      for (let index = 0; index < repeat; index += 1) {
        runs.push(await measure(cwd, studies, `out-${index}`));
        await rm(join(cwd, `out-${index}`), { recursive: true, force: true });
      }
      const instances = runs[0]?.instances ?? 0;
      const rates = runs.map((m) => m.instances / m.processSeconds);
      const mbps = runs.map((m) => m.dicomBytes / 1e6 / m.processSeconds);
      const rss = runs.map((m) => m.peakRssMiB).filter((value): value is number => value !== null);
      process.stdout.write(
        `${String(studies).padStart(7)} | ${String(instances).padStart(9)} | ${median(rates).toFixed(2).padStart(16)} | ` +
          `${median(mbps).toFixed(1).padStart(12)} | ${median(runs.map((m) => m.wallSeconds))
            .toFixed(1)
            .padStart(6)} | ` +
          `${rss.length === 0 ? 'n/a' : median(rss).toFixed(0).padStart(11)}\n`,
      );
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  }
}

/** The other benchmarks, by the first argument; each takes its own options after it. */
const BENCHMARKS: Record<string, (args: string[]) => Promise<void>> = {
  render: async (args) => (await import('./render.js')).renderBench(args),
  plan: async (args) => (await import('./plan.js')).planBench(args),
  upload: async (args) => (await import('./upload.js')).uploadBench(args),
  distributed: async (args) => (await import('./distributed.js')).distributedBench(args),
  startup: async (args) => (await import('./startup.js')).startupBench(args),
  deid: async (args) => {
    (await import('./deid-scrubber.js')).deidBench(args);
  },
};

const named = BENCHMARKS[process.argv[2] ?? ''];
if (named === undefined) await main();
else await named(process.argv.slice(3));
