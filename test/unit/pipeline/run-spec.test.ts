import { describe, expect, it } from 'vitest';
import { runIdOf, type RunSpec } from '../../../src/pipeline/run-spec.js';

const spec: RunSpec = {
  source: 'postgres://db:5432/pacs',
  query: { name: 'q.sql', path: '/x/q.sql', sha256: 'a'.repeat(64), text: 'SELECT 1' },
  queryParameters: { studies: 8, seed: '0' },
  pageSize: 25,
  batchSize: 25,
  destination: 'file:///data/out',
  prefix: 'eden-dataset-vlms/sample-test',
  render: { quality: 90, optimiseCoding: false },
  quality: { gates: ['blank', 'duplicate'], minReportChars: 20 },
  splits: {
    shares: [
      { name: 'train', fraction: 0.8 },
      { name: 'test', fraction: 0.2 },
    ],
    keyFingerprint: '0123456789abcdef',
    keySource: 'default',
  },
};

describe('runIdOf', () => {
  it('is a stable 16-hex-digit digest of the spec', () => {
    expect(runIdOf(spec)).toMatch(/^[0-9a-f]{16}$/);
    expect(runIdOf({ ...spec })).toBe(runIdOf(spec));
  });

  it('changes with anything that changes what the run delivers', () => {
    const id = runIdOf(spec);
    const variants: RunSpec[] = [
      { ...spec, source: 'postgres://other:5432/pacs' },
      { ...spec, query: { ...spec.query, sha256: 'b'.repeat(64) } },
      { ...spec, queryParameters: { studies: 9, seed: '0' } },
      { ...spec, queryParameters: { studies: 8, seed: '1' } },
      { ...spec, destination: 'file:///data/other' },
      { ...spec, prefix: 'elsewhere' },
      { ...spec, render: { quality: 80, optimiseCoding: false } },
      { ...spec, quality: { ...spec.quality, gates: ['blank'] } },
      { ...spec, splits: { ...spec.splits, keyFingerprint: 'fedcba9876543210' } },
      { ...spec, render: { quality: 90, optimiseCoding: true } },
    ];
    const ids = variants.map(runIdOf);
    expect(ids).not.toContain(id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('ignores how the work is cut: page size, batch size, query file location', () => {
    const id = runIdOf(spec);
    expect(runIdOf({ ...spec, pageSize: 100, batchSize: 5 })).toBe(id);
    expect(runIdOf({ ...spec, query: { ...spec.query, path: '/elsewhere/q.sql' } })).toBe(id);
  });
});
