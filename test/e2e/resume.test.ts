import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  collect,
  datasetFiles,
  exportFiles,
  fileIdentities,
  listFiles,
  runCli,
  startCli,
  tempDir,
} from '../support/cli.js';
import { csvObjects } from '../support/rfc4180.js';

describe('kill -9 in the middle of a run, then resume', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('resume'));
  });
  afterAll(async () => {
    await cleanup();
  });

  it('delivers every instance exactly once and leaves no partial file', async () => {
    // Create the sample PACS first, so the killed run is killed while it delivers.
    // Every gate but near-duplicate: of a re-sent copy and its original the first processed is
    // kept, which may differ between this run and the reference; the other exclusions must
    // survive the kill like deliveries.
    const gates = ['--quality-gates', 'non-clinical,localizer,derived,blank,inverted,short-report'];
    const setup = await runCli(
      ['demo', '--studies', '4', '--dest', 'file://./warmup', ...gates],
      dir,
    );
    expect(setup.code).toBe(0);

    const args = [
      'demo',
      '--studies',
      '4',
      '--concurrency',
      '1',
      '--render-threads',
      '1',
      ...gates,
    ];
    const child = startCli(args, dir);
    const done = collect(child);
    const images = join(dir, 'output/eden-dataset-vlms/sample-test/images-jpg');
    for (let waited = 0; (await listFiles(images)).length < 3; waited += 50) {
      if (waited > 120_000) throw new Error('the run delivered nothing within 2 minutes');
      await sleep(50);
    }
    child.kill('SIGKILL');
    const killed = await done;
    expect(killed.signal).toBe('SIGKILL');

    const output = join(dir, 'output');
    const dataset = join(output, 'eden-dataset-vlms/sample-test');
    const survivors = await fileIdentities(dataset);
    expect(survivors.has('README-dataset.md')).toBe(false);

    const resumed = await runCli(['run', '--resume'], dir);
    expect(resumed.stderr).not.toMatch(/ERROR|FATAL/);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('Run: resumed');

    const rows = csvObjects(
      await readFile(join(dataset, 'dicom-reports-extracted-sample.csv'), 'utf8'),
    );
    const warmup = csvObjects(
      await readFile(
        join(dir, 'warmup/eden-dataset-vlms/sample-test/dicom-reports-extracted-sample.csv'),
        'utf8',
      ),
    );
    expect(rows.map((row) => [row.instance_id, row.status])).toEqual(
      warmup.map((row) => [row.instance_id, row.status]),
    );
    expect(rows.some((row) => row.status === 'excluded')).toBe(true);
    const delivered = rows.filter((row) => row.status === 'delivered');
    const files = await listFiles(dataset);
    expect(files).toEqual(
      datasetFiles(
        delivered.map((row) => row.instance_id as string),
        await exportFiles(dataset),
      ),
    );
    // Objects delivered before the kill were not written again.
    const after = await fileIdentities(dataset);
    for (const [file, identity] of survivors) expect(after.get(file)).toBe(identity);
    // Every object is whole: the same bytes as a run that was never interrupted.
    for (const file of files.filter((name) => /^(dicom-files|images-jpg|exports)\//.test(name))) {
      const mine = await readFile(join(dataset, file));
      const reference = await readFile(join(dir, 'warmup/eden-dataset-vlms/sample-test', file));
      expect(mine.equals(reference), file).toBe(true);
    }
    expect(await listFiles(join(output, '.eden-tmp'))).toEqual([]);

    // And the same command once more: nothing left to do.
    const again = await runCli(args, dir);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already complete');
  }, 300_000);

  it('stops cleanly on Ctrl-C with exit 130, logs JSON lines, and the same command finishes', async () => {
    const args = [
      'demo',
      '--studies',
      '4',
      '--dest',
      'file://./interrupted',
      '--concurrency',
      '1',
      '--render-threads',
      '1',
      '--log-format',
      'json',
    ];
    const child = startCli(args, dir);
    const done = collect(child);
    const images = join(dir, 'interrupted/eden-dataset-vlms/sample-test/images-jpg');
    for (let waited = 0; (await listFiles(images)).length < 2; waited += 50) {
      if (waited > 120_000) throw new Error('the run delivered nothing within 2 minutes');
      await sleep(50);
    }
    child.kill('SIGINT');
    const stopped = await done;
    expect(stopped.code).toBe(130);
    const records = stopped.stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(records.some((record) => record.msg.includes('finishing the instances in flight'))).toBe(
      true,
    );

    const finished = await runCli(args, dir);
    expect(finished.code).toBe(0);
    expect(finished.stdout).toContain('Run: resumed');
    expect(finished.stdout).toMatch(/Skipped \(settled earlier\): [1-9]/);
  }, 300_000);
});
