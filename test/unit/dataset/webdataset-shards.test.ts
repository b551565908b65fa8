import { describe, expect, it } from 'vitest';
import type { StudyLine } from '../../../src/dataset/dataset-jsonl.js';
import {
  writeWebDatasetShards,
  type WebDatasetShard,
} from '../../../src/dataset/webdataset-shards.js';

function study(id: string, split: string, images: number): StudyLine {
  return {
    study_id: id,
    patient_id: `p-${id}`,
    split,
    study_date: null,
    report: `Report of ${id}.`,
    sections: {
      indication: null,
      technique: null,
      comparison: null,
      findings: null,
      impression: null,
    },
    sections_parsed: false,
    file_names: Array.from({ length: images }, (_, n) => `images-jpg/${id}-${n}.jpg`),
    instances: [],
    prior: null,
  };
}

/** The tar members' names, read from the 512-byte headers. */
function memberNames(tar: Uint8Array): string[] {
  const names: string[] = [];
  for (let offset = 0; offset + 512 <= tar.byteLength;) {
    const name = Buffer.from(tar.subarray(offset, offset + 100))
      .toString('latin1')
      .replace(/\0.*$/s, '');
    if (name === '') break;
    const size = parseInt(Buffer.from(tar.subarray(offset + 124, offset + 135)).toString(), 8);
    names.push(name);
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return names;
}

describe('writeWebDatasetShards', () => {
  const IMAGE = 3000;
  const read = (file: string) => Promise.resolve(new TextEncoder().encode(file.padEnd(IMAGE, '.')));

  it('fills shards per split in study order, up to the size limit, one sample per study', async () => {
    const studies = [
      study('2.25.1', 'train', 2),
      study('b', 'test', 1),
      study('c', 'train', 1),
      study('d', 'train', 1),
    ];
    const shards: WebDatasetShard[] = [];
    const written = await writeWebDatasetShards(
      studies,
      ['train', 'test'],
      17_000,
      () => IMAGE,
      read,
      (shard) => {
        shards.push(shard);
        return Promise.resolve();
      },
    );
    expect(written).toEqual([
      { split: 'train', index: 0, samples: 2 },
      { split: 'train', index: 1, samples: 1 },
      { split: 'test', index: 0, samples: 1 },
    ]);
    // The dots of a UID key would end the WebDataset key: they become underscores.
    expect(memberNames(shards[0]!.bytes)).toEqual([
      '2_25_1.0.jpg',
      '2_25_1.1.jpg',
      '2_25_1.json',
      '2_25_1.txt',
      'c.0.jpg',
      'c.json',
      'c.txt',
    ]);
    expect(memberNames(shards[1]!.bytes)).toEqual(['d.0.jpg', 'd.json', 'd.txt']);
  });

  it('gives a study larger than the limit a shard of its own', async () => {
    const written = await writeWebDatasetShards(
      [study('big', 'train', 5), study('small', 'train', 1)],
      ['train'],
      4000,
      () => IMAGE,
      read,
      () => Promise.resolve(),
    );
    expect(written.map((shard) => shard.samples)).toEqual([1, 1]);
  });

  it('refuses two studies whose keys would be the same', async () => {
    await expect(
      writeWebDatasetShards(
        [study('a.1', 'train', 1), study('a_1', 'train', 1)],
        ['train'],
        1e9,
        () => IMAGE,
        read,
        () => Promise.resolve(),
      ),
    ).rejects.toThrow('two studies make the WebDataset key a_1');
  });
});
