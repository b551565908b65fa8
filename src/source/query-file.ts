import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { EtlError } from '../domain/errors.js';

/** The columns every selection query must return (DESIGN.md, "The query contract"). */
const CONTRACT_COLUMNS = [
  'study_id',
  'series_id',
  'series_number',
  'instance_id',
  'instance_number',
  'file_path',
  'file_url',
  'report_value',
  'field_created_at',
] as const;

export interface SelectionQuery {
  /** File name, for the dataset card. */
  name: string;
  path: string;
  /** The file as written, with `:name` parameters. */
  text: string;
  sha256: string;
  /** The text with `:name` replaced by `$1..$n`, ready for PostgreSQL. */
  sql: string;
  /** Parameter names in `$n` order. */
  parameters: string[];
}

/**
 * Replaces `:name` parameters with `$n`, leaving alone `::casts`, string literals, quoted
 * identifiers, dollar-quoted bodies and comments, so queries can be written naturally.
 */
export function compileNamedParameters(text: string): { sql: string; parameters: string[] } {
  const parameters: string[] = [];
  let sql = '';
  let i = 0;
  while (i < text.length) {
    const rest = text.slice(i);
    const skipped =
      /^'(?:[^']|'')*'/.exec(rest) ??
      /^"(?:[^"]|"")*"/.exec(rest) ??
      /^--[^\n]*/.exec(rest) ??
      /^\/\*[\s\S]*?\*\//.exec(rest) ??
      /^(\$[A-Za-z_]*\$)[\s\S]*?\1/.exec(rest) ??
      /^::/.exec(rest);
    if (skipped !== null) {
      sql += skipped[0];
      i += skipped[0].length;
      continue;
    }
    const named = /^:([A-Za-z_][A-Za-z0-9_]*)/.exec(rest);
    if (named !== null) {
      const name = named[1] as string;
      let index = parameters.indexOf(name);
      if (index < 0) index = parameters.push(name) - 1;
      sql += `$${index + 1}`;
      i += named[0].length;
      continue;
    }
    sql += text[i];
    i += 1;
  }
  return { sql: sql.trim().replace(/;\s*$/, ''), parameters };
}

export async function readSelectionQuery(path: string): Promise<SelectionQuery> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new EtlError('QUERY_INVALID', `cannot read the query file: ${(error as Error).message}`, {
      subject: path,
      hint: 'give --query the path of a .sql file',
    });
  }
  const { sql, parameters } = compileNamedParameters(text);
  if (sql.replace(/--[^\n]*|\/\*[\s\S]*?\*\//g, '').trim() === '') {
    throw new EtlError('QUERY_INVALID', 'the query file is empty', { subject: path });
  }
  return {
    name: basename(path),
    path,
    text,
    sha256: createHash('sha256').update(text).digest('hex'),
    sql,
    parameters,
  };
}

/** Values for the query's parameters, failing when the query asks for one we do not have. */
export function bindParameters(
  query: SelectionQuery,
  values: Readonly<Record<string, string | number | null>>,
): (string | number | null)[] {
  return query.parameters.map((name) => {
    const value = values[name];
    if (value === undefined) {
      throw new EtlError(
        'QUERY_INVALID',
        `the query uses :${name}, which is not a known parameter (known: ${Object.keys(values)
          .map((known) => `:${known}`)
          .join(', ')})`,
        { subject: query.path },
      );
    }
    return value;
  });
}

/** Names the contract columns missing from a query's result columns. */
export function missingContractColumns(fields: readonly string[]): string[] {
  return CONTRACT_COLUMNS.filter((column) => !fields.includes(column));
}
