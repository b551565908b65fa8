import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readInstructionTemplates } from '../../../src/config/instruction-templates.js';
import { EtlError } from '../../../src/domain/errors.js';

describe('readInstructionTemplates', () => {
  let dir: string;
  let count = 0;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'eden-templates-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function file(content: unknown): Promise<string> {
    const path = join(dir, `t${(count += 1)}.json`);
    await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  }

  async function refusal(content: unknown): Promise<EtlError> {
    const path = await file(content);
    const error = await readInstructionTemplates(path).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(EtlError);
    expect((error as EtlError).code).toBe('CONFIG_INVALID');
    expect((error as EtlError).subject).toBe(path);
    return error as EtlError;
  }

  it('reads a valid file, with requires defaulting to none and kept once each', async () => {
    const templates = await readInstructionTemplates(
      await file([
        { id: 'short_impression', target: 'impression', prompt: 'Summarise the study.' },
        {
          id: 'compare',
          target: 'findings',
          requires: ['prior', 'prior'],
          prompt: 'Prior ({prior_days} days): {prior_report}\nWhat changed?',
        },
      ]),
    );
    expect(templates).toEqual([
      {
        id: 'short_impression',
        target: 'impression',
        requires: [],
        prompt: 'Summarise the study.',
      },
      {
        id: 'compare',
        target: 'findings',
        requires: ['prior'],
        prompt: 'Prior ({prior_days} days): {prior_report}\nWhat changed?',
      },
    ]);
  });

  it('names the template and the field of each mistake, and what was expected', async () => {
    const base = { id: 'ok', target: 'findings', prompt: 'Describe.' };
    expect((await refusal('{not json')).message).toMatch(/^the instruction templates are not JSON/);
    expect((await refusal([])).message).toContain('an empty list');
    expect((await refusal({ templates: [] })).message).toContain('expected a non-empty JSON array');
    expect((await refusal([base, 'text'])).message).toBe(
      'template 2 is "text", expected an object',
    );
    expect((await refusal([{ ...base, id: 'Bad Id' }])).message).toContain(
      'template 1: id is "Bad Id", expected lower-case letters',
    );
    expect((await refusal([{ ...base, target: 'history' }])).message).toBe(
      'template 1 (ok): target is "history", expected findings or impression',
    );
    expect((await refusal([{ ...base, requires: ['priors'] }])).message).toContain(
      'requires is ["priors"], expected a list of indication, prior',
    );
    expect((await refusal([{ ...base, prompt: '  ' }])).message).toContain('prompt is "  "');
    expect((await refusal([{ ...base, answer: 'x' }])).message).toContain(
      'unknown field(s) answer',
    );
    expect((await refusal([base, base])).message).toContain('two templates have the id ok');
  });

  it('refuses a placeholder it does not know, or one whose requirement is missing', async () => {
    const base = { id: 'p', target: 'findings' };
    expect((await refusal([{ ...base, prompt: 'Age {age}?' }])).message).toContain(
      "the prompt's {age} is not a placeholder; expected one of {indication}, {prior_days}, {prior_report}",
    );
    const missing = await refusal([{ ...base, prompt: 'Given {indication}, describe.' }]);
    expect(missing.message).toBe(
      'template 1 (p): the prompt uses {indication} but requires has no "indication"',
    );
    expect(missing.hint).toContain('add "indication" to its requires');
  });

  it('says which file it cannot read', async () => {
    const path = join(dir, 'missing.json');
    await expect(readInstructionTemplates(path)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      subject: path,
      hint: 'give --instruction-templates an existing JSON file',
    });
  });
});
