import { describe, expect, it } from 'vitest';
import { buildDatasetCsv } from '../../../src/dataset/dataset-csv.js';
import { buildFailuresCsv } from '../../../src/dataset/failures-csv.js';
import { datasetRow, failedRow } from './dataset-rows.js';

/**
 * An RFC 4180 reader written independently of the writer: CRLF between records, fields quoted
 * with '"', quotes doubled inside quoted fields, anything (including CR and LF) inside quotes.
 */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let index = 0;
  while (index < text.length) {
    if (text[index] === '"' && field === '') {
      index += 1;
      for (;;) {
        if (index >= text.length) throw new Error('unterminated quoted field');
        if (text[index] === '"') {
          if (text[index + 1] === '"') {
            field += '"';
            index += 2;
            continue;
          }
          index += 1;
          break;
        }
        field += text[index];
        index += 1;
      }
      if (text[index] !== ',' && !text.startsWith('\r\n', index)) {
        throw new Error(`garbage after quoted field at ${index}`);
      }
      continue;
    }
    if (text[index] === ',') {
      record.push(field);
      field = '';
      index += 1;
    } else if (text.startsWith('\r\n', index)) {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      index += 2;
    } else {
      if (text[index] === '\r' || text[index] === '\n' || text[index] === '"') {
        throw new Error(`bare ${JSON.stringify(text[index])} in an unquoted field at ${index}`);
      }
      field += text[index];
      index += 1;
    }
  }
  if (field !== '' || record.length > 0) throw new Error('last record not terminated by CRLF');
  return records;
}

const ORIGINAL_COLUMNS = [
  'study_id',
  'series_number',
  'instance_id',
  'instance_number',
  'file_path',
  'file_url',
  'report_value',
  'field_created_at',
  'downloaded',
  'local_file_path',
];
const EXTRA_COLUMNS = [
  'series_id',
  'status',
  'error_code',
  'error_message',
  'dicom_key',
  'image_key',
  'dicom_size',
  'dicom_sha256',
  'image_size',
  'image_sha256',
  'image_count',
  'width',
  'height',
  'window_source',
  'window_center',
  'window_width',
  'inverted',
  'photometric_interpretation',
  'voi_function',
  'frame',
  'codec',
  'quality',
];

function asObjects(csv: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(csv);
  return rows.map((row) => Object.fromEntries(header!.map((name, index) => [name, row[index]!])));
}

describe('buildDatasetCsv', () => {
  it('starts with the original ten columns, in order, then the extras', () => {
    const [header] = parseCsv(buildDatasetCsv([]));
    expect(header).toEqual([...ORIGINAL_COLUMNS, ...EXTRA_COLUMNS]);
  });

  it('writes a delivered row with Python booleans and the dataset-relative path', () => {
    const [row] = asObjects(buildDatasetCsv([datasetRow({ instanceId: '42' })]));
    expect(row).toMatchObject({
      study_id: 'S1',
      series_number: '1',
      instance_id: '42',
      downloaded: 'True',
      local_file_path: 'dicom-files/42.dcm',
      status: 'delivered',
      error_code: '',
      dicom_size: '1234',
      width: '512',
      height: '256',
      window_source: 'file',
      window_center: '40',
      window_width: '400.5',
      inverted: 'False',
      photometric_interpretation: 'MONOCHROME2',
      voi_function: 'LINEAR',
      frame: '1',
      codec: 'jpeg',
      quality: '90',
    });
  });

  it('writes a failed row with empty fields where nothing is known', () => {
    const [row] = asObjects(
      buildDatasetCsv([failedRow({ seriesNumber: null, instanceNumber: null, filePath: null })]),
    );
    expect(row).toMatchObject({
      series_number: '',
      instance_number: '',
      file_path: '',
      downloaded: 'False',
      local_file_path: '',
      status: 'failed',
      error_code: 'FILE_MISSING',
      dicom_key: '',
      width: '',
      inverted: '',
    });
  });

  it('quotes commas, quotes, CR and LF, and round-trips every value', () => {
    const tricky = {
      reportValue: 'Line one, with comma.\r\n\r\nLine "two"\nand\rthree',
      studyId: 'He said "hi"',
      filePath: '/pacs/dir,with,commas/x.dcm',
      errorMessage: '',
    };
    const csv = buildDatasetCsv([datasetRow({ ...tricky, seriesId: 'Ünïcødé 🙂 患者' })]);
    expect(csv).toContain('"He said ""hi"""');
    const [row] = asObjects(csv);
    expect(row).toMatchObject({
      report_value: tricky.reportValue,
      study_id: tricky.studyId,
      file_path: tricky.filePath,
      error_message: '',
      series_id: 'Ünïcødé 🙂 患者',
    });
  });

  it('uses CRLF record separators, no BOM and a final CRLF', () => {
    const csv = buildDatasetCsv([datasetRow()]);
    expect(csv.charCodeAt(0)).not.toBe(0xfeff);
    expect(csv.startsWith('study_id,')).toBe(true);
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(csv.split('\r\n')).toHaveLength(3);
  });

  it('orders rows by ordinal and gives the same bytes for the same rows', () => {
    const rows = [
      datasetRow({ ordinal: 2, instanceId: 'c' }),
      datasetRow({ ordinal: 0, instanceId: 'a' }),
      datasetRow({ ordinal: 1, instanceId: 'b' }),
    ];
    const csv = buildDatasetCsv(rows);
    expect(asObjects(csv).map((row) => row.instance_id)).toEqual(['a', 'b', 'c']);
    expect(buildDatasetCsv([...rows].reverse())).toBe(csv);
  });

  it('does not let credentials in a file URL into the dataset', () => {
    const [row] = asObjects(
      buildDatasetCsv([datasetRow({ fileUrl: 'https://pacs:hunter2@pacs.example.org/1.dcm' })]),
    );
    expect(row!.file_url).toBe('https://pacs.example.org/1.dcm');
  });
});

describe('buildFailuresCsv', () => {
  it('lists failed instances only, in ordinal order, with the same quoting', () => {
    const csv = buildFailuresCsv([
      failedRow({ ordinal: 3, instanceId: 'z', errorMessage: 'bad, "really"\nbad' }),
      datasetRow({ ordinal: 1, instanceId: 'ok' }),
      failedRow({ ordinal: 2, instanceId: 'y', errorCode: 'DICOM_INVALID' }),
    ]);
    const [header, ...rows] = parseCsv(csv);
    expect(header).toEqual(['instance_id', 'study_id', 'error_code', 'error_message', 'file_url']);
    expect(rows).toEqual([
      ['y', 'S1', 'DICOM_INVALID', 'no such file', 'file:///pacs/y.dcm'],
      ['z', 'S1', 'FILE_MISSING', 'bad, "really"\nbad', 'file:///pacs/z.dcm'],
    ]);
  });

  it('is a header row alone when nothing failed', () => {
    expect(buildFailuresCsv([datasetRow()])).toBe(
      'instance_id,study_id,error_code,error_message,file_url\r\n',
    );
  });
});
