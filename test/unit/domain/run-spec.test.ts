import { describe, expect, it } from 'vitest';
import { runIdOf, type RunSpec } from '../../../src/domain/run-spec.js';
import { TEST_SPEC } from '../../support/ledger-fixtures.js';
import { DEFAULT_RENDER_OPTIONS } from '../../../src/domain/render.js';

// Any spec will do: the tests compare ids of variants of one spec.
const spec: RunSpec = TEST_SPEC;

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
      { ...spec, render: { ...DEFAULT_RENDER_OPTIONS, quality: 80 } },
      { ...spec, quality: { ...spec.quality, gates: ['blank'] } },
      { ...spec, splits: { ...spec.splits, keyFingerprint: 'fedcba9876543210' } },
      { ...spec, render: { ...DEFAULT_RENDER_OPTIONS, optimiseCoding: true } },
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
