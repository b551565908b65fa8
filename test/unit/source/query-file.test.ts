import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  bindParameters,
  compileNamedParameters,
  missingContractColumns,
  readSelectionQuery,
} from '../../../src/source/query-file.js';

describe('compileNamedParameters', () => {
  it('numbers parameters in order of first use and reuses numbers', () => {
    const { sql, parameters } = compileNamedParameters(
      'SELECT * FROM t WHERE a = :seed AND b < :studies OR c = :seed;',
    );
    expect(sql).toBe('SELECT * FROM t WHERE a = $1 AND b < $2 OR c = $1');
    expect(parameters).toEqual(['seed', 'studies']);
  });

  it('leaves casts, strings, quoted identifiers, comments and dollar quotes alone', () => {
    const text = [
      'SELECT x::text, \':notparam\', "col:name", $body$ :nope $body$',
      '-- a comment with :comment',
      '/* block :block */ FROM t WHERE y = :real',
    ].join('\n');
    const { sql, parameters } = compileNamedParameters(text);
    expect(parameters).toEqual(['real']);
    expect(sql).toContain('x::text, \':notparam\', "col:name", $body$ :nope $body$');
    expect(sql).toContain('-- a comment with :comment');
    expect(sql).toContain('/* block :block */');
    expect(sql.endsWith('y = $1')).toBe(true);
  });

  it('handles doubled quotes inside literals', () => {
    const { sql, parameters } = compileNamedParameters("SELECT 'it''s :x' || :y");
    expect(parameters).toEqual(['y']);
    expect(sql).toBe("SELECT 'it''s :x' || $1");
  });
});

describe('readSelectionQuery and bindParameters', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'eden-query-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file, hashes it and binds known parameters', async () => {
    const path = join(dir, 'q.sql');
    await writeFile(path, 'SELECT :studies AS n, :seed AS s');
    const query = await readSelectionQuery(path);
    expect(query.name).toBe('q.sql');
    expect(query.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(bindParameters(query, { studies: 3, seed: 'abc' })).toEqual([3, 'abc']);
  });

  it('names an unknown parameter and the known ones', async () => {
    const path = join(dir, 'q.sql');
    await writeFile(path, 'SELECT :modality');
    const query = await readSelectionQuery(path);
    expect(() => bindParameters(query, { studies: 3, seed: 'a' })).toThrow(
      /uses :modality.*known: :studies, :seed/,
    );
  });

  it('refuses a missing file with QUERY_INVALID naming the path', async () => {
    await expect(readSelectionQuery(join(dir, 'nope.sql'))).rejects.toMatchObject({
      code: 'QUERY_INVALID',
      subject: join(dir, 'nope.sql'),
    });
  });

  it('refuses an empty file', async () => {
    const path = join(dir, 'empty.sql');
    await writeFile(path, '  -- nothing\n');
    await expect(readSelectionQuery(path)).rejects.toMatchObject({ code: 'QUERY_INVALID' });
  });
});

describe('missingContractColumns', () => {
  it('lists exactly the missing contract columns', () => {
    expect(
      missingContractColumns([
        'study_id',
        'series_id',
        'series_number',
        'instance_id',
        'file_path',
        'file_url',
        'report_value',
      ]),
    ).toEqual(['instance_number', 'field_created_at']);
  });
});
