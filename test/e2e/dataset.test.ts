import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXCLUSION_REASONS } from '../../src/domain/exclusions.js';
import { listFiles, runCli, tempDir, type CliResult } from '../support/cli.js';
import { csvObjects } from '../support/rfc4180.js';

const execFileAsync = promisify(execFile);

/**
 * The rules by which Hugging Face `datasets.load_dataset("imagefolder", data_dir=DIR)` reads a
 * folder (folder_based_builder.py): files with an image extension are images; metadata.csv,
 * metadata.jsonl or metadata.parquet are metadata (one format only), whose `file_name` is
 * joined to the metadata file's directory; keys named `file_name`, `*_file_name`,
 * `file_names` or `*_file_names` become image columns; the column types are inferred from the
 * first lines and every later line is cast to them; directory and file names with split words
 * (train, test, validation, …) make it infer splits from paths.
 */
const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png']);
const METADATA_FILES = new Set(['metadata.csv', 'metadata.jsonl', 'metadata.parquet']);
const SPLIT_WORDS =
  /(^|[-._ 0-9/])(train|training|test|testing|eval|evaluation|valid|validation|val|dev)([-._ 0-9/]|$)/i;

/** JSON type of a value, nested; null fits any. */
function shape(value: unknown): unknown {
  if (value === null) return null;
  if (Array.isArray(value)) return ['array', value.length === 0 ? null : shape(value[0])];
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, shape(item)]),
    );
  }
  // pyarrow's JSON reader unifies integers and doubles into doubles.
  return typeof value;
}

function mergeShapes(a: unknown, b: unknown, path: string, problems: string[]): unknown {
  if (a === null) return b;
  if (b === null) return a;
  if (typeof a !== 'object' || typeof b !== 'object') {
    if (a !== b) problems.push(`${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    return a;
  }
  if (Array.isArray(a) !== Array.isArray(b)) problems.push(`${path}: array vs object`);
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.join() !== keysB.join()) {
    problems.push(`${path}: keys ${keysA.join()} vs ${keysB.join()}`);
  }
  return Object.fromEntries(
    keysA.map((key) => [
      key,
      mergeShapes(
        (a as Record<string, unknown>)[key],
        (b as Record<string, unknown>)[key],
        `${path}.${key}`,
        problems,
      ),
    ]),
  );
}

/** What `load_dataset("imagefolder", data_dir=root)` would object to, and the rows it would load. */
async function imagefolderProblems(
  root: string,
): Promise<{ problems: string[]; rows: Record<string, unknown>[] }> {
  const files = await listFiles(root);
  const problems: string[] = [];
  const metadataFiles = files.filter((file) => METADATA_FILES.has(posix.basename(file)));
  if (metadataFiles.length !== 1) problems.push(`metadata files: ${metadataFiles.join(', ')}`);
  for (const file of files) {
    if (SPLIT_WORDS.test(file)) problems.push(`path suggests a split: ${file}`);
  }
  const metadataFile = metadataFiles[0] ?? 'metadata.jsonl';
  const base = posix.dirname(metadataFile) === '.' ? '' : `${posix.dirname(metadataFile)}/`;
  const text = await readFile(join(root, metadataFile), 'utf8');
  const rows = text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  let merged: unknown = null;
  for (const row of rows) merged = mergeShapes(merged, shape(row), 'line', problems);
  const named = new Set<string>();
  for (const row of rows) {
    for (const key of Object.keys(row)) {
      if (key !== 'file_name' && /(^|_)file_names?$/.test(key)) {
        problems.push(`second image column: ${key}`);
      }
    }
    const name = row.file_name;
    if (typeof name !== 'string') {
      problems.push('a line without a string file_name');
      continue;
    }
    const path = posix.normalize(`${base}${name}`);
    if (name.startsWith('/') || path.startsWith('..')) problems.push(`file_name escapes: ${name}`);
    if (!IMAGE_EXTENSIONS.has(posix.extname(path).toLowerCase())) {
      problems.push(`not an image extension: ${name}`);
    }
    if (!files.includes(path)) problems.push(`file_name without a file: ${name}`);
    if (named.has(path)) problems.push(`file_name twice: ${name}`);
    named.add(path);
  }
  for (const file of files) {
    if (IMAGE_EXTENSIONS.has(posix.extname(file).toLowerCase()) && !named.has(file)) {
      problems.push(`image without metadata: ${file}`);
    }
  }
  return { problems, rows };
}

describe('the dataset a VLM team trains on (sample PACS, 8 studies)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let demo: CliResult;
  const dataset = () => join(dir, 'output/eden-dataset-vlms/sample-test');

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('dataset'));
    demo = await runCli(['demo', '--exports', 'all'], dir);
  }, 300_000);

  afterAll(async () => {
    await cleanup();
  });

  it('excludes every quality-gate case of the sample PACS, lists each, and still exits 0', async () => {
    expect(demo.stderr).not.toMatch(/ERROR|FATAL/);
    expect(demo.code).toBe(0);
    expect(demo.stdout).toMatch(/Failed: 0/);
    const excluded = csvObjects(await readFile(join(dataset(), 'excluded.csv'), 'utf8'));
    // Every reason but the de-identification quarantine, which only a de-identifying run applies.
    expect(new Set(excluded.map((row) => row.exclusion_reason))).toEqual(
      new Set(Object.keys(EXCLUSION_REASONS).filter((reason) => reason !== 'BURNED_IN_RISK')),
    );
    expect(demo.stdout).toContain(`Excluded by quality gates: ${excluded.length}`);
    const rows = csvObjects(
      await readFile(join(dataset(), 'dicom-reports-extracted-sample.csv'), 'utf8'),
    );
    const files = new Set(await listFiles(dataset()));
    for (const row of excluded) {
      expect(rows.find((r) => r.instance_id === row.instance_id)?.status).toBe('excluded');
      expect(files.has(`dicom-files/${row.instance_id}.dcm`)).toBe(false);
      expect(files.has(`images-jpg/${row.instance_id}.jpg`)).toBe(false);
    }
    const card = await readFile(join(dataset(), 'README-dataset.md'), 'utf8');
    for (const reason of Object.keys(EXCLUSION_REASONS)) {
      if (reason !== 'BURNED_IN_RISK') expect(card).toContain(`\`${reason}\``);
    }
  });

  it('loads by the imagefolder rules, one line per image with its split and report sections', async () => {
    const { problems, rows } = await imagefolderProblems(dataset());
    expect(problems).toEqual([]);
    const csv = csvObjects(
      await readFile(join(dataset(), 'dicom-reports-extracted-sample.csv'), 'utf8'),
    );
    expect(rows).toHaveLength(csv.filter((row) => row.status === 'delivered').length);
    for (const row of rows) {
      expect(['train', 'validate', 'test']).toContain(row.split);
      expect(row.report).not.toBe('');
    }
    expect(rows.some((row) => (row.sections as { impression: unknown }).impression !== null)).toBe(
      true,
    );
  });

  it('writes the instruction exports, which Python reads, every image path in the folder', async () => {
    const script = [
      'import json, os, sys',
      'root = sys.argv[1]',
      'out = {}',
      'for name in sorted(os.listdir(os.path.join(root, "exports", "llava"))):',
      '    records = json.load(open(os.path.join(root, "exports", "llava", name)))',
      '    for r in records:',
      '        paths = [r["image"]] if "image" in r else r["images"]',
      '        assert r["conversations"][0]["value"].count("<image>") == len(paths), r["id"]',
      '        assert all(os.path.isfile(os.path.join(root, p)) for p in paths), r["id"]',
      '        assert r["conversations"][1]["value"].strip(), r["id"]',
      '    out["llava/" + name] = len(records)',
      'for name in sorted(os.listdir(os.path.join(root, "exports", "messages"))):',
      '    lines = open(os.path.join(root, "exports", "messages", name)).read().splitlines()',
      '    for line in lines:',
      '        record = json.loads(line)',
      '        assert list(record) == ["messages"]',
      '        user, assistant = record["messages"]',
      '        urls = [p["image_url"]["url"] for p in user["content"] if p["type"] == "image_url"]',
      '        assert urls and all(os.path.isfile(os.path.join(root, u)) for u in urls)',
      '        assert assistant["role"] == "assistant" and assistant["content"].strip()',
      '    out["messages/" + name] = len(lines)',
      'print(json.dumps(out))',
    ].join('\n');
    const { stdout } = await execFileAsync('/usr/bin/python3', ['-c', script, dataset()]);
    const counts = JSON.parse(stdout) as Record<string, number>;
    const llava = Object.entries(counts).filter(([name]) => name.startsWith('llava/'));
    expect(llava.length).toBeGreaterThan(0);
    for (const [name, count] of llava) {
      expect(counts[name.replace('llava/', 'messages/').replace('.json', '.jsonl')]).toBe(count);
      expect(name).toMatch(/^llava\/split=[a-z]+\.json$/);
    }
    const manifest = await readFile(join(dataset(), 'manifest.json'), 'utf8');
    expect(manifest).toContain('exports/llava/');
    const card = await readFile(join(dataset(), 'README-dataset.md'), 'utf8');
    expect(card).toContain('### Instruction exports');
  });

  it('writes WebDataset shards that tarfile and Pillow read, one sample per study', async () => {
    const script = [
      'import io, json, os, sys, tarfile',
      'from PIL import Image',
      'root = sys.argv[1]',
      'folder = os.path.join(root, "exports", "webdataset")',
      'samples = {}',
      'for name in sorted(os.listdir(folder)):',
      '    with tarfile.open(os.path.join(folder, name)) as shard:',
      '        for member in shard.getmembers():',
      '            key, ext = member.name.split(".", 1)',
      '            data = shard.extractfile(member).read()',
      '            sample = samples.setdefault(key, {"shard": name})',
      '            if ext == "json":',
      '                sample["study"] = json.loads(data)',
      '            elif ext == "txt":',
      '                sample["report"] = data.decode("utf-8")',
      '            else:',
      '                sample.setdefault("sizes", []).append(list(Image.open(io.BytesIO(data)).size))',
      'print(json.dumps(samples))',
    ].join('\n');
    const { stdout } = await execFileAsync('/usr/bin/python3', ['-c', script, dataset()], {
      maxBuffer: 64 * 2 ** 20,
    });
    const samples = JSON.parse(stdout) as Record<
      string,
      {
        shard: string;
        study: { split: string; report: string; file_names: string[] };
        report: string;
        sizes: number[][];
      }
    >;
    const studies = (await readFile(join(dataset(), 'studies.jsonl'), 'utf8'))
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { study_id: string; split: string; file_names: string[] });
    expect(Object.keys(samples)).toHaveLength(studies.length);
    for (const study of studies) {
      const sample = samples[study.study_id.replace(/[^A-Za-z0-9_-]/g, '_')]!;
      expect(sample.shard).toMatch(new RegExp(`^split=${study.split}-\\d{6}\\.tar$`));
      expect(sample.study.file_names).toEqual(study.file_names);
      expect(sample.report).toBe(sample.study.report);
      expect(sample.sizes).toHaveLength(study.file_names.length);
      for (const [width, height] of sample.sizes) expect(width! * height!).toBeGreaterThan(0);
    }
  });

  it('keeps every study of a patient in one split, in metadata.jsonl and studies.jsonl', async () => {
    const studies = (await readFile(join(dataset(), 'studies.jsonl'), 'utf8'))
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { patient_id: string; split: string; study_id: string });
    const byPatient = new Map<string, Set<string>>();
    for (const study of studies) {
      byPatient.set(
        study.patient_id,
        (byPatient.get(study.patient_id) ?? new Set()).add(study.split),
      );
    }
    // The sample PACS has returning patients: some patient has two studies.
    expect(byPatient.size).toBeLessThan(studies.length);
    for (const splits of byPatient.values()) expect(splits.size).toBe(1);
    const card = await readFile(join(dataset(), 'README-dataset.md'), 'utf8');
    expect(card).toContain('Patients found in more than one split: **0**');
  });

  it('verifies a fresh dataset, and lists a changed and a deleted object in a copy (exit 3)', async () => {
    const fresh = await runCli(['verify', dataset()], dir);
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toMatch(/^OK .* dataset version sha256:[0-9a-f]{16}, \d+ objects/);

    const copy = join(dir, 'copy');
    await cp(dataset(), copy, { recursive: true });
    const files = await listFiles(copy);
    const image = files.find((file) => file.startsWith('images-jpg/'))!;
    const dicom = files.filter((file) => file.startsWith('dicom-files/')).at(-1)!;
    const shard = files.find((file) => file.startsWith('exports/webdataset/'))!;
    for (const changed of [image, shard]) {
      const bytes = await readFile(join(copy, changed));
      bytes[bytes.length - 1030] = bytes[bytes.length - 1030]! ^ 0xff;
      await writeFile(join(copy, changed), bytes);
    }
    await rm(join(copy, dicom));
    const tampered = await runCli(['verify', copy], dir);
    expect(tampered.code).toBe(3);
    expect(tampered.stdout).toContain(`DIFFERENT changed: ${image} (manifest sha256 `);
    expect(tampered.stdout).toContain(`DIFFERENT changed: ${shard} (manifest sha256 `);
    expect(tampered.stdout).toContain(`DIFFERENT missing: ${dicom}`);
    expect(tampered.stdout).toMatch(/3 differences in /);

    await rm(join(copy, 'manifest.json'));
    const unmanifested = await runCli(['verify', copy], dir);
    expect(unmanifested.code).toBe(3);
    expect(unmanifested.stdout).toContain('DIFFERENT missing: manifest.json');
  });

  it('finds a hand-edited metadata.jsonl: version mismatch, split disagreement, leaking patient', async () => {
    const copy = join(dir, 'relabelled');
    await cp(dataset(), copy, { recursive: true });
    const manifestPath = join(copy, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as {
      version: string;
      objects: Record<string, { sha256: string; size: number }>;
    };
    // Move one image of a patient to another split and re-sign the manifest entry, as a careless
    // hand edit would: the version no longer matches its entries and the patient leaks.
    const lines = (await readFile(join(copy, 'metadata.jsonl'), 'utf8')).trimEnd().split('\n');
    const first = JSON.parse(lines[0]!) as { split: string };
    first.split = first.split === 'train' ? 'test' : 'train';
    lines[0] = JSON.stringify(first);
    const text = `${lines.join('\n')}\n`;
    await writeFile(join(copy, 'metadata.jsonl'), text);
    manifest.objects['metadata.jsonl'] = {
      sha256: createHash('sha256').update(text).digest('hex'),
      size: Buffer.byteLength(text),
    };
    await writeFile(manifestPath, JSON.stringify(manifest));
    const result = await runCli(['verify', copy], dir);
    expect(result.code).toBe(3);
    expect(result.stdout).toContain('manifest.json says version');
    expect(result.stdout).toMatch(/DIFFERENT patient .* is in several splits/);
    expect(result.stdout).toContain("split differs from their study's");
  });
});
