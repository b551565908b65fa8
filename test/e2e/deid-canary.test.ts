import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACS_SCHEMA_SQL } from '../../src/demo/pacs-schema.js';
import { Pseudonymizer } from '../../src/deid/pseudonyms.js';
import { openPglite } from '../../src/sql/pglite-client.js';
import { readString } from '../../src/dicom/attributes.js';
import { parseDicom } from '../../src/dicom/parse.js';
import { listFiles, runCli, tempDir } from '../support/cli.js';
import {
  CanaryBook,
  canaryInstance,
  canaryPatient,
  canaryReport,
  canaryStudy,
  type Canary,
} from '../support/phi-canary.js';
import { csvObjects } from '../support/rfc4180.js';

const SECRET = 'canary-suite-secret-0123456789';
const OTHER_SECRET = 'another-canary-secret-9876543210';
const DATASET = 'eden-dataset-vlms/sample-test';

function env(secret: string | undefined): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    EDEN_PROGRESS: 'lines',
    ...(secret === undefined ? {} : { SECRET_KEY: secret }),
  };
}

/**
 * A PACS of one patient with two studies (two images and one), whose every identifying value is
 * a canary: DICOM headers (every attribute of the profile table, private tags, nested
 * sequences), reports (every form the scrubber handles), ids, file names and paths.
 */
async function canaryPacs(dir: string, book: CanaryBook) {
  const patient = canaryPatient(book);
  const studies = [canaryStudy(book), canaryStudy(book)];
  const staff = `${book.word('staff list, given')} ${book.word('staff list, family')}`;
  const folder = join(dir, `pacs-${book.code('file path folder')}-${patient.family}`);
  await mkdir(folder, { recursive: true });
  const db = await openPglite(join(dir, 'pacs-db'), 'the canary PACS');
  await db.exec(PACS_SCHEMA_SQL);
  let fieldId = 1;
  const inputs: Buffer[] = [];
  for (const [index, study] of studies.entries()) {
    const studyId = book.digits(10, `pacs_studies.id ${index}`);
    const seriesId = book.digits(10, `pacs_series.id ${index}`);
    const seriesUid = book.uid(`Series Instance UID ${index}`);
    await db.query(
      `INSERT INTO pacs_studies (id, study_instance_uid, patient_id, patient_name, accession_number, body_part)
       VALUES ($1, $2, $3, $4, $5, 'CHEST')`,
      [studyId, study.uid, patient.id, `${patient.family}^${patient.given}`, study.accession],
    );
    await db.query(
      `INSERT INTO pacs_series (id, study_id, series_instance_uid, series_number) VALUES ($1, $2, $3, 1)`,
      [seriesId, studyId, seriesUid],
    );
    for (let n = 1; n <= (index === 0 ? 2 : 1); n += 1) {
      const instanceId = book.digits(10, `pacs_instances.id ${index}.${n}`);
      const sopUid = book.uid(`SOP Instance UID ${index}.${n}`);
      const name = `${book.code('file name')}-${patient.id}.dcm`;
      const path = join(folder, name);
      const syntax = n === 1 ? 'explicit-le' : 'implicit-le';
      const file = Buffer.from(canaryInstance(book, patient, study, sopUid, seriesUid, syntax));
      inputs.push(file);
      await writeFile(path, file);
      await db.query(
        `INSERT INTO pacs_instances (id, series_id, sop_instance_uid, instance_number, file_path, file_url)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [instanceId, seriesId, sopUid, n, path, pathToFileURL(path).href],
      );
    }
    const created = book.add(`2019-05-${String(10 + index).padStart(2, '0')}T10:00`, 'report time');
    await db.query(
      `INSERT INTO pacs_report_fields (id, study_id, name, value, created_at) VALUES ($1, $2, 'report', $3, $4)`,
      [fieldId++, studyId, canaryReport(book, patient, study, staff), `${created}:00Z`],
    );
  }
  await db.close();
  const staffFile = join(dir, 'staff.txt');
  await writeFile(staffFile, `# radiographers and typists\n${staff}\n`);
  return { patient, studies, staffFile, inputs, pacs: `pglite:${join(dir, 'pacs-db')}` };
}

async function run(dir: string, pacs: string, staffFile: string, dest: string, secret: string) {
  const args = [
    'run',
    '--source',
    pacs,
    '--studies',
    '10',
    '--deidentify',
    'basic',
    '--deid-staff-names',
    staffFile,
    // Every canary file must reach the output for the scan to mean something: the quality gates
    // (tiny synthetic images look blank) are not what this suite tests.
    '--quality-gates',
    'none',
    // The instruction exports quote reports and prior reports: scanned like every other file.
    '--exports',
    'all',
    '--dest',
    `file://./${dest}`,
  ];
  return runCli(args, dir, env(secret));
}

async function outputFiles(root: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const file of await listFiles(root)) files.set(file, await readFile(join(root, file)));
  return files;
}

describe('the PHI canary suite', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const book = new CanaryBook();
  let pacs: Awaited<ReturnType<typeof canaryPacs>>;
  let first: Awaited<ReturnType<typeof runCli>>;
  let output: Map<string, Buffer>;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('deid-canary'));
    pacs = await canaryPacs(dir, book);
    first = await run(dir, pacs.pacs, pacs.staffFile, 'out', SECRET);
    output = await outputFiles(join(dir, 'out'));
  }, 240_000);
  afterAll(async () => {
    await cleanup();
  });

  it('delivers every instance', () => {
    expect(first.stderr).not.toMatch(/error/i);
    expect(first.stderr).not.toMatch(/NOT de-identified/);
    expect(first.code).toBe(0);
    const csv = csvObjects(output.get(`${DATASET}/dicom-reports-extracted-sample.csv`)!.toString());
    expect(csv).toHaveLength(3);
    expect(csv.every((row) => row.downloaded === 'True')).toBe(true);
    // The exports quote the scrubbed reports, the prior's too: the scan below covers them.
    const exported = [...output.keys()].filter((file) => file.includes('/exports/'));
    expect(exported.length).toBeGreaterThanOrEqual(2);
    const texts = exported.map((file) => output.get(file)!.toString());
    expect(texts.some((text) => text.includes('prior study'))).toBe(true);
  });

  it('leaves no canary in any byte of the output, and keeps those the profile keeps', () => {
    const shift = new Pseudonymizer(SECRET).dateShiftDays(pacs.patient.id);
    // Canary dates are consecutive days: the shift must be longer than their span.
    expect(Math.abs(shift)).toBeGreaterThan(book.dateCount);
    expect(output.size).toBeGreaterThanOrEqual(3 + 3 + 3);
    const texts = [...output].map(([file, bytes]) => ({
      file,
      text: bytes.toString('latin1').toLowerCase(),
    }));
    const leaks: string[] = [];
    const check = (canary: Canary) => {
      for (const { file, text } of texts) {
        if (text.includes(canary.value.toLowerCase())) leaks.push(`${canary.where} in ${file}`);
      }
    };
    for (const canary of book.canaries) if (!canary.kept) check(canary);
    expect(leaks).toEqual([]);
    // The control: the same scan finds the canaries in the PACS's own files.
    const planted = [...pacs.inputs].map((bytes) => bytes.toString('latin1').toLowerCase());
    const found = book.canaries.filter((canary) =>
      planted.some((text) => text.includes(canary.value.toLowerCase())),
    );
    expect(found.length).toBeGreaterThan(1000);
    const kept = book.canaries.filter((canary) => canary.kept);
    expect(kept.length).toBeGreaterThan(10);
    const dicoms = texts.filter(({ file }) => file.endsWith('.dcm'));
    for (const canary of kept) {
      expect(dicoms.some(({ text }) => text.includes(canary.value.toLowerCase()))).toBe(true);
    }
    // The suite's size, for the record: canaries planted, and those the profile keeps.
    console.info(`PHI canaries: ${book.canaries.length} planted, ${kept.length} kept by design`);
  });

  it('keeps a study together and a patient’s interval between studies, in DICOM and report', () => {
    const csv = csvObjects(output.get(`${DATASET}/dicom-reports-extracted-sample.csv`)!.toString());
    const headers = csv.map((row) => {
      const bytes = output.get(`${DATASET}/${row.dicom_key}`)!;
      const { dataSet } = parseDicom(new Uint8Array(bytes));
      return {
        row,
        studyUid: readString(dataSet, 'x0020000d'),
        studyDate: readString(dataSet, 'x00080020') ?? '',
      };
    });
    const [a1, a2, b] = headers;
    expect(a1?.studyUid).toBe(a2?.studyUid);
    expect(a1?.studyUid).not.toBe(b?.studyUid);
    expect(a1?.row.study_id).toBe(a2?.row.study_id);
    expect(a1?.row.study_id).toMatch(/^2\.25\.\d+$/);
    expect(a1?.row.file_path).toBe('');
    const day = (da: string) =>
      Date.UTC(+da.slice(0, 4), +da.slice(4, 6) - 1, +da.slice(6, 8)) / 86_400_000;
    const [studyA, studyB] = pacs.studies;
    expect(day(a1!.studyDate) - day(b!.studyDate)).toBe(day(studyA!.date) - day(studyB!.date));
    expect(a1!.studyDate).not.toBe(studyA!.date);
    // The report's own study date is scrubbed to the header's shifted one.
    expect(a1?.row.report_value).toContain('[NAME]');
    expect(a1?.row.report_value).toMatch(/\[ID\]/);
  });

  it('states the de-identification and its counts in the dataset card', () => {
    const card = output.get(`${DATASET}/README-dataset.md`)!.toString();
    expect(card).toContain('**De-identified**');
    expect(card).toContain('## De-identification');
    expect(card).toMatch(/\| `date` \| \d+ \|/);
    expect(card).toMatch(/\| `staff-name` \| [1-9]\d* \|/);
    expect(card).not.toContain('has not been de-identified');
  });

  it('gives byte-identical files for the same key, other pseudonyms for another key', async () => {
    const again = await run(dir, pacs.pacs, pacs.staffFile, 'again', SECRET);
    expect(again.code).toBe(0);
    const second = await outputFiles(join(dir, 'again'));
    for (const [file, bytes] of output) {
      if (file.endsWith('README-dataset.md')) continue; // names the run and its times
      expect(second.get(file)?.equals(bytes), file).toBe(true);
    }
    const other = await run(dir, pacs.pacs, pacs.staffFile, 'other', OTHER_SECRET);
    expect(other.code).toBe(0);
    const otherCsv = csvObjects(
      (
        await readFile(join(dir, 'other', DATASET, 'dicom-reports-extracted-sample.csv'))
      ).toString(),
    );
    const firstCsv = csvObjects(
      output.get(`${DATASET}/dicom-reports-extracted-sample.csv`)!.toString(),
    );
    expect(otherCsv.map((row) => row.study_id)).not.toEqual(firstCsv.map((row) => row.study_id));
    expect(otherCsv.map((row) => row.instance_id)).not.toEqual(
      firstCsv.map((row) => row.instance_id),
    );
  }, 240_000);

  it('exports the real → pseudonym map to a local file, for the data steward only', async () => {
    const runId = /Run id: (\w+)/.exec(first.stdout)?.[1];
    expect(runId).toBeDefined();
    const exported = await runCli(['deid-map', runId!, '--out', 'map.csv'], dir, env(undefined));
    expect(exported.code).toBe(0);
    const map = csvObjects((await readFile(join(dir, 'map.csv'))).toString());
    expect(map).toContainEqual(
      expect.objectContaining({ kind: 'patient', real_value: pacs.patient.id }),
    );
    expect(map.filter((row) => row.kind === 'instance')).toHaveLength(3);
    expect((await stat(join(dir, 'map.csv'))).mode & 0o777).toBe(0o600);
  });

  it('refuses to go on with a run under another key than the one it started with', async () => {
    const runId = /Run id: (\w+)/.exec(first.stdout)?.[1];
    const resumed = await runCli(['run', '--resume', runId!], dir, env(OTHER_SECRET));
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toContain('SECRET_KEY is not the key this run started with');
  });

  it('refuses to de-identify without SECRET_KEY, naming the key', async () => {
    const refused = await runCli(
      ['run', '--source', pacs.pacs, '--deidentify', 'basic', '--dest', 'file://./never'],
      dir,
      env(undefined),
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('SECRET_KEY');
    const short = await runCli(
      ['run', '--source', pacs.pacs, '--deidentify', 'basic', '--dest', 'file://./never'],
      dir,
      env('short'),
    );
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/SECRET_KEY: received "<redacted>"; expected a secret of 16/);
  });
});
