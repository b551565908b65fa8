import { readFile } from 'node:fs/promises';
import { EtlError } from '../domain/errors.js';
import {
  PROMPT_PLACEHOLDERS,
  type InstructionRequirement,
  type InstructionTemplate,
} from '../domain/instruction-exports.js';

/**
 * Reads a user's instruction templates (`--instruction-templates FILE`): a JSON array of
 * `{ "id", "target", "requires", "prompt" }` (domain/instruction-exports.ts). Checked whole at
 * start-up, so a typo stops the run before anything is fetched, with the template and field named.
 */

const ID = /^[a-z][a-z0-9_]{0,63}$/;
const TARGETS = ['findings', 'impression'];
const REQUIREMENTS: readonly string[] = ['indication', 'prior'];
const PLACEHOLDER = /\{([^{}]*)\}/g;

function invalid(path: string, message: string, hint?: string): EtlError {
  return new EtlError('CONFIG_INVALID', message, {
    subject: path,
    hint: hint ?? 'see "Instruction exports" in docs/dataset-format.md for the file’s shape',
  });
}

function checkTemplate(path: string, value: unknown, index: number): InstructionTemplate {
  const where = `template ${index + 1}`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(path, `${where} is ${JSON.stringify(value)}, expected an object`);
  }
  const { id, target, requires = [], prompt, ...rest } = value as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) {
    throw invalid(
      path,
      `${where} has unknown field(s) ${extra.join(', ')}; expected id, target, requires, prompt`,
    );
  }
  if (typeof id !== 'string' || !ID.test(id)) {
    throw invalid(
      path,
      `${where}: id is ${JSON.stringify(id)}, expected lower-case letters, digits and _ (from a letter, at most 64)`,
    );
  }
  const named = `${where} (${id})`;
  if (typeof target !== 'string' || !TARGETS.includes(target)) {
    throw invalid(
      path,
      `${named}: target is ${JSON.stringify(target)}, expected ${TARGETS.join(' or ')}`,
    );
  }
  if (
    !Array.isArray(requires) ||
    !requires.every((item) => typeof item === 'string' && REQUIREMENTS.includes(item))
  ) {
    throw invalid(
      path,
      `${named}: requires is ${JSON.stringify(requires)}, expected a list of ${REQUIREMENTS.join(', ')}`,
    );
  }
  if (typeof prompt !== 'string' || prompt.trim() === '') {
    throw invalid(
      path,
      `${named}: prompt is ${JSON.stringify(prompt)}, expected the question as text`,
    );
  }
  for (const [, name] of prompt.matchAll(PLACEHOLDER)) {
    const needs = PROMPT_PLACEHOLDERS[name!];
    if (needs === undefined) {
      throw invalid(
        path,
        `${named}: the prompt's {${name}} is not a placeholder; expected one of ${Object.keys(
          PROMPT_PLACEHOLDERS,
        )
          .map((known) => `{${known}}`)
          .join(', ')}`,
      );
    }
    if (!requires.includes(needs)) {
      throw invalid(
        path,
        `${named}: the prompt uses {${name}} but requires has no "${needs}"`,
        `add "${needs}" to its requires, so that studies without it are skipped instead of asked about nothing`,
      );
    }
  }
  return {
    id,
    target: target as InstructionTemplate['target'],
    requires: [...new Set(requires as InstructionRequirement[])],
    prompt,
  };
}

export async function readInstructionTemplates(path: string): Promise<InstructionTemplate[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw invalid(
      path,
      `cannot read the instruction templates: ${(error as Error).message}`,
      'give --instruction-templates an existing JSON file',
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw invalid(path, `the instruction templates are not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    throw invalid(
      path,
      `the instruction templates are ${Array.isArray(parsed) ? 'an empty list' : JSON.stringify(parsed)?.slice(0, 40)}, expected a non-empty JSON array of templates`,
    );
  }
  const templates = parsed.map((value, index) => checkTemplate(path, value, index));
  const ids = templates.map((template) => template.id);
  const twice = ids.find((id, index) => ids.indexOf(id) !== index);
  if (twice !== undefined)
    throw invalid(
      path,
      `two templates have the id ${twice}; ids name the samples, so each must be unique`,
    );
  return templates;
}
