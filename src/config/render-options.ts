import type { Config } from './schema.js';
import type { RenderOptions } from '../domain/render.js';

/** The renderer's options as configured (flags, environment, defaults). */
export function renderOptionsOf(config: Config): RenderOptions {
  return {
    quality: config.jpegQuality,
    optimiseCoding: config.optimiseCoding,
    format: config.format,
    bitDepth: config.bitDepth,
    windowIndex: config.windowIndex,
    frames: config.frames,
    ...(config.maxSize === undefined ? {} : { maxSize: config.maxSize }),
    ...(config.window === undefined ? {} : { window: config.window }),
  };
}
