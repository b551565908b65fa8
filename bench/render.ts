/**
 * `npm run bench -- render [--iterations 15] [--peer-iterations 7] [--rounds 4]`: our renderer
 * beside its peers on the same generated files, in one run.
 *
 * Files come from the sample-PACS generator (src/demo) at the sizes of issue 3 — CR 3000×2500
 * 12-bit MONOCHROME1, DX 2048×2048 14-bit, CT 512×512 signed — plus the CR recompressed by dcmtk
 * (JPEG-LS, RLE, JPEG lossless SV1) and gdcm (JPEG 2000, timed with our native and our WASM
 * decoder), all in a temporary directory removed at the end. Per file:
 *
 * - ours: renderDicom in this process, single thread, warmed up, median of `iterations`;
 * - encode floor: sharp encoding the already 8-bit raster of the same image (libjpeg-turbo);
 * - pydicom+PIL: Debian's python3, one process per file, warmed up, median of `peer-iterations`;
 * - dcmj2pnm: the whole process per file (what a per-file tool costs), median of `peer-iterations`.
 *
 * Then throughput over all files with RenderPool at 1 and 2 threads, and the peak memory of one
 * 3000×3000 16-bit frame measured in a child process.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { renderStudyFiles } from '../src/demo/study-files.js';
import { planStudy, type PlannedStudy } from '../src/demo/study-plan.js';
import { DEFAULT_RENDER_OPTIONS } from '../src/domain/render.js';
import { writePart10 } from '../src/dicom/writer.js';
import { renderDicom, renderDicomFrames, renderToRaster } from '../src/transform/render.js';
import { RenderPool } from '../src/pipeline/render-pool.js';
import { useJ2kDecoder } from '../src/transform/codecs/decode-frame.js';
import { nativeOpenJpegAvailable } from '../src/transform/codecs/native-openjpeg.js';

export const PYTHON = '/usr/bin/python3';
/** The Python peer's script: not compiled, so read from bench/ beside dist/. */
export const PYDICOM_PEER = fileURLToPath(new URL('../../bench/pydicom-peer.py', import.meta.url));
const RUN_SCRIPT = fileURLToPath(new URL('./run.js', import.meta.url));

interface BenchFile {
  label: string;
  path: string;
  bytes: Uint8Array;
  /** Has a VOI window in its header: dcmj2pnm gets +Wi 1, else +Wm. */
  windowed: boolean;
  /** dcmtk's command-line renderer for its transfer syntax; a reason when dcmtk has none. */
  dcmtk: { tool: string } | { none: string };
  /**
   * Our JPEG 2000 decoder for this row: the same file is timed twice, with the system OpenJPEG
   * ('native', every core) and the bundled WASM build ('wasm', one core).
   */
  j2kDecoder?: 'native' | 'wasm';
}

type PeerTime = { ms: number | null; note?: string };

interface Row {
  label: string;
  path: string;
  peers: { pydicom: PeerTime; dcmj2pnm: PeerTime };
  ours: number;
  floor: number;
  pydicom: number | null;
  dcmj2pnm: number | null;
  notes: string[];
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function run(
  command: string,
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function mustRun(command: string, args: readonly string[]): Promise<string> {
  const result = await run(command, args);
  if (result.code !== 0) {
    throw new Error(
      `bench: ${command} ${args.join(' ')} exited ${String(result.code)}: ${result.stderr.slice(-1000)}`,
    );
  }
  return result.stdout;
}

// ---------------------------------------------------------------------------------------------
// Files

/** The first planned study (seed 1) that matches, from the sample PACS's own plan. */
function findStudy(matches: (study: PlannedStudy) => boolean): PlannedStudy {
  for (let ordinal = 1; ordinal <= 200; ordinal += 1) {
    const study = planStudy(1, ordinal);
    if (matches(study)) return study;
  }
  throw new Error('bench: the sample-PACS plan has no study of the wanted device');
}

/** Renders only the first file of the study: the generator is lazy. */
export function firstFile(study: PlannedStudy): Uint8Array {
  for (const file of renderStudyFiles(study)) return file.bytes;
  throw new Error('bench: the planned study has no file');
}

/** One radiograph of the device `model`, resized to rows × columns on the same detector. */
function radiograph(model: string, rows: number, columns: number): Uint8Array {
  const study = findStudy((s) => s.kind === 'chest-radiograph' && s.device.model === model);
  if (study.kind !== 'chest-radiograph') throw new Error('unreachable');
  const series = study.series[0]!;
  const instance = series.instances[0]!;
  if (instance.image.kind !== 'radiograph') throw new Error('unreachable');
  const pixelSpacing = Math.round((study.device.detector.height / rows) * 1e4) / 1e4;
  const image = { ...instance.image, rows, columns, pixelSpacing };
  const single: PlannedStudy = {
    ...study,
    series: [{ ...series, instances: [{ ...instance, image }] }],
  };
  return firstFile(single);
}

/**
 * A multi-frame CT-like volume (signed 16-bit, rescaled to HU, a window): `frames` frames of
 * `size`², a body disc that moves from frame to frame over a noisy background, so every frame
 * encodes to a realistic JPEG.
 */
function ctVolume(frames: number, size: number): Uint8Array {
  const pixels = new Int16Array(frames * size * size);
  let seed = 12345;
  const noise = () => ((seed = (seed * 1103515245 + 12345) >>> 0) % 41) - 20;
  for (let frame = 0; frame < frames; frame += 1) {
    const radius = size * (0.3 + 0.1 * Math.sin(frame / 40));
    for (let y = 0; y < size; y += 1) {
      for (let x = 0; x < size; x += 1) {
        const inside = Math.hypot(x - size / 2, y - size / 2) < radius;
        pixels[(frame * size + y) * size + x] = (inside ? 1040 + ((x ^ y) % 60) : 24) + noise();
      }
    }
  }
  return writePart10({
    sopClassUid: '1.2.840.10008.5.1.4.1.1.2.1', // Enhanced CT Image Storage
    sopInstanceUid: '2.25.1234567890123456789',
    transferSyntax: 'explicit-le',
    elements: [
      { tag: 0x00080060, vr: 'CS', value: 'CT' },
      { tag: 0x00280002, vr: 'US', value: 1 },
      { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
      { tag: 0x00280008, vr: 'IS', value: frames },
      { tag: 0x00280010, vr: 'US', value: size },
      { tag: 0x00280011, vr: 'US', value: size },
      { tag: 0x00280100, vr: 'US', value: 16 },
      { tag: 0x00280101, vr: 'US', value: 16 },
      { tag: 0x00280102, vr: 'US', value: 15 },
      { tag: 0x00280103, vr: 'US', value: 1 },
      { tag: 0x00281050, vr: 'DS', value: 40 },
      { tag: 0x00281051, vr: 'DS', value: 400 },
      { tag: 0x00281052, vr: 'DS', value: -1024 },
      { tag: 0x00281053, vr: 'DS', value: 1 },
      { tag: 0x7fe00010, vr: 'OW', value: pixels },
    ],
  });
}

export function ctSlice(model: string): Uint8Array {
  const study = findStudy((s) => s.kind === 'chest-ct' && s.device.model === model);
  return firstFile(study);
}

async function generateFiles(dir: string): Promise<BenchFile[]> {
  const write = async (name: string, bytes: Uint8Array): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, bytes);
    return path;
  };
  const files: BenchFile[] = [];
  const add = async (label: string, name: string, bytes: Uint8Array): Promise<string> => {
    const path = await write(name, bytes);
    files.push({ label, path, bytes, windowed: true, dcmtk: { tool: 'dcmj2pnm' } });
    return path;
  };
  // CR Reader 35: MONOCHROME1, 12 bits stored, one window, explicit VR LE.
  const cr = await add(
    'CR 3000×2500 12-bit MONO1',
    'cr.dcm',
    radiograph('CR Reader 35', 3000, 2500),
  );
  // DRX Vista: MONOCHROME2, 14 bits stored, two windows, rescale.
  await add('DX 2048×2048 14-bit', 'dx.dcm', radiograph('DRX Vista', 2048, 2048));
  // Helix 64: 12 bits stored signed, padding −2000, rescaled to HU, implicit VR LE.
  await add('CT 512×512 signed', 'ct.dcm', ctSlice('Helix 64'));
  // dcmj2pnm decodes JPEG and RLE; JPEG-LS is dcml2pnm's (same options); dcmtk has no JPEG 2000.
  const variants: [string, string, string, string[], BenchFile['dcmtk']][] = [
    ['CR JPEG-LS lossless', 'cr-jls.dcm', '/usr/bin/dcmcjpls', ['+el'], { tool: 'dcml2pnm' }],
    ['CR RLE lossless', 'cr-rle.dcm', '/usr/bin/dcmcrle', [], { tool: 'dcmj2pnm' }],
    ['CR JPEG lossless SV1', 'cr-jll.dcm', '/usr/bin/dcmcjpeg', ['+e1'], { tool: 'dcmj2pnm' }],
    [
      'CR JPEG 2000 lossless',
      'cr-j2k.dcm',
      '/usr/bin/gdcmconv',
      ['--j2k'],
      { none: 'dcmtk has no JPEG 2000 decoder' },
    ],
  ];
  for (const [label, name, tool, options, dcmtk] of variants) {
    const out = join(dir, name);
    if (!existsSync(tool)) {
      process.stderr.write(
        `bench: ${tool} missing, ${label} skipped (apt-get install dcmtk libgdcm-tools)\n`,
      );
      continue;
    }
    await mustRun(tool, [...options, cr, out]);
    const bytes = await readFile(out);
    if (tool !== '/usr/bin/gdcmconv') {
      files.push({ label, path: out, bytes, windowed: true, dcmtk });
      continue;
    }
    const decoders = [...(nativeOpenJpegAvailable() ? (['native'] as const) : []), 'wasm' as const];
    for (const j2kDecoder of decoders) {
      const which = j2kDecoder === 'native' ? 'native OpenJPEG' : 'WASM OpenJPEG';
      files.push({
        label: `${label}, ${which}`,
        path: out,
        bytes,
        windowed: true,
        dcmtk,
        j2kDecoder,
      });
    }
  }
  return files;
}

// ---------------------------------------------------------------------------------------------
// Measurements

async function timeOurs(file: BenchFile, iterations: number): Promise<number> {
  const { bytes } = file;
  useJ2kDecoder(file.j2kDecoder ?? 'auto');
  const times: number[] = [];
  for (let i = 0; i < iterations + 2; i += 1) {
    const started = performance.now();
    await renderDicom(bytes, DEFAULT_RENDER_OPTIONS);
    if (i >= 2) times.push(performance.now() - started);
  }
  return median(times);
}

/** libjpeg-turbo via sharp on the already 8-bit raster: the cost of the JPEG alone. */
async function timeFloor(bytes: Uint8Array, iterations: number): Promise<number> {
  const raster = renderToRaster(bytes, DEFAULT_RENDER_OPTIONS);
  const { width, height, channels } = raster;
  const times: number[] = [];
  for (let i = 0; i < iterations + 2; i += 1) {
    const started = performance.now();
    await sharp(raster.pixels, { raw: { width, height, channels } })
      .toColourspace('b-w')
      .jpeg({ quality: 90, optimiseCoding: false })
      .toBuffer();
    if (i >= 2) times.push(performance.now() - started);
  }
  return median(times);
}

/**
 * pydicom + numpy + PIL the way a Python ETL does it (bench/pydicom-peer.py, shared with the
 * startup benchmark), warmed up, the file read from memory.
 */
async function timePydicom(
  file: BenchFile,
  iterations: number,
): Promise<{ ms: number | null; note?: string }> {
  if (!existsSync(PYTHON)) return { ms: null, note: 'no /usr/bin/python3' };
  const result = await run(PYTHON, [PYDICOM_PEER, 'time', file.path, String(iterations)]);
  if (result.code !== 0) {
    const last = result.stderr.trim().split('\n').at(-1) ?? '';
    return { ms: null, note: last.slice(0, 120) };
  }
  const { median, handler } = JSON.parse(result.stdout) as {
    median: number;
    handler: string | null;
  };
  return handler === null ? { ms: median } : { ms: median, note: `decoded by ${handler}` };
}

async function timeDcmj2pnm(
  file: BenchFile,
  dir: string,
  iterations: number,
): Promise<{ ms: number | null; note?: string }> {
  if ('none' in file.dcmtk) return { ms: null, note: file.dcmtk.none };
  const tool = `/usr/bin/${file.dcmtk.tool}`;
  if (!existsSync(tool)) return { ms: null, note: `${tool} missing (apt-get install dcmtk)` };
  // dcml2pnm cannot write JPEG: raw PGM, which makes its figure a lower bound.
  const jpeg = file.dcmtk.tool === 'dcmj2pnm';
  const out = join(dir, jpeg ? 'dcmtk-out.jpg' : 'dcmtk-out.pgm');
  const args = [jpeg ? '+oj' : '+op', ...(file.windowed ? ['+Wi', '1'] : ['+Wm']), file.path, out];
  const times: number[] = [];
  for (let i = 0; i < iterations + 1; i += 1) {
    const started = performance.now();
    const result = await run(tool, args);
    const elapsed = performance.now() - started;
    if (result.code !== 0) {
      const last = result.stderr.trim().split('\n').at(-1) ?? '';
      return { ms: null, note: `${file.dcmtk.tool}: ${last.slice(0, 120)}` };
    }
    if (i >= 1) times.push(elapsed);
  }
  return jpeg
    ? { ms: median(times) }
    : {
        ms: median(times),
        note: `${file.dcmtk.tool} (dcmtk's renderer for it) writing raw PGM, as it cannot write JPEG: a lower bound`,
      };
}

/**
 * Images/s through a RenderPool of `threads` over `rounds` renders of each file. The files come
 * slowest first (longest-processing-time order), so that one JPEG 2000 left at the end does not
 * leave a thread idle and the ratio measures the pool, not the luck of the queue order.
 */
async function throughput(
  slowestFirst: readonly Pick<BenchFile, 'bytes'>[],
  threads: number,
  rounds: number,
  j2kDecoder: 'native' | 'wasm',
): Promise<number> {
  const pool = RenderPool.create({ threads, j2kDecoder });
  try {
    const pass = async (count: number): Promise<void> => {
      const queue = slowestFirst.flatMap((file) => Array.from({ length: count }, () => file));
      let next = 0;
      // Two tasks in flight per thread keeps every worker busy without queueing every copy.
      const lanes = Array.from({ length: threads * 2 }, async () => {
        while (next < queue.length) {
          const file = queue[next]!;
          next += 1;
          // render() moves its input to the worker: a fresh copy each time.
          const outcome = await pool.render(new Uint8Array(file.bytes), DEFAULT_RENDER_OPTIONS);
          if (!outcome.ok) throw outcome.error;
        }
      });
      await Promise.all(lanes);
    };
    await pass(1); // warm-up: worker start, WASM codecs compiled
    const started = performance.now();
    await pass(rounds);
    return (rounds * slowestFirst.length) / ((performance.now() - started) / 1000);
  } finally {
    await pool.close();
  }
}

/**
 * The control for the 2-thread figure: two processes, each with a 1-thread pool over the same
 * work, started together: both images counts over the longer time. Independent processes share nothing but the
 * machine (cores, caches, memory bandwidth), so this is what 2 cores give this workload here.
 */
async function separateProcesses(
  slowestFirst: readonly BenchFile[],
  rounds: number,
): Promise<number> {
  const paths = slowestFirst.map((file) => file.path).join(',');
  const probe = async (): Promise<{ images: number; seconds: number }> => {
    const stdout = await mustRun(process.execPath, [
      RUN_SCRIPT,
      'render',
      '--throughput-probe',
      paths,
      '--rounds',
      String(rounds),
    ]);
    return JSON.parse(stdout) as { images: number; seconds: number };
  };
  // Both images counts over the longer of the two times: a process that finishes first leaves
  // the other the whole machine, which must not count.
  const [first, second] = await Promise.all([probe(), probe()]);
  return (first.images + second.images) / Math.max(first.seconds, second.seconds);
}

/** Up to the raster, the whole render of frame 1, or every frame of the file, kept encoded. */
type MemoryStage = 'raster' | 'jpeg' | 'frames';

/** A `kB` line of /proc/self/status (Linux), e.g. VmRSS or VmHWM. */
async function procStatusKiB(field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile('/proc/self/status', 'utf8');
  const value = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1];
  if (value === undefined) throw new Error(`bench: no ${field} in /proc/self/status`);
  return Number(value);
}

/**
 * The child side: RSS just before rendering one file and the peak RSS during it, as JSON on
 * stdout; up to the 8-bit raster (parse, decode, LUT) or the whole render to JPEG. The peak is
 * VmHWM after resetting it (`5` into /proc/self/clear_refs), not getrusage's maxRSS: on Linux
 * that one carries over the parent's RSS through fork and exec, so a child of a large parent
 * would report the parent's size.
 */
async function memoryProbe(path: string, warmPath: string, stage: MemoryStage): Promise<void> {
  await renderDicom(await readFile(warmPath), DEFAULT_RENDER_OPTIONS); // loads the code paths
  const idleKiB = await procStatusKiB('VmRSS');
  await writeFile('/proc/self/clear_refs', '5');
  const bytes = await readFile(path);
  const rssBeforeKiB = await procStatusKiB('VmRSS');
  // What the render worker keeps of a multi-frame file: the encoded images, as the pipeline does.
  let encodedBytes = 0;
  if (stage === 'raster') renderToRaster(bytes, DEFAULT_RENDER_OPTIONS);
  else if (stage === 'jpeg') await renderDicom(bytes, DEFAULT_RENDER_OPTIONS);
  else {
    const kept: Uint8Array[] = [];
    for await (const image of renderDicomFrames(bytes, {
      ...DEFAULT_RENDER_OPTIONS,
      frames: 'all',
    })) {
      kept.push(image.bytes);
      encodedBytes += image.bytes.byteLength;
    }
  }
  const peakKiB = await procStatusKiB('VmHWM');
  process.stdout.write(JSON.stringify({ idleKiB, rssBeforeKiB, peakKiB, encodedBytes }) + '\n');
}

interface MemoryResult {
  extraKiB: number;
  /** The peak over the RSS before the file was read: the input bytes counted too. */
  withInputKiB: number;
  peakKiB: number;
  baselineKiB: number;
  /** The encoded images kept (every-frame stage only). */
  encodedKiB: number;
}

/** Median (by the increase) of `runs` fresh child processes, each probing one render. */
async function peakMemory(
  path: string,
  warmPath: string,
  stage: MemoryStage,
  runs = 3,
): Promise<MemoryResult> {
  const results: MemoryResult[] = [];
  for (let i = 0; i < runs; i += 1) {
    const stdout = await mustRun(process.execPath, [
      RUN_SCRIPT,
      'render',
      '--memory-probe',
      path,
      '--memory-warm',
      warmPath,
      '--memory-stage',
      stage,
    ]);
    const probe = JSON.parse(stdout) as {
      idleKiB: number;
      rssBeforeKiB: number;
      peakKiB: number;
      encodedBytes: number;
    };
    // The baseline is the RSS just before the render, with the input bytes and a warm renderer
    // in it, so the difference to the peak is what rendering the frame costs.
    results.push({
      extraKiB: probe.peakKiB - probe.rssBeforeKiB,
      withInputKiB: probe.peakKiB - probe.idleKiB,
      peakKiB: probe.peakKiB,
      baselineKiB: probe.rssBeforeKiB,
      encodedKiB: probe.encodedBytes / 1024,
    });
  }
  results.sort((x, y) => x.extraKiB - y.extraKiB);
  return results[Math.floor(results.length / 2)]!;
}

// ---------------------------------------------------------------------------------------------
// Report

const ms = (value: number | null): string =>
  value === null ? 'n/a' : value < 10 ? value.toFixed(2) : value.toFixed(1);
const ratio = (value: number | null): string =>
  value === null || !Number.isFinite(value) ? 'n/a' : `${value.toFixed(2)}×`;

function table(rows: readonly Row[]): string {
  const header = [
    'image',
    'ours ms',
    'floor ms',
    'pydicom+PIL ms',
    'dcmj2pnm ms',
    'ours/floor',
    'pydicom/ours',
    'dcmj2pnm/ours',
  ];
  const body = rows.map((row) => [
    row.label,
    ms(row.ours),
    ms(row.floor),
    ms(row.pydicom),
    ms(row.dcmj2pnm),
    ratio(row.ours / row.floor),
    ratio(row.pydicom === null ? null : row.pydicom / row.ours),
    ratio(row.dcmj2pnm === null ? null : row.dcmj2pnm / row.ours),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...body.map((cells) => cells[column]!.length)),
  );
  const line = (cells: readonly string[]): string =>
    '| ' +
    cells
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!),
      )
      .join(' | ') +
    ' |';
  return [
    line(header),
    '|' +
      widths
        .map(
          (width, column) =>
            (column === 0 ? '-' : '') + '-'.repeat(width + 1) + (column === 0 ? '' : ':'),
        )
        .join('|') +
      '|',
    ...body.map(line),
  ].join('\n');
}

export async function renderBench(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      iterations: { type: 'string', default: '15' },
      'peer-iterations': { type: 'string', default: '7' },
      rounds: { type: 'string', default: '4' },
      'memory-probe': { type: 'string' },
      'memory-warm': { type: 'string' },
      'memory-stage': { type: 'string', default: 'jpeg' },
      'throughput-probe': { type: 'string' },
    },
  });
  if (values['throughput-probe'] !== undefined) {
    const paths = values['throughput-probe'].split(',');
    const files = await Promise.all(paths.map(async (path) => ({ bytes: await readFile(path) })));
    const rate = await throughput(files, 1, Number(values.rounds), 'wasm');
    const images = files.length * Number(values.rounds);
    process.stdout.write(`${JSON.stringify({ images, seconds: images / rate })}\n`);
    return;
  }
  if (values['memory-probe'] !== undefined) {
    const path = values['memory-probe'];
    const stages: readonly MemoryStage[] = ['raster', 'jpeg', 'frames'];
    const stage = stages.find((name) => name === values['memory-stage']) ?? 'jpeg';
    await memoryProbe(path, values['memory-warm'] ?? path, stage);
    return;
  }
  const iterations = Number(values.iterations);
  const peerIterations = Number(values['peer-iterations']);
  const rounds = Number(values.rounds);
  if (![iterations, peerIterations, rounds].every((n) => Number.isInteger(n) && n >= 1)) {
    throw new Error('bench: --iterations, --peer-iterations and --rounds take a count ≥ 1');
  }
  const started = performance.now();
  const dir = await mkdtemp(join(tmpdir(), 'eden-render-bench-'));
  try {
    process.stderr.write('bench: generating files…\n');
    const files = await generateFiles(dir);
    const rows: Row[] = [];
    for (const file of files) {
      process.stderr.write(`bench: ${file.label}…\n`);
      const ours = await timeOurs(file, iterations);
      const floor = await timeFloor(file.bytes, iterations);
      // The second row of a JPEG 2000 file differs in our decoder only: the peers stand.
      const twin = rows.find((row) => row.path === file.path);
      const pydicom = twin?.peers.pydicom ?? (await timePydicom(file, peerIterations));
      const dcmj2pnm = twin?.peers.dcmj2pnm ?? (await timeDcmj2pnm(file, dir, peerIterations));
      rows.push({
        label: file.label,
        path: file.path,
        peers: { pydicom, dcmj2pnm },
        ours,
        floor,
        pydicom: pydicom.ms,
        dcmj2pnm: dcmj2pnm.ms,
        notes: [
          ...(pydicom.note === undefined ? [] : [`pydicom+PIL: ${pydicom.note}`]),
          ...(dcmj2pnm.note === undefined ? [] : [`dcmj2pnm: ${dcmj2pnm.note}`]),
        ],
      });
    }
    process.stderr.write('bench: throughput at 1 and 2 threads…\n');
    // One row per file: its WASM row, so that one worker thread is one core.
    const cost = new Map(rows.map((row) => [row.label, row.ours]));
    const slowestFirst = files
      .filter((file) => file.j2kDecoder !== 'native')
      .sort((a, b) => cost.get(b.label)! - cost.get(a.label)!);
    const one = await throughput(slowestFirst, 1, rounds, 'wasm');
    const two = await throughput(slowestFirst, 2, rounds, 'wasm');
    const native = nativeOpenJpegAvailable()
      ? await throughput(slowestFirst, 2, rounds, 'native')
      : undefined;
    const processes = await separateProcesses(slowestFirst, rounds);

    process.stderr.write('bench: peak memory…\n');
    const size = 3000;
    const decodedBytes = size * size * 2;
    const big = radiograph('DRX Vista', size, size);
    const bigPath = join(dir, 'memory-3000.dcm');
    await writeFile(bigPath, big);
    const ctPath = files.find((file) => file.label.startsWith('CT'))!.path;
    const memory = await peakMemory(bigPath, ctPath, 'jpeg');
    const rasterMemory = await peakMemory(bigPath, ctPath, 'raster');
    const volumeFrames = 500;
    const volumeSize = 512;
    const volumePath = join(dir, 'memory-volume.dcm');
    await writeFile(volumePath, ctVolume(volumeFrames, volumeSize));
    const volume = await peakMemory(volumePath, ctPath, 'frames');
    const frameKiB = (volumeSize * volumeSize * 2) / 1024;

    const mib = (kib: number): string => (kib / 1024).toFixed(0);
    const decodedMiB = decodedBytes / 2 ** 20;
    const times = (kib: number): string => `${(kib / 1024 / decodedMiB).toFixed(2)}×`;
    const out: string[] = [
      `machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}`,
      `ours and floor: median of ${iterations} after 2 warm-up renders, in process, single thread; ` +
        `pydicom+PIL: median of ${peerIterations} after 2 warm-up in one python3 process per file; ` +
        `dcmj2pnm: median of ${peerIterations} whole processes (+oj +Wi 1) after 1 warm-up`,
      '',
      table(rows),
      ...rows.flatMap((row) => row.notes.map((note) => `  ${row.label} — ${note}`)),
      '',
      `throughput (RenderPool, ${rounds} renders of each of the ${slowestFirst.length} files, slowest first): ` +
        `1 thread ${one.toFixed(1)} images/s, 2 threads ${two.toFixed(1)} images/s → ${(two / one).toFixed(2)}× (target ≥ 1.8×), ` +
        `JPEG 2000 on the one-core WASM decoder; the machine's own scaling for the same work, two ` +
        `1-thread pools in two processes at once: ${processes.toFixed(1)} images/s → ${(processes / one).toFixed(2)}×` +
        (native === undefined
          ? ''
          : `; 2 threads with JPEG 2000 on the native decoder (every core per image): ${native.toFixed(1)} images/s`),
      `peak memory, one 3000×3000 16-bit frame (DX, 14 bits stored; ${(decodedBytes / 1e6).toFixed(0)} MB decoded), ` +
        `fresh process warmed on the CT, peak RSS from VmHWM, median of 3 processes (target ≤ 4×):`,
      `  render to JPEG: RSS ${mib(memory.baselineKiB)} MiB with the input read → peak ${mib(memory.peakKiB)} MiB: ` +
        `+${mib(memory.extraKiB)} MiB = ${times(memory.extraKiB)} the decoded frame; ` +
        `counting the input bytes: +${mib(memory.withInputKiB)} MiB = ${times(memory.withInputKiB)}`,
      `  up to the 8-bit raster only (no encode): +${mib(rasterMemory.extraKiB)} MiB = ${times(rasterMemory.extraKiB)}; ` +
        `counting the input bytes: +${mib(rasterMemory.withInputKiB)} MiB = ${times(rasterMemory.withInputKiB)}`,
      `peak memory, every frame of a ${volumeFrames}-frame ${volumeSize}×${volumeSize} 16-bit CT ` +
        `(${mib(volumeFrames * frameKiB)} MiB of pixels) rendered to JPEG, the images kept as the worker keeps them: ` +
        `+${mib(volume.extraKiB)} MiB over the RSS with the input read, of which ${mib(volume.encodedKiB)} MiB are the ` +
        `${volumeFrames} JPEGs; the rest, ${mib(volume.extraKiB - volume.encodedKiB)} MiB, is ${((100 * (volume.extraKiB - volume.encodedKiB)) / (volumeFrames * frameKiB)).toFixed(1)}% of the pixels (garbage not yet collected; it does not grow with the frame count)`,
      `total bench time ${((performance.now() - started) / 1000).toFixed(0)} s`,
    ];
    process.stdout.write(out.join('\n') + '\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
