import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tarArchive, tarSize } from '../../../src/dataset/tar-archive.js';

const READ = [
  'import json, sys, tarfile',
  'with tarfile.open(sys.argv[1]) as archive:',
  '    members = archive.getmembers()',
  '    print(json.dumps([[m.name, m.size, m.mode, m.mtime, m.isfile(),',
  '        archive.extractfile(m).read().decode("latin1")] for m in members]))',
].join('\n');

describe('tarArchive', () => {
  const entries = [
    { name: 'study_1.0.jpg', bytes: new Uint8Array(700).fill(7) },
    { name: 'study_1.json', bytes: new TextEncoder().encode('{"a":1}') },
    { name: 'empty.txt', bytes: new Uint8Array(0) },
  ];

  it('is read back by Python’s tarfile, every member with its bytes, mode 0644 and time 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'eden-tar-'));
    try {
      const path = join(dir, 'shard.tar');
      await writeFile(path, tarArchive(entries));
      const members = JSON.parse(
        execFileSync('/usr/bin/python3', ['-c', READ, path], { encoding: 'utf8' }),
      ) as [string, number, number, number, boolean, string][];
      expect(members).toEqual(
        entries.map((entry) => [
          entry.name,
          entry.bytes.byteLength,
          0o644,
          0,
          true,
          Buffer.from(entry.bytes).toString('latin1'),
        ]),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('makes the same bytes every time, of the size tarSize plans', () => {
    const archive = tarArchive(entries);
    expect(Buffer.from(tarArchive(entries)).equals(archive)).toBe(true);
    expect(archive.byteLength).toBe(tarSize(entries.map((entry) => entry.bytes.byteLength)));
    expect(archive.byteLength % 512).toBe(0);
  });

  it('refuses a member name tar cannot hold as it is', () => {
    expect(() => tarArchive([{ name: 'x'.repeat(101), bytes: new Uint8Array(1) }])).toThrow(
      /is not 1\.\.100 printable ASCII bytes/,
    );
    expect(() => tarArchive([{ name: 'a b.jpg', bytes: new Uint8Array(1) }])).toThrow();
  });
});
