import { describe, expect, it } from 'vitest';
import { carriesSecret, redactUrl } from '../../../src/domain/redact.js';

describe('redactUrl', () => {
  it.each([
    ['postgres://eden:hunter2@db.example.org:5432/pacs', 'postgres://db.example.org:5432/pacs'],
    ['redis://:hunter2@127.0.0.1:6379/0', 'redis://127.0.0.1:6379/0'],
    [
      'https://user:hunter2@pacs.example.org/wado?studyUID=1',
      'https://pacs.example.org/wado?studyUID=1',
    ],
    [
      'https://storage.googleapis.com/b/o?X-Goog-Credential=abc&X-Goog-Signature=hunter2',
      'https://storage.googleapis.com/b/o?X-Goog-Credential=REDACTED&X-Goog-Signature=REDACTED',
    ],
    [
      'https://pacs.example.org/file?token=hunter2&id=7',
      'https://pacs.example.org/file?token=REDACTED&id=7',
    ],
  ])('%s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });

  it('leaves strings without credentials exactly as they are', () => {
    for (const value of ['http://example.org', '/srv/pacs/1.dcm', 'file:///a b', 'gs://bucket/x']) {
      expect(redactUrl(value)).toBe(value);
    }
  });

  it('strips credentials from strings the URL parser rejects', () => {
    const redacted = redactUrl('postgres://eden:p/ss#w@rd@db:5432/pacs');
    expect(redacted).toBe('postgres://db:5432/pacs');
    expect(redacted).not.toContain('ss');
  });
});

describe('carriesSecret', () => {
  it('flags passwords and secret parameters, not user names or plain values', () => {
    expect(carriesSecret('postgres://u:hunter2@db/pacs')).toBe(true);
    expect(carriesSecret('https://pacs/wado?token=abc')).toBe(true);
    expect(carriesSecret('postgres://postgres@127.0.0.1/pacs')).toBe(false);
    expect(carriesSecret('file://./out')).toBe(false);
    expect(carriesSecret('--studies')).toBe(false);
    expect(carriesSecret('postgres://u:p/w@db/pacs')).toBe(true);
  });
});
