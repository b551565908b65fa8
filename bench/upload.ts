/**
 * `npm run bench -- upload [--objects 96 --sizes-mib 0.5,15 --concurrency 1,4,16 --repeat 3]`
 *
 * Upload throughput into the GCS emulator (`npm run gcs-emulator`, started as its own process
 * in memory) through the pipeline's own GCS store (MD5 + SHA-256, ifGenerationMatch 0,
 * resumable above 8 MiB), at each number of uploads in flight. Objects are the sizes the
 * pipeline writes: JPEGs of about 0.5 MiB and CR DICOMs of about 15 MiB, alternating. Prints
 * the median objects/s and MB/s of `--repeat` rounds, each into fresh object names. On one
 * machine the client and the emulator share the cores: the figures bound what the client can
 * push, not what Cloud Storage takes.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Storage } from '@google-cloud/storage';
import { openGcsStore } from '../src/store/gcs-store.js';

const EMULATOR = fileURLToPath(new URL('../tools/gcs-emulator/main.js', import.meta.url));
const BUCKET = 'eden-bench-upload';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function startEmulator(): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, [EMULATOR, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.setEncoding('utf8');
  for await (const chunk of child.stdout) {
    output += String(chunk);
    const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
    if (url !== undefined) return { url, stop: () => child.kill('SIGTERM') };
  }
  throw new Error(`bench: the GCS emulator did not start:\n${output}`);
}

export async function uploadBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      objects: { type: 'string', default: '96' },
      'sizes-mib': { type: 'string', default: '0.5,15' },
      concurrency: { type: 'string', default: '1,4,16' },
      repeat: { type: 'string', default: '3' },
    },
  });
  const count = Number(values.objects);
  const sizes = values['sizes-mib'].split(',').map((mib) => Math.round(Number(mib) * 2 ** 20));
  const levels = values.concurrency.split(',').map(Number);
  const repeat = Number(values.repeat);
  const payloads = sizes.map((size) => new Uint8Array(randomBytes(size)));
  const emulator = await startEmulator();
  try {
    const storage = new Storage({ apiEndpoint: emulator.url, projectId: 'bench' });
    await storage.createBucket(BUCKET);
    const store = await openGcsStore({ bucket: BUCKET, apiEndpoint: emulator.url });
    const totalBytes = Array.from({ length: count }, (_, index) => payloads[index % sizes.length]!)
      .map((payload) => payload.byteLength)
      .reduce((sum, size) => sum + size, 0);
    process.stdout.write(
      `Uploads into the GCS emulator: ${count} objects of ${values['sizes-mib']} MiB alternating ` +
        `(${(totalBytes / 1e6).toFixed(0)} MB), median of ${repeat}\n\n` +
        '| uploads in flight | objects/s | MB/s | vs 1 in flight |\n|---|---|---|---|\n',
    );
    let single: number | undefined;
    let round = 0;
    for (const level of levels) {
      const rates: number[] = [];
      for (let index = 0; index < repeat; index += 1) {
        round += 1;
        const next = { value: 0 };
        const started = performance.now();
        await Promise.all(
          Array.from({ length: level }, async () => {
            for (let item = next.value++; item < count; item = next.value++) {
              const payload = payloads[item % sizes.length]!;
              await store.create(`round-${round}/object-${item}`, payload, 'application/dicom');
            }
          }),
        );
        rates.push(count / ((performance.now() - started) / 1000));
        // The emulator keeps objects in memory: each round's go before the next (not timed).
        await storage.bucket(BUCKET).deleteFiles({ prefix: `round-${round}/` });
      }
      const objectsPerSecond = median(rates);
      single ??= objectsPerSecond;
      const mbPerSecond = (objectsPerSecond * totalBytes) / count / 1e6;
      process.stdout.write(
        `| ${level} | ${objectsPerSecond.toFixed(1)} | ${mbPerSecond.toFixed(1)} | ${(objectsPerSecond / single).toFixed(2)}× |\n`,
      );
    }
    await store.close();
  } finally {
    emulator.stop();
  }
}
