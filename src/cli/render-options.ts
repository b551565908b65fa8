import type { Config } from '../config/schema.js';
import { EtlError } from '../domain/errors.js';
import type { RenderOptions } from '../domain/render.js';

/** The renderer's options as configured (flags, environment, defaults). */
export function renderOptionsOf(config: Config): RenderOptions {
  return {
    quality: config.quality,
    optimiseCoding: config.optimiseCoding,
    format: config.format,
    bitDepth: config.bitDepth,
    windowIndex: config.windowIndex,
    frames: config.frames,
    ...(config.maxSize === undefined ? {} : { maxSize: config.maxSize }),
    ...(config.window === undefined ? {} : { window: config.window }),
  };
}

/**
 * The options a pipeline run accepts: the dataset layout holds one JPEG per instance
 * (images-jpg/{instance_id}.jpg), so PNG masters and every-frame output are `convert`'s for now.
 */
export function pipelineRenderOptions(config: Config): RenderOptions {
  const problems = [
    config.format === 'jpeg' ? null : `--format ${config.format}`,
    config.bitDepth === 8 ? null : `--bit-depth ${config.bitDepth}`,
    config.frames === 'first' ? null : `--frames ${config.frames}`,
  ].filter((problem): problem is string => problem !== null);
  if (problems.length > 0) {
    throw new EtlError(
      'USAGE',
      `${problems.join(', ')}: a run writes one 8-bit JPEG per instance (frame 1)`,
      { hint: 'use `eden-etl convert` for PNG masters and every frame of multi-frame files' },
    );
  }
  return renderOptionsOf(config);
}
