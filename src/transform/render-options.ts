import { EtlError } from '../domain/errors.js';
import { DEFAULT_RENDER_OPTIONS, type RenderOptions } from '../domain/render.js';

/** RenderOptions with every default filled in, checked once per call. */
export type ResolvedRenderOptions = Required<Omit<RenderOptions, 'maxSize' | 'window'>> &
  Pick<RenderOptions, 'maxSize' | 'window'>;

function bad(what: string): EtlError {
  return new EtlError('INTERNAL', what, { hint: 'fix the render options passed by the caller' });
}

export function resolveRenderOptions(options: RenderOptions): ResolvedRenderOptions {
  const resolved = { ...DEFAULT_RENDER_OPTIONS, ...options } as ResolvedRenderOptions;
  const { quality, format, bitDepth, maxSize, window, windowIndex, frames } = resolved;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw bad(`JPEG quality ${quality} is not an integer in 1..100`);
  }
  if (format !== 'jpeg' && format !== 'png')
    throw bad(`output format ${String(format)} is not jpeg or png`);
  if (bitDepth !== 8 && bitDepth !== 16) throw bad(`bit depth ${String(bitDepth)} is not 8 or 16`);
  if (bitDepth === 16 && format !== 'png') throw bad('bit depth 16 needs format png');
  if (maxSize !== undefined && (!Number.isInteger(maxSize) || maxSize < 1)) {
    throw bad(`max size ${maxSize} is not a positive integer`);
  }
  if (window !== undefined && !(Number.isFinite(window.center) && window.width > 0)) {
    throw bad(`window ${window.center},${window.width} needs a finite centre and a width above 0`);
  }
  if (!Number.isInteger(windowIndex) || windowIndex < 1) {
    throw bad(`window index ${windowIndex} is not an integer from 1`);
  }
  if (frames !== 'first' && frames !== 'all')
    throw bad(`frames ${String(frames)} is not first or all`);
  return resolved;
}
