import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { asEtlError, EtlError } from '../domain/errors.js';
import type { RenderOptions } from '../domain/render.js';
import type { Fetcher } from '../source/fetcher.js';
import type { ObjectStore } from '../domain/object-store.js';
import { createLimiter } from '../pipeline/limiter.js';
import { fetchAndRender, storeImages, type Renderer } from '../pipeline/render-instance.js';

export interface ConvertFailure {
  input: string;
  error: EtlError;
}

export interface ConvertSummary {
  inputs: number;
  /** Input files that produced their images. */
  converted: number;
  /** Image files written (several per multi-frame input with frames 'all'). */
  images: number;
  failures: ConvertFailure[];
}

/**
 * The files to convert: each path given, or every file below a directory (recursively,
 * hidden files aside), in a stable order. A path that does not exist is a usage error.
 */
export async function listInputs(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const absolute = resolve(path);
    // Any stat failure (missing, no permission) means the path cannot be an input.
    const info = await stat(absolute).catch(() => null);
    if (info === null) {
      throw new EtlError('USAGE', 'no such file or directory', {
        subject: path,
        hint: 'give DICOM files or directories that hold them',
      });
    }
    if (!info.isDirectory()) {
      files.push(absolute);
      continue;
    }
    const entries = await readdir(absolute, { recursive: true, withFileTypes: true });
    files.push(
      ...entries
        .filter((entry) => entry.isFile() && !entry.name.startsWith('.'))
        .map((entry) => join(entry.parentPath, entry.name))
        .sort(),
    );
  }
  return files;
}

/** `{basename without .dcm}` — the name every image of the input starts with. */
function stem(input: string): string {
  return basename(input).replace(/\.dcm$/i, '');
}

/**
 * Output names are flat (`DIR/{stem}.jpg`): two inputs with one stem would overwrite each
 * other, so that is refused before anything is written.
 */
function checkNames(inputs: readonly string[]): void {
  const seen = new Map<string, string>();
  for (const input of inputs) {
    const other = seen.get(stem(input));
    if (other !== undefined) {
      throw new EtlError('USAGE', `${other} and ${input} would write the same images`, {
        subject: stem(input),
        hint: 'convert them in separate runs or into separate --out directories',
      });
    }
    seen.set(stem(input), input);
  }
}

/**
 * Renders each input into `store` (the output directory): `{stem}.jpg`, or `{stem}_{frame}.jpg`
 * for every frame with frames 'all' (PNG alike). A file that fails is reported through
 * `onFailure` and the others go on. At most `concurrency` files are read and rendered at once.
 */
export async function convertFiles(
  inputs: readonly string[],
  deps: { fetcher: Fetcher; renderer: Renderer; store: ObjectStore },
  options: { render: RenderOptions; concurrency: number },
  onFailure: (failure: ConvertFailure) => void,
): Promise<ConvertSummary> {
  checkNames(inputs);
  const extension = options.render.format === 'png' ? 'png' : 'jpg';
  const limit = createLimiter(options.concurrency, new AbortController().signal);
  const summary: ConvertSummary = { inputs: inputs.length, converted: 0, images: 0, failures: [] };
  await Promise.all(
    inputs.map((input) =>
      limit(async () => {
        try {
          const target = {
            instanceId: stem(input),
            fileUrl: pathToFileURL(input).href,
            filePath: null,
          };
          // No quality gates here, and no DICOM to keep: neither statistics nor the bytes here.
          const outcome = await fetchAndRender(deps, target, options.render, {
            stats: false,
            dicom: false,
          });
          if (!outcome.ok) throw outcome.error;
          await storeImages(
            outcome.images,
            options.render,
            (frame) => `${stem(input)}${frame === null ? '' : `_${frame}`}.${extension}`,
            async (key, bytes, contentType) => {
              const stored = await deps.store.replace(key, bytes, contentType);
              // Counted as written, so a later frame's failure leaves the earlier ones counted.
              summary.images += 1;
              return stored;
            },
          );
          summary.converted += 1;
        } catch (thrown) {
          const failure = { input, error: asEtlError(thrown, 'RENDER_FAILED', input) };
          summary.failures.push(failure);
          onFailure(failure);
        }
      }),
    ),
  );
  return summary;
}
