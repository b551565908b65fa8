import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { writePart10 } from '../../../src/dicom/writer.js';
import { renderStudyFiles } from '../../../src/demo/study-files.js';
import { planStudy } from '../../../src/demo/study-plan.js';
import { deidentifyDicom, type DeidOptions } from '../../../src/deid/deidentify-dicom.js';
import { Pseudonymizer } from '../../../src/deid/pseudonyms.js';
import { scrubText } from '../../../src/deid/report-scrubber.js';
import { readString } from '../../../src/dicom/attributes.js';
import { parseDicom } from '../../../src/dicom/parse.js';
import { convert, encapsulatedOffset, withTempDir } from '../../support/codec-corpus.js';
import { dcmdumpCheck } from '../../support/demo-dicom-tools.js';
import {
  CanaryBook,
  canaryInstance,
  canaryPatient,
  canaryStudy,
  type Canary,
} from '../../support/phi-canary.js';
import { bareDataset, grayDicom } from '../../support/render-dicom.js';

const run = promisify(execFile);
const SECRET = 'unit-test-secret-0123456789';
const options: DeidOptions = { secret: SECRET, keep: [], remove: [] };

/** dciodvfy's error lines (it exits non-zero when it finds any, so its output is read either way). */
async function dciodvfyErrors(dir: string, name: string, bytes: Uint8Array): Promise<Set<string>> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  let output: string;
  try {
    const result = await run('dciodvfy', [path], { maxBuffer: 16 << 20 });
    output = result.stderr + result.stdout;
  } catch (error) {
    // A missing dciodvfy must fail the test, not pass it with no errors found.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw error;
    const failure = error as { stderr?: string; stdout?: string };
    output = (failure.stderr ?? '') + (failure.stdout ?? '');
  }
  return new Set(output.split('\n').filter((line) => line.startsWith('Error')));
}

function leaked(bytes: Uint8Array, canaries: readonly Canary[]): Canary[] {
  const text = Buffer.from(bytes).toString('latin1').toLowerCase();
  return canaries.filter((canary) => !canary.kept && text.includes(canary.value.toLowerCase()));
}

function corpus(transferSyntax: 'explicit-le' | 'implicit-le') {
  const book = new CanaryBook();
  const patient = canaryPatient(book);
  const study = canaryStudy(book);
  const series = book.uid('Series Instance UID');
  const bytes = canaryInstance(
    book,
    patient,
    study,
    book.uid('SOP Instance UID'),
    series,
    transferSyntax,
  );
  return { book, patient, study, series, bytes };
}

const text = (bytes: Uint8Array, tag: string) => readString(parseDicom(bytes).dataSet, tag);

describe('deidentifyDicom', () => {
  it.each(['explicit-le', 'implicit-le'] as const)(
    'leaves no canary of a %s file and writes a file dcmdump and dciodvfy accept',
    async (syntax) => {
      const { book, bytes, patient } = corpus(syntax);
      const shift = new Pseudonymizer(SECRET).dateShiftDays(patient.id);
      // Canary dates are consecutive days: a shift shorter than their span could map one onto another.
      expect(Math.abs(shift)).toBeGreaterThan(book.dateCount);
      const out = deidentifyDicom(bytes, options).bytes;
      expect(leaked(bytes, book.canaries).length).toBeGreaterThan(100);
      expect(leaked(out, book.canaries).map((canary) => canary.where)).toEqual([]);
      const kept = book.canaries.filter((canary) => canary.kept);
      expect(kept.length).toBeGreaterThan(0);
      const outText = Buffer.from(out).toString('latin1');
      for (const canary of kept) expect(outText).toContain(canary.value);

      await withTempDir(async (dir) => {
        const inputPath = join(dir, 'in.dcm');
        await writeFile(inputPath, bytes);
        const outputPath = join(dir, 'out.dcm');
        await writeFile(outputPath, out);
        expect(await dcmdumpCheck(outputPath)).toEqual({ ok: true, problems: '' });
        const before = await dciodvfyErrors(dir, 'in.dcm', bytes);
        const after = await dciodvfyErrors(dir, 'out.dcm', out);
        // The table itself disagrees with the Clinical Trial Subject module here: it removes the
        // Ethics Committee Approval Number (X) and keeps a dummy Committee Name (D), which the
        // module requires only with the number.
        const known = /Type 1C Conditional Element=<ClinicalTrialProtocolEthicsCommitteeName>/;
        const added = [...after].filter((line) => !before.has(line) && !known.test(line));
        expect(added).toEqual([]);
      });
    },
  );

  it('keeps the sample PACS files (CR, DX, CT) valid: no new dciodvfy error, dcmdump clean', async () => {
    const files = new Map<string, Uint8Array>();
    for (let ordinal = 1; files.size < 3 && ordinal < 30; ordinal += 1) {
      const study = planStudy(1, ordinal);
      if (files.has(study.modality)) continue;
      const first = renderStudyFiles(study).next();
      if (first.done !== true) files.set(study.modality, first.value.bytes);
    }
    expect([...files.keys()].sort()).toEqual(['CR', 'CT', 'DX']);
    await withTempDir(async (dir) => {
      for (const [modality, bytes] of files) {
        const out = deidentifyDicom(bytes, options).bytes;
        const path = join(dir, `${modality}.dcm`);
        await writeFile(path, out);
        expect(await dcmdumpCheck(path)).toEqual({ ok: true, problems: '' });
        const before = await dciodvfyErrors(dir, `${modality}-in.dcm`, bytes);
        const after = await dciodvfyErrors(dir, `${modality}-out.dcm`, out);
        expect(
          [...after].filter((line) => !before.has(line)),
          modality,
        ).toEqual([]);
      }
    });
  });

  it('marks the file de-identified with the method codes of CID 7050', () => {
    const out = deidentifyDicom(corpus('explicit-le').bytes, options).bytes;
    const { dataSet } = parseDicom(out);
    expect(readString(dataSet, 'x00120062')).toBe('YES');
    expect(readString(dataSet, 'x00120063')).toMatch(/PS3\.15 2024b/);
    const codes = (dataSet.elements.x00120064?.items ?? []).map((item) =>
      readString(item.dataSet!, 'x00080100'),
    );
    expect(codes).toEqual(['113100', '113107', '113105']);
    expect(readString(dataSet, 'x00280303')).toBe('MODIFIED');
    // The file meta names the new SOP Instance UID.
    expect(readString(dataSet, 'x00020003')).toBe(readString(dataSet, 'x00080018'));
    expect(readString(dataSet, 'x00080018')).toMatch(/^2\.25\.\d+$/);
  });

  it('reads its own output again: sequences and items of undefined length', async () => {
    const once = deidentifyDicom(corpus('explicit-le').bytes, options).bytes;
    const twice = deidentifyDicom(once, options).bytes;
    await withTempDir(async (dir) => {
      const path = join(dir, 'twice.dcm');
      await writeFile(path, twice);
      expect(await dcmdumpCheck(path)).toEqual({ ok: true, problems: '' });
    });
    expect(text(twice, 'x00100020')).toMatch(/^PAT[0-9A-F]{20}$/);
  });

  it('copies encapsulated pixel data byte for byte', async () => {
    await withTempDir(async (dir) => {
      const plain = grayDicom({
        rows: 16,
        columns: 16,
        pixels: Uint16Array.from({ length: 256 }, (_, i) => i * 16),
        bitsStored: 12,
        extra: [
          { tag: 0x00100010, vr: 'PN', value: 'Cnryjpeg^Patient' },
          { tag: 0x00100020, vr: 'LO', value: 'CNRYJPEG' },
        ],
      });
      const jpeg = await convert(dir, plain, 'dcmcjpeg', ['+e1']);
      const out = deidentifyDicom(jpeg, options).bytes;
      const pixels = (bytes: Uint8Array) => Buffer.from(bytes.subarray(encapsulatedOffset(bytes)));
      expect(pixels(out).equals(pixels(jpeg))).toBe(true);
      expect(Buffer.from(out).toString('latin1')).not.toMatch(/cnryjpeg/i);
      const path = join(dir, 'out.dcm');
      await writeFile(path, out);
      expect(await dcmdumpCheck(path)).toEqual({ ok: true, problems: '' });
    });
  });

  it('de-identifies a bare data set, and one that opens with illegal group-0001 elements', () => {
    const patient = { tag: 0x00100010, vr: 'PN', value: 'Cnrygroup^Patient' } as const;
    const spec = { rows: 4, columns: 4, pixels: new Uint16Array(16) };
    const group1 = { tag: 0x00010010, vr: 'LO', value: 'CNRYGROUP1' } as const;
    const inputs = [
      grayDicom({ ...spec, extra: [group1, patient] }),
      bareDataset(grayDicom({ ...spec, extra: [patient] })),
    ];
    for (const input of inputs) {
      const out = deidentifyDicom(input, options).bytes;
      expect(Buffer.from(out).toString('latin1')).not.toMatch(/cnrygroup/i);
      expect(parseDicom(out).dataSet.uint16('x00280010')).toBe(4);
    }
  });

  it('refuses a big endian data set with DEID_UNSUPPORTED', async () => {
    await withTempDir(async (dir) => {
      const plain = grayDicom({ rows: 4, columns: 4, pixels: new Uint16Array(16) });
      const bigEndian = await convert(dir, plain, 'dcmconv', ['+tb']);
      expect(() => deidentifyDicom(bigEndian, options)).toThrow(
        expect.objectContaining({ code: 'DEID_UNSUPPORTED' }),
      );
    });
  });

  it('is deterministic for a key and gives other pseudonyms for another key', () => {
    const { bytes } = corpus('explicit-le');
    const first = deidentifyDicom(bytes, options).bytes;
    const again = deidentifyDicom(bytes, options).bytes;
    expect(Buffer.from(again).equals(Buffer.from(first))).toBe(true);
    const other = deidentifyDicom(bytes, { ...options, secret: 'another-secret-0123456789' }).bytes;
    for (const tag of ['x0020000d', 'x0020000e', 'x00080018', 'x00100020', 'x00080050']) {
      expect(text(other, tag)).not.toBe(text(first, tag));
    }
  });

  it('gives two instances of a study the same new Study UID, and a patient one date shift', () => {
    const book = new CanaryBook();
    const patient = canaryPatient(book);
    const first = canaryStudy(book);
    const second = { ...canaryStudy(book), date: '19700101' };
    const firstDate = first.date;
    const series = book.uid('series');
    const a = deidentifyDicom(
      canaryInstance(book, patient, first, book.uid('a'), series, 'explicit-le'),
      options,
    );
    const b = deidentifyDicom(
      canaryInstance(book, patient, first, book.uid('b'), series, 'explicit-le'),
      options,
    );
    const c = deidentifyDicom(
      canaryInstance(book, patient, second, book.uid('c'), book.uid('series 2'), 'explicit-le'),
      options,
    );
    expect(text(a.bytes, 'x0020000d')).toBe(text(b.bytes, 'x0020000d'));
    expect(text(a.bytes, 'x0020000e')).toBe(text(b.bytes, 'x0020000e'));
    expect(text(a.bytes, 'x00080018')).not.toBe(text(b.bytes, 'x00080018'));
    expect(text(a.bytes, 'x0020000d')).not.toBe(text(c.bytes, 'x0020000d'));
    const days = (da: string) =>
      Date.UTC(Number(da.slice(0, 4)), Number(da.slice(4, 6)) - 1, Number(da.slice(6, 8))) /
      86_400_000;
    const interval = days(firstDate) - days('19700101');
    const shiftedInterval =
      days(text(a.bytes, 'x00080020') ?? '') - days(text(c.bytes, 'x00080020') ?? '');
    expect(shiftedInterval).toBe(interval);
    expect(text(a.bytes, 'x00080020')).not.toBe(firstDate);

    // The report's date, scrubbed with the facts of the header, is the header's shifted date.
    const reportDate = `${firstDate.slice(0, 4)}-${firstDate.slice(4, 6)}-${firstDate.slice(6)}`;
    const scrubbed = scrubText(`Study of ${reportDate}.`, a.facts).text;
    const headerDate = text(a.bytes, 'x00080020') ?? '';
    expect(scrubbed).toBe(
      `Study of ${headerDate.slice(0, 4)}-${headerDate.slice(4, 6)}-${headerDate.slice(6)}.`,
    );
  });

  it('keeps and removes tags on request, with ages over 89 bucketed', () => {
    const bytes = writePart10({
      sopClassUid: '1.2.840.10008.5.1.4.1.1.1',
      sopInstanceUid: '1.2.3.4',
      transferSyntax: 'explicit-le',
      elements: [
        { tag: 0x00080060, vr: 'CS', value: 'CR' },
        { tag: 0x00080070, vr: 'LO', value: 'Vendor' },
        { tag: 0x00100040, vr: 'CS', value: 'F' },
        { tag: 0x00101010, vr: 'AS', value: '093Y' },
      ],
    });
    const plain = deidentifyDicom(bytes, options).bytes;
    expect(text(plain, 'x00101010')).toBeUndefined();
    expect(text(plain, 'x00100040')).toBeUndefined();
    expect(text(plain, 'x00080070')).toBe('Vendor');
    const adjusted = deidentifyDicom(bytes, {
      ...options,
      keep: ['00101010', '00100040'],
      remove: ['00080070'],
    }).bytes;
    expect(text(adjusted, 'x00101010')).toBe('090Y');
    expect(text(adjusted, 'x00100040')).toBe('F');
    expect(parseDicom(adjusted).dataSet.elements.x00080070).toBeUndefined();
  });
});
