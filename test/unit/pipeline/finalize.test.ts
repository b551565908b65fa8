import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { datasetKeys } from '../../../src/dataset/object-keys.js';
import { splitKeyFingerprint } from '../../../src/dataset/patient-splits.js';
import { EtlError } from '../../../src/domain/errors.js';
import type { RunSpec } from '../../../src/domain/run-spec.js';
import { finalizeRun } from '../../../src/pipeline/finalize.js';
import { createLimiter } from '../../../src/pipeline/limiter.js';
import { processBatch } from '../../../src/pipeline/process-batch.js';
import type { FetchTarget } from '../../../src/source/fetcher.js';
import { Pseudonymizer } from '../../../src/deid/pseudonyms.js';
import type { DeidContext } from '../../../src/pipeline/context.js';
import { pipelineHarness } from '../../support/pipeline-harness.js';
import { page, selectedInstance, TEST_SPEC } from '../../support/ledger-fixtures.js';
import { recordingLogger } from '../../support/recording-logger.js';
import { grayDicom } from '../../support/render-dicom.js';
import { parseCsv } from '../../support/rfc4180.js';

const SIDE = 16;

function gradient(seed: number): Uint8Array {
  return grayDicom({
    rows: SIDE,
    columns: SIDE,
    pixels: Uint16Array.from({ length: SIDE * SIDE }, (_, i) => (i * 11 + seed * 97) % 4096),
    bitsStored: 12,
    window: { center: 2048, width: 4096 },
  });
}
const BLANK = grayDicom({
  rows: SIDE,
  columns: SIDE,
  pixels: new Uint16Array(SIDE * SIDE).fill(500),
  bitsStored: 12,
});

const SPLIT_KEY = 'finalize-test-split-key-0123456';
const SPEC: RunSpec = {
  ...TEST_SPEC,
  prefix: 'ds',
  destination: 'file:///data/out',
  batchSize: 10,
  quality: { gates: ['blank'], minReportChars: 0 },
  splits: { ...TEST_SPEC.splits, keyFingerprint: splitKeyFingerprint(SPLIT_KEY) },
};
const KEYS = datasetKeys('ds');
const TOOL_VERSION = '9.8.7-test';

/** The files of a settled run: study 1 delivered twice, study 2 failed, study 3 excluded. */
const ANSWERS: Record<string, Uint8Array | EtlError> = {
  1: gradient(1),
  2: gradient(2),
  3: new EtlError('FILE_MISSING', 'no such file'),
  4: BLANK,
};

describe('finalizeRun', () => {
  const h = pipelineHarness('finalize');

  /** Plans the run and settles every instance through the real pipeline into a fresh store. */
  async function settledRun(
    runId: string,
    spec: RunSpec = SPEC,
    answers: Record<string, Uint8Array | EtlError> = ANSWERS,
    deid?: DeidContext,
    firstReport = 'Heart size normal.',
  ): Promise<void> {
    await h.freshStore();
    await h.ledger.createRun(runId, spec);
    await h.ledger.writeSelection(runId, spec.batchSize, async (addPage) => {
      await addPage(
        ...page([
          selectedInstance(1, 1, [[firstReport, '2024-01-01T09:00:00.000Z']]),
          selectedInstance(1, 2, [[firstReport, '2024-01-01T09:00:00.000Z']]),
          selectedInstance(2, 3, [['Left effusion.', '2024-01-02T09:00:00.000Z']]),
          selectedInstance(3, 4, [['Clear lungs.', '2024-01-03T09:00:00.000Z']]),
        ]),
      );
      return 1;
    });
    const run = await h.ledger.findRun(runId);
    if (run === null) throw new Error('not planned');
    const fetcher = {
      fetch: (target: FetchTarget) => {
        const answer = answers[target.instanceId];
        if (answer === undefined) return Promise.reject(new Error(`no file ${target.instanceId}`));
        if (answer instanceof EtlError) return Promise.reject(answer);
        return Promise.resolve(new Uint8Array(answer));
      },
    };
    const ctx = {
      ledger: h.ledger,
      store: h.store,
      fetcher,
      renderer: h.pool,
      logger: recordingLogger().logger,
      ...(deid === undefined ? {} : { deid }),
    };
    const limit = createLimiter(2, new AbortController().signal);
    await processBatch(ctx, run, KEYS, 0, limit, { attempts: 1, baseDelayMs: 1 }, () => undefined);
  }

  const text = (relative: string) => readFile(join(h.root, 'ds', relative), 'utf8');
  const jsonl = async (relative: string) =>
    (await text(relative))
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  /** The CSV as objects keyed by its header. */
  async function csvRows(relative: string): Promise<Record<string, string>[]> {
    const [header, ...records] = parseCsv(await text(relative));
    return records.map((record) =>
      Object.fromEntries((header ?? []).map((name, index) => [name, record[index] ?? ''])),
    );
  }

  /** Every file under the store root (but its temp dir), relative to it, with its bytes. */
  async function snapshot(): Promise<Record<string, string>> {
    const entries = await readdir(h.root, { recursive: true, withFileTypes: true });
    const files: Record<string, string> = {};
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      const relative = path.slice(h.root.length + 1);
      if (relative.startsWith('.eden-tmp')) continue;
      files[relative] = (await readFile(path)).toString('base64');
    }
    return files;
  }

  it('writes the dataset CSV with one row per selected instance and what became of it', async () => {
    await settledRun('csv');
    const result = await finalizeRun(h.ledger, h.store, KEYS, 'csv', TOOL_VERSION, SPLIT_KEY);
    const rows = await csvRows('dicom-reports-extracted-sample.csv');
    expect(
      rows.map((row) => [row.instance_id, row.study_id, row.status, row.error_code, row.dicom_key]),
    ).toEqual([
      ['1', '1', 'delivered', '', 'dicom-files/1.dcm'],
      ['2', '1', 'delivered', '', 'dicom-files/2.dcm'],
      ['3', '2', 'failed', 'FILE_MISSING', ''],
      ['4', '3', 'excluded', '', ''],
    ]);
    expect(rows[0]).toMatchObject({
      report_value: 'Heart size normal.',
      image_key: 'images-jpg/1.jpg',
      width: String(SIDE),
    });
    expect(result.failuresKey).toBe('ds/failures.csv');
    expect(result.counts).toMatchObject({ total: 4, delivered: 2, failed: 1, excluded: 1 });
    expect(result.run.status).toBe('finalized');
    expect(result.run.finishedAt).not.toBeNull();
  });

  it('lists the failed and the excluded instances apart', async () => {
    await settledRun('lists');
    await finalizeRun(h.ledger, h.store, KEYS, 'lists', TOOL_VERSION, SPLIT_KEY);
    const failures = await csvRows('failures.csv');
    expect(failures.map((row) => [row.instance_id, row.error_code])).toEqual([
      ['3', 'FILE_MISSING'],
    ]);
    expect(failures[0]?.error_message).toContain('no such file');
    const excluded = await csvRows('excluded.csv');
    expect(excluded.map((row) => [row.instance_id, row.exclusion_reason])).toEqual([
      ['4', 'BLANK_IMAGE'],
    ]);
  });

  it('writes metadata.jsonl and studies.jsonl for delivered images, a study in one split', async () => {
    await settledRun('jsonl');
    await finalizeRun(h.ledger, h.store, KEYS, 'jsonl', TOOL_VERSION, SPLIT_KEY);
    const metadata = await jsonl('metadata.jsonl');
    expect(metadata.map((line) => [line.file_name, line.instance_id, line.study_id])).toEqual([
      ['images-jpg/1.jpg', '1', '1'],
      ['images-jpg/2.jpg', '2', '1'],
    ]);
    expect(['train', 'test']).toContain(metadata[0]?.split);
    expect(metadata[1]?.split).toBe(metadata[0]?.split);
    const studies = await jsonl('studies.jsonl');
    expect(studies).toHaveLength(1);
    expect(studies[0]).toMatchObject({
      study_id: '1',
      report: 'Heart size normal.',
      split: metadata[0]?.split,
      file_names: ['images-jpg/1.jpg', 'images-jpg/2.jpg'],
    });
  });

  it('writes a manifest whose checksums match the bytes stored, card and manifest left out', async () => {
    await settledRun('manifest');
    await finalizeRun(h.ledger, h.store, KEYS, 'manifest', TOOL_VERSION, SPLIT_KEY);
    const manifest = JSON.parse(await text('manifest.json')) as {
      version: string;
      objects: Record<string, { sha256: string; size: number }>;
    };
    expect(Object.keys(manifest.objects)).toEqual([
      'dicom-files/1.dcm',
      'dicom-files/2.dcm',
      'dicom-reports-extracted-sample.csv',
      'excluded.csv',
      'failures.csv',
      'images-jpg/1.jpg',
      'images-jpg/2.jpg',
      'metadata.jsonl',
      'studies.jsonl',
    ]);
    for (const [key, entry] of Object.entries(manifest.objects)) {
      const bytes = await readFile(join(h.root, 'ds', key));
      expect({ key, sha256: createHash('sha256').update(bytes).digest('hex') }).toEqual({
        key,
        sha256: entry.sha256,
      });
      expect(entry.size).toBe(bytes.byteLength);
    }
    expect(manifest.version).toMatch(/^sha256:[0-9a-f]{16}$/);
  });

  it('writes the card with the run, the counts and where the dataset is', async () => {
    await settledRun('card');
    await finalizeRun(h.ledger, h.store, KEYS, 'card', TOOL_VERSION, SPLIT_KEY);
    const card = await text('README-dataset.md');
    expect(card).toContain('`card`');
    expect(card).toContain(`\`${TOOL_VERSION}\``);
    expect(card).toContain('`file:///data/out/ds`');
    expect(card).toMatch(/\| Instances selected \| 4 \|/);
    expect(card).toMatch(/\| Instances delivered \(DICOM \+ image\) \| 2 \|/);
    expect(card).toMatch(/\| Instances failed \| 1 \|/);
    expect(card).toMatch(/\| Instances excluded by quality gates \| 1 \|/);
    expect(card).toContain('FILE_MISSING');
    expect(card).toContain(TEST_SPEC.query.text);
  });

  it('counts the instruction samples of the run’s own templates in the card', async () => {
    const templates = [
      { id: 'impression_only', target: 'impression' as const, requires: [], prompt: 'Sum up.' },
    ];
    const spec: RunSpec = { ...SPEC, exports: ['llava'], instructionTemplates: templates };
    await settledRun('exports', spec);
    await finalizeRun(h.ledger, h.store, KEYS, 'exports', TOOL_VERSION, SPLIT_KEY);
    const card = await text('README-dataset.md');
    expect(card).toContain('### Instruction exports');
    expect(card).toContain('`impression_only` (answer: impression; prompt: "Sum up.")');
    // The test images carry no view: the one delivered study is skipped, and said to be.
    expect(card).toContain('| impression_only: no projection view | 1 |');
    expect(card).toContain('| `exports` | `llava` |');
  });

  it('rewrites the same bytes when run again, keeping the first finish time', async () => {
    await settledRun('twice');
    const first = await finalizeRun(h.ledger, h.store, KEYS, 'twice', TOOL_VERSION, SPLIT_KEY);
    const before = await snapshot();
    const again = await finalizeRun(h.ledger, h.store, KEYS, 'twice', TOOL_VERSION, SPLIT_KEY);
    expect(await snapshot()).toEqual(before);
    expect(again.run.finishedAt).toBe(first.run.finishedAt);
    expect(again.counts).toEqual(first.counts);
  });

  it('refuses another split key, writing nothing and leaving the run unfinished', async () => {
    await settledRun('otherkey');
    const before = await snapshot();
    const error = await finalizeRun(
      h.ledger,
      h.store,
      KEYS,
      'otherkey',
      TOOL_VERSION,
      'another-split-key-entirely-0000',
    ).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(EtlError);
    expect((error as EtlError).code).toBe('CONFIG_INVALID');
    expect((error as EtlError).subject).toBe('otherkey');
    expect(await snapshot()).toEqual(before);
    const run = await h.ledger.findRun('otherkey');
    expect(run).toMatchObject({ status: 'planned', finishedAt: null });
  });

  it('releases a de-identifying run’s rows pseudonymised, its reports scrubbed', async () => {
    const secret = 'finalize-deid-secret-0123456789';
    const pseudonymizer = new Pseudonymizer(secret);
    const spec: RunSpec = {
      ...SPEC,
      deid: {
        profile: 'basic',
        keep: [],
        remove: [],
        staffNames: [],
        quarantine: false,
        keyId: pseudonymizer.keyId(),
      },
    };
    const named = (seed: number) =>
      grayDicom({
        rows: SIDE,
        columns: SIDE,
        pixels: Uint16Array.from({ length: SIDE * SIDE }, (_, i) => (i * 7 + seed * 53) % 4096),
        bitsStored: 12,
        window: { center: 2048, width: 4096 },
        extra: [
          { tag: 0x00100010, vr: 'PN', value: 'Cnryfinalize^Patient' },
          { tag: 0x00100020, vr: 'LO', value: 'CNRYPID7788' },
        ],
      });
    await settledRun(
      'deid',
      spec,
      { ...ANSWERS, 1: named(1), 2: named(2) },
      { options: { secret, keep: [], remove: [] }, pseudonymizer },
      'Patient Cnryfinalize (CNRYPID7788): heart size normal.',
    );
    await finalizeRun(h.ledger, h.store, KEYS, 'deid', TOOL_VERSION, SPLIT_KEY);
    const released = ['dicom-reports-extracted-sample.csv', 'metadata.jsonl', 'studies.jsonl'];
    for (const name of released) {
      const content = await text(name);
      expect({ name, leaks: /cnryfinalize|CNRYPID7788/i.test(content) }).toEqual({
        name,
        leaks: false,
      });
    }
    const rows = await csvRows('dicom-reports-extracted-sample.csv');
    expect(rows).toHaveLength(4);
    expect(rows.map((row) => row.status)).toEqual(['delivered', 'delivered', 'failed', 'excluded']);
    expect(rows.map((row) => row.study_id)).not.toContain('1');
    expect(rows.map((row) => row.file_path)).toEqual(['', '', '', '']);
    expect(rows[0]?.report_value).toContain('heart size normal.');
    // Both instances of study 1 keep one study id, so they stay one study in the dataset.
    expect(rows[0]?.study_id).toBe(rows[1]?.study_id);
    expect(
      rows.map((row) => row.instance_id ?? '').filter((id) => ['1', '2', '3', '4'].includes(id)),
    ).toEqual([]);
    // The files are named after the released ids, so the CSV's keys lead to them.
    for (const row of rows.slice(0, 2)) {
      expect(row.dicom_key).toBe(`dicom-files/${row.instance_id}.dcm`);
      expect((await readFile(join(h.root, 'ds', row.dicom_key ?? ''))).byteLength).toBeGreaterThan(
        0,
      );
    }
  });

  it('refuses a run with instances still pending, writing no dataset file', async () => {
    await h.freshStore();
    await h.ledger.createRun('pending', SPEC);
    await h.ledger.writeSelection('pending', SPEC.batchSize, async (addPage) => {
      await addPage(...page([selectedInstance(1, 1, [])]));
      return 1;
    });
    await expect(
      finalizeRun(h.ledger, h.store, KEYS, 'pending', TOOL_VERSION, SPLIT_KEY),
    ).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(await snapshot()).toEqual({});
    const run = await h.ledger.findRun('pending');
    expect(run?.status).toBe('planned');
  });
});
