/**
 * `npm run bench -- startup [--runs 7] [--peer-runs 5]`: what a command costs to start, each
 * figure the median wall time of `runs` separate processes (after one untimed warm-up), beside
 * bare `node -e 0` measured in the same rounds:
 *
 * - `eden-etl --version` and `eden-etl --help` (target ≤ 150 ms);
 * - `eden-etl convert` of one CT slice (target ≤ 400 ms);
 * - `eden-etl convert` of 20 CR radiographs against bench/pydicom-peer.py doing the same with
 *   pydicom + numpy + PIL in one /usr/bin/python3 process, the two alternating round by round
 *   (target: ours ≤ half the peer's, the ratio of the two medians);
 * - a no-op `npm start` rerun: the demo, run once untimed, then again with nothing to do
 *   (target ≤ 3 s). Its sample PACS, state and output are redirected into the temporary
 *   directory with EDEN_SAMPLE_PACS_DIR, EDEN_STATE_DIR and EDEN_DEST.
 *
 * Files come from the sample-PACS generator (src/demo): the Helix 64 CT slice of the render
 * benchmark and the first image of each of the first 20 CR studies, at their native sizes. Prints
 * each figure, its target and PASS/FAIL; exits 1 when a goal fails.
 *
 * Every process runs with PATH and HOME only (and EDEN_PROGRESS=off), as the other benchmarks
 * do: a variable such as NODE_EXTRA_CA_CERTS has Node read a CA bundle at every start (about
 * 45 ms on a 2-core VM), which would be counted against every figure, bare node's included.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { planStudy } from '../src/demo/study-plan.js';
import { ctSlice, firstFile, median, PYDICOM_PEER, PYTHON } from './render.js';

const CLI = fileURLToPath(new URL('../src/commands/main.js', import.meta.url));
/** The project root: where `npm start` runs. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CR_FILES = 20;

interface Timed {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Wall time from spawn to exit of one process, its output collected. */
function timed(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      EDEN_PROGRESS: 'off',
      ...options.env,
    };
    const started = performance.now();
    const child = spawn(command, args, { cwd: options.cwd, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: performance.now() - started, code, stdout, stderr }));
  });
}

async function mustTime(
  what: string,
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<number> {
  const result = await timed(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `bench: ${what} exited ${String(result.code)}:\n${(result.stderr || result.stdout).slice(-2000)}`,
    );
  }
  return result.ms;
}

/** The first image of each of the first `count` CR studies of the sample PACS (seed 1). */
function crRadiographs(count: number): Uint8Array[] {
  const files: Uint8Array[] = [];
  for (let ordinal = 1; files.length < count; ordinal += 1) {
    if (ordinal > 1000) throw new Error('bench: the sample-PACS plan has too few CR studies');
    const study = planStudy(1, ordinal);
    if (study.kind === 'chest-radiograph' && study.device.modality === 'CR') {
      files.push(firstFile(study));
    }
  }
  return files;
}

interface Goal {
  label: string;
  /** The figure as printed, and whether it meets its target. */
  value: string;
  target: string;
  pass: boolean;
  /** The same figure over bare node's start-up, measured in the same rounds. */
  overNode?: number;
}

export async function startupBench(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      runs: { type: 'string', default: '7' },
      'peer-runs': { type: 'string', default: '5' },
    },
  });
  const runs = Number(values.runs);
  const peerRuns = Number(values['peer-runs']);
  if (![runs, peerRuns].every((n) => Number.isInteger(n) && n >= 1)) {
    throw new Error('bench: --runs and --peer-runs take a count ≥ 1');
  }
  if (!existsSync(PYTHON)) throw new Error(`bench: ${PYTHON} is needed for the pydicom peer`);
  const dir = await mkdtemp(join(tmpdir(), 'eden-startup-bench-'));
  try {
    process.stderr.write('bench: generating files…\n');
    await mkdir(join(dir, 'cr'));
    const ct = join(dir, 'ct.dcm');
    await writeFile(ct, ctSlice('Helix 64'));
    const crs: string[] = [];
    for (const [index, bytes] of crRadiographs(CR_FILES).entries()) {
      const path = join(dir, 'cr', `cr${String(index + 1).padStart(2, '0')}.dcm`);
      await writeFile(path, bytes);
      crs.push(path);
    }
    const demoEnv = {
      EDEN_SAMPLE_PACS_DIR: join(dir, 'demo/pacs'),
      EDEN_STATE_DIR: join(dir, 'demo/state'),
      EDEN_DEST: `file://${join(dir, 'demo/output')}`,
    };
    process.stderr.write('bench: the demo, once (untimed)…\n');
    await mustTime('the first demo run', process.execPath, [CLI, 'demo'], {
      cwd: dir,
      env: demoEnv,
    });

    const here = { cwd: dir };
    let outs = 0;
    const out = () => join(dir, `out-${(outs += 1)}`);
    const measures: Record<string, () => Promise<number>> = {
      node: () => mustTime('node -e 0', process.execPath, ['-e', '0'], here),
      version: () => mustTime('--version', process.execPath, [CLI, '--version'], here),
      help: () => mustTime('--help', process.execPath, [CLI, '--help'], here),
      convertCt: () =>
        mustTime('convert (CT)', process.execPath, [CLI, 'convert', ct, '--out', out()], here),
      npmStart: () =>
        mustTime('npm start (no-op rerun)', 'npm', ['start', '--silent'], {
          cwd: ROOT,
          env: demoEnv,
        }),
    };
    const peerMeasures: Record<string, () => Promise<number>> = {
      oursCr: () =>
        mustTime(
          'convert (20 CR)',
          process.execPath,
          [CLI, 'convert', ...crs, '--out', out()],
          here,
        ),
      peerCr: () =>
        mustTime('pydicom peer', PYTHON, [PYDICOM_PEER, 'convert', out(), ...crs], here),
    };
    const times: Record<string, number[]> = {};
    const round = async (
      set: Record<string, () => Promise<number>>,
      warm: boolean,
      reversed = false,
    ) => {
      const order = Object.entries(set);
      if (reversed) order.reverse();
      for (const [name, measure] of order) {
        const ms = await measure();
        if (!warm) (times[name] ??= []).push(ms);
      }
    };
    process.stderr.write('bench: start-up figures…\n');
    await round(measures, true);
    for (let index = 0; index < runs; index += 1) await round(measures, false);
    process.stderr.write(`bench: 20 CR, ours and the pydicom peer…\n`);
    await round(peerMeasures, true);
    for (let index = 0; index < peerRuns; index += 1) {
      // Ours first in one round, the peer first in the next: the first command after a pause
      // runs a few per cent slower here, and the ratio should not carry that.
      await round(peerMeasures, false, index % 2 === 1);
      // Each run writes 20 images: drop them, so the disk does not fill over the rounds.
      for (; outs > 0; outs -= 1)
        await rm(join(dir, `out-${outs}`), { recursive: true, force: true });
    }

    const m = (name: string): number => median(times[name]!);
    const node = m('node');
    const wall = (label: string, name: string, targetMs: number): Goal => ({
      label,
      value: `${m(name).toFixed(0)} ms`,
      target: `≤ ${targetMs} ms`,
      pass: m(name) <= targetMs,
      overNode: m(name) / node,
    });
    const crRatio = m('oursCr') / m('peerCr');
    const goals: Goal[] = [
      wall('eden-etl --version', 'version', 150),
      wall('eden-etl --help', 'help', 150),
      wall('eden-etl convert, 1 CT slice', 'convertCt', 400),
      {
        label: `eden-etl convert, ${CR_FILES} CR / pydicom+PIL`,
        value: `${crRatio.toFixed(2)}× (${(m('oursCr') / 1000).toFixed(2)} s / ${(m('peerCr') / 1000).toFixed(2)} s)`,
        target: '≤ 0.50×',
        pass: crRatio <= 0.5,
      },
      {
        ...wall('npm start, no-op rerun of the demo', 'npmStart', 3000),
        value: `${(m('npmStart') / 1000).toFixed(2)} s`,
        target: '≤ 3 s',
      },
    ];
    const rows = goals.map((goal) => [
      goal.label,
      goal.value,
      goal.overNode === undefined ? '' : `${goal.overNode.toFixed(2)}×`,
      goal.target,
      goal.pass ? 'PASS' : 'FAIL',
    ]);
    const header = ['figure', 'median', '/ node -e 0', 'target', ''];
    const widths = header.map((title, column) =>
      Math.max(title.length, ...rows.map((cells) => cells[column]!.length)),
    );
    const line = (cells: readonly string[]) =>
      cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ');
    process.stdout.write(
      [
        `machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}`,
        `wall time per process, median of ${runs} (20 CR: ${peerRuns}, ours and the peer alternating, each first in every other round) ` +
          `after one warm-up; bare node -e 0: ${node.toFixed(0)} ms in the same rounds`,
        '',
        line(header),
        widths.map((width) => '-'.repeat(width)).join('-|-'),
        ...rows.map(line),
        '',
      ].join('\n'),
    );
    if (goals.some((goal) => !goal.pass)) process.exitCode = 1;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
