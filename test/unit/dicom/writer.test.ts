import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  TRANSFER_SYNTAX_UID,
  writePart10,
  type DicomElement,
  type DicomVR,
  type TransferSyntax,
} from '../../../src/dicom/writer.js';
import { dcmdumpCheck, pydicomCheck } from '../../support/demo-dicom-tools.js';

const run = promisify(execFile);
const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eden-dicom-writer-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ROWS = 6;
const COLUMNS = 5;

type PixelKind = 'unsigned16' | 'signed16' | 'unsigned8';

function pixels(kind: PixelKind): Uint8Array | Uint16Array | Int16Array {
  const count = ROWS * COLUMNS;
  if (kind === 'unsigned8') return Uint8Array.from({ length: count }, (_, i) => i * 8);
  if (kind === 'signed16') return Int16Array.from({ length: count }, (_, i) => i * 100 - 2000);
  return Uint16Array.from({ length: count }, (_, i) => i * 130);
}

function imageElements(kind: PixelKind): DicomElement[] {
  const bits = kind === 'unsigned8' ? 8 : kind === 'signed16' ? 16 : 12;
  const data = pixels(kind);
  // Deliberately out of tag order: the writer must sort.
  return [
    { tag: 0x7fe00010, vr: kind === 'unsigned8' ? 'OB' : 'OW', value: data },
    { tag: 0x00280002, vr: 'US', value: 1 },
    { tag: 0x00280004, vr: 'CS', value: kind === 'unsigned8' ? 'MONOCHROME1' : 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: ROWS },
    { tag: 0x00280011, vr: 'US', value: COLUMNS },
    { tag: 0x00280030, vr: 'DS', value: [0.7031249999999999, 1 / 3] },
    { tag: 0x00280100, vr: 'US', value: kind === 'unsigned8' ? 8 : 16 },
    { tag: 0x00280101, vr: 'US', value: bits },
    { tag: 0x00280102, vr: 'US', value: bits - 1 },
    { tag: 0x00280103, vr: 'US', value: kind === 'signed16' ? 1 : 0 },
    { tag: 0x00281050, vr: 'DS', value: [-600, 40] },
    { tag: 0x00281051, vr: 'DS', value: [1500, 400] },
    { tag: 0x00281052, vr: 'DS', value: -1024 },
    { tag: 0x00281053, vr: 'DS', value: 1 },
    ...(kind === 'signed16' ? [{ tag: 0x00280120, vr: 'SS', value: -2000 } as const] : []),
    { tag: 0x00080005, vr: 'CS', value: 'ISO_IR 192' },
    { tag: 0x00080008, vr: 'CS', value: ['ORIGINAL', 'PRIMARY', 'AXIAL'] },
    { tag: 0x00080020, vr: 'DA', value: '20240302' },
    { tag: 0x00080030, vr: 'TM', value: '101502.25' },
    { tag: 0x00080060, vr: 'CS', value: 'CT' },
    { tag: 0x00080090, vr: 'PN', value: 'MÜLLER^JÜRGEN^^DR' },
    { tag: 0x00081030, vr: 'LO', value: 'CT THORAX — NATIV' },
    { tag: 0x00100010, vr: 'PN', value: 'DOE^JANE' },
    { tag: 0x00100020, vr: 'LO', value: '0012345' },
    { tag: 0x00101010, vr: 'AS', value: '067Y' },
    { tag: 0x00181164, vr: 'DS', value: [0.139, 0.139] },
    { tag: 0x00200013, vr: 'IS', value: 7 },
    { tag: 0x00200032, vr: 'DS', value: [-179.6484375, -179.6484375, -42.5] },
    { tag: 0x00204000, vr: 'LT', value: 'line one\r\nline two with a \\ backslash' },
    { tag: 0x00189345, vr: 'FD', value: 4.25 },
    { tag: 0x00181152, vr: 'IS', value: '  12 ' },
    {
      tag: 0x00082218,
      vr: 'SQ',
      value: [
        [
          { tag: 0x00080104, vr: 'LO', value: 'Chest' },
          { tag: 0x00080100, vr: 'SH', value: '51185008' },
          { tag: 0x00080102, vr: 'SH', value: 'SCT' },
        ],
      ],
    },
    { tag: 0x00400275, vr: 'SQ', value: [] },
  ];
}

async function writeSample(syntax: TransferSyntax, kind: PixelKind): Promise<string> {
  const path = join(dir, `${syntax}-${kind}.dcm`);
  const bytes = writePart10({
    sopClassUid: kind === 'signed16' ? CT_IMAGE_STORAGE : SECONDARY_CAPTURE,
    sopInstanceUid: '2.25.1234567890123456789',
    transferSyntax: syntax,
    elements: imageElements(kind),
  });
  await writeFile(path, bytes);
  return path;
}

describe('writePart10', () => {
  const cases: [TransferSyntax, PixelKind][] = [];
  for (const syntax of ['implicit-le', 'explicit-le'] as const) {
    for (const kind of ['unsigned16', 'signed16', 'unsigned8'] as const) cases.push([syntax, kind]);
  }

  it.each(cases)('%s %s is read cleanly by dcmdump and pydicom', async (syntax, kind) => {
    const path = await writeSample(syntax, kind);
    const dump = await dcmdumpCheck(path);
    expect(dump.problems).toBe('');
    expect(dump.ok).toBe(true);

    const python = await pydicomCheck([path]);
    expect(python.problems).toBe('');
    const expected = pixels(kind);
    expect(python.images).toMatchObject([
      {
        path,
        shape: [ROWS, COLUMNS],
        dtype: { unsigned16: 'uint16', signed16: 'int16', unsigned8: 'uint8' }[kind],
        min: Math.min(...expected),
        max: Math.max(...expected),
      },
    ]);
  });

  it('writes the file meta, values and sequences dcmdump expects, in tag order', async () => {
    const path = await writeSample('explicit-le', 'signed16');
    const { stdout } = await run('dcmdump', ['+L', path]);
    expect(stdout).toContain(`(0002,0010) UI =LittleEndianExplicit`);
    expect(stdout).toContain('(0002,0001) OB 00\\01');
    expect(stdout).toContain('(0002,0012) UI [2.25.');
    expect(stdout).toContain('(0008,0016) UI =CTImageStorage');
    expect(stdout).toContain('(0028,1050) DS [-600\\40]');
    expect(stdout).toContain('(0028,0030) DS [0.703125\\0.33333333333333]');
    expect(stdout).toContain('(0008,0090) PN [MÜLLER^JÜRGEN^^DR]');
    expect(stdout).toContain('(0028,0120) SS -2000');
    expect(stdout).toContain('(0008,0104) LO [Chest]');
    const tags = [...stdout.matchAll(/^\(([0-9a-f]{4}),([0-9a-f]{4})\)/gim)]
      .filter((match) => match[1] !== '0002')
      .map((match) => `${match[1]}${match[2]}`.toLowerCase());
    const topLevel = tags.filter((tag) => !tag.startsWith('fffe') && !tag.startsWith('0008010'));
    expect(topLevel).toEqual([...topLevel].sort());
  });

  it('records the transfer syntax and an exact file meta group length', () => {
    for (const syntax of ['implicit-le', 'explicit-le'] as const) {
      const bytes = Buffer.from(
        writePart10({
          sopClassUid: SECONDARY_CAPTURE,
          sopInstanceUid: '2.25.42',
          transferSyntax: syntax,
          elements: [{ tag: 0x00100010, vr: 'PN', value: 'DOE^JOHN' }],
        }),
      );
      expect(bytes.subarray(0, 128).every((byte) => byte === 0)).toBe(true);
      expect(bytes.toString('latin1', 128, 132)).toBe('DICM');
      const groupLength = bytes.readUInt32LE(140);
      const datasetStart = 144 + groupLength;
      expect(bytes.readUInt16LE(datasetStart)).toBe(0x0008);
      expect(bytes.toString('latin1', 144, datasetStart)).toContain(TRANSFER_SYNTAX_UID[syntax]);
    }
  });

  it('pads to even length with NUL for UI and space for text', () => {
    const bytes = Buffer.from(
      writePart10({
        sopClassUid: SECONDARY_CAPTURE,
        sopInstanceUid: '2.25.4211',
        transferSyntax: 'explicit-le',
        elements: [{ tag: 0x00100020, vr: 'LO', value: 'ABC' }],
      }),
    );
    expect(bytes.includes(Buffer.from('2.25.4211\0', 'latin1'))).toBe(true);
    expect(bytes.includes(Buffer.from('ABC ', 'latin1'))).toBe(true);
    expect(bytes.length % 2).toBe(0);
  });

  it('pads every odd-length value to an even length, NUL for UI and space otherwise', () => {
    const odd: [DicomVR, string | number][] = [
      ['AE', 'PACS1'],
      ['CS', 'LAT'],
      ['DS', 0.5],
      ['IS', 123],
      ['LO', 'abc'],
      ['PN', 'A^B'],
      ['SH', 'xyz'],
      ['UI', '1.2.3'],
      ['LT', 'a\\b'],
    ];
    for (const [vr, value] of odd) {
      const bytes = Buffer.from(
        writePart10({
          sopClassUid: SECONDARY_CAPTURE,
          sopInstanceUid: '2.25.4211',
          transferSyntax: 'implicit-le',
          elements: [{ tag: 0x00091010, vr, value }],
        }),
      );
      // Implicit VR: tag (4 bytes), length (4 bytes), value; this element is the last one.
      const at = bytes.lastIndexOf(Buffer.from([0x09, 0x00, 0x10, 0x10]));
      const length = bytes.readUInt32LE(at + 4);
      expect(length % 2, vr).toBe(0);
      expect(bytes.length - at - 8, vr).toBe(length);
      expect(bytes[bytes.length - 1], vr).toBe(vr === 'UI' ? 0 : 0x20);
    }
  });

  const rejected: [string, DicomElement[], RegExp][] = [
    [
      'a duplicated tag',
      [
        { tag: 0x00100010, vr: 'PN', value: 'A^B' },
        { tag: 0x00100010, vr: 'PN', value: 'C^D' },
      ],
      /\(0010,0010\) PN: appears twice/,
    ],
    [
      'a value too long for its VR',
      [{ tag: 0x00081030, vr: 'LO', value: 'x'.repeat(65) }],
      /\(0008,1030\) LO: .* 65 characters, max 64/,
    ],
    [
      'a malformed date',
      [{ tag: 0x00080020, vr: 'DA', value: '2024-03-02' }],
      /received "2024-03-02", expected YYYYMMDD/,
    ],
    [
      'an out-of-range US',
      [{ tag: 0x00280010, vr: 'US', value: 70000 }],
      /received 70000, expected an integer in \[0, 65535\]/,
    ],
    [
      'a non-integer IS',
      [{ tag: 0x00200013, vr: 'IS', value: 1.5 }],
      /received 1.5, expected a 32-bit signed integer/,
    ],
    [
      'non-ASCII text without a character set',
      [{ tag: 0x00100010, vr: 'PN', value: 'MÜLLER^ANNA' }],
      /not ASCII; add SpecificCharacterSet/,
    ],
    [
      'a backslash inside one value of a multi-valued VR',
      [{ tag: 0x00080008, vr: 'CS', value: ['ORIGINAL\\PRIMARY'] }],
      /contains "\\", the value delimiter/,
    ],
    [
      'an odd-length OW',
      [{ tag: 0x7fe00010, vr: 'OW', value: new Uint8Array(3) }],
      /received 3 bytes, expected an even count/,
    ],
    [
      'a file meta element in the data set',
      [{ tag: 0x00020010, vr: 'UI', value: '1.2.840.10008.1.2' }],
      /group 0002 is written by the writer itself/,
    ],
    [
      'a SOP Instance UID that contradicts the file meta',
      [{ tag: 0x00080018, vr: 'UI', value: '2.25.9' }],
      /received "2.25.9", expected 2.25.1 as in the file meta/,
    ],
    [
      'a string where a number is expected',
      [{ tag: 0x00280010, vr: 'US', value: '512' }],
      /expected a number or an array of numbers/,
    ],
    [
      'an invalid element inside a sequence item',
      [
        {
          tag: 0x00082218,
          vr: 'SQ',
          value: [[{ tag: 0x00080100, vr: 'SH', value: 'y'.repeat(17) }]],
        },
      ],
      /\(0008,0100\) SH: .* 17 characters, max 16/,
    ],
  ];

  it.each(rejected)('rejects %s with a message naming the value', (_, elements, message) => {
    expect(() =>
      writePart10({
        sopClassUid: SECONDARY_CAPTURE,
        sopInstanceUid: '2.25.1',
        transferSyntax: 'explicit-le',
        elements,
      }),
    ).toThrow(message);
  });

  it('rejects an unknown transfer syntax', () => {
    expect(() =>
      writePart10({
        sopClassUid: SECONDARY_CAPTURE,
        sopInstanceUid: '2.25.1',
        transferSyntax: 'big-endian' as TransferSyntax,
        elements: [],
      }),
    ).toThrow(/transfer syntax "big-endian" is not one of implicit-le, explicit-le/);
  });
});
