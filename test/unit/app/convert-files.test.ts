import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EtlError } from '../../../src/domain/errors.js';
import { convertFiles, listInputs } from '../../../src/app/convert-files.js';
import { tempDir } from '../../support/cli.js';
import { DEFAULT_RENDER_OPTIONS } from '../../../src/domain/render.js';

describe('listInputs', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('convert-inputs'));
    await mkdir(join(dir, 'study/series'), { recursive: true });
    await writeFile(join(dir, 'study/b.dcm'), 'b');
    await writeFile(join(dir, 'study/series/a.dcm'), 'a');
    await writeFile(join(dir, 'study/.DS_Store'), 'hidden');
    await writeFile(join(dir, 'single.dcm'), 's');
  });
  afterEach(async () => {
    await cleanup();
  });

  it('takes files as given and every visible file below a directory, in a stable order', async () => {
    expect(await listInputs([join(dir, 'single.dcm'), join(dir, 'study')])).toEqual([
      join(dir, 'single.dcm'),
      join(dir, 'study/b.dcm'),
      join(dir, 'study/series/a.dcm'),
    ]);
  });

  it('refuses a path that does not exist, naming it', async () => {
    await expect(listInputs([join(dir, 'nope')])).rejects.toMatchObject({
      code: 'USAGE',
      subject: join(dir, 'nope'),
    });
  });
});

describe('convertFiles', () => {
  it('refuses two inputs that would write the same image, before writing anything', async () => {
    let rendered = 0;
    const refuse = () => {
      rendered += 1;
      return Promise.reject(new Error('must not be called'));
    };
    const renderer = { renderFrames: refuse, renderLocalFile: refuse };
    const noStore = new Proxy({}, { get: () => () => Promise.reject(new Error('no writes')) });
    const noFetch = { fetch: () => Promise.reject(new Error('no reads')) };
    const run = convertFiles(
      ['/a/x.dcm', '/b/x.DCM'],
      { fetcher: noFetch, renderer, store: noStore as never },
      { render: DEFAULT_RENDER_OPTIONS, concurrency: 1 },
      () => undefined,
    );
    await expect(run).rejects.toBeInstanceOf(EtlError);
    await expect(run).rejects.toMatchObject({ code: 'USAGE', subject: 'x' });
    expect(rendered).toBe(0);
  });
});
