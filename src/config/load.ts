import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as dotenv from 'dotenv';
import { EtlError } from '../domain/errors.js';
import { redactUrl } from '../domain/redact.js';
import { CONFIG_KEYS, type Config, type ConfigKey, type KeySpec } from './schema.js';

/** Where a resolved value came from, e.g. `--studies`, `env SOURCE_DATABASE_URL`, `default`. */
type Origins = Readonly<Record<ConfigKey, string>>;

export interface ResolvedConfig {
  config: Config;
  origins: Origins;
}

export interface LoadOptions {
  /** Values given on the command line (undefined = not given). */
  flags: Partial<Record<ConfigKey, unknown>>;
  /** A command's own defaults, e.g. `demo` writes to ./output; they sit between env and flags. */
  commandDefaults?: Partial<Record<ConfigKey, unknown>>;
  /** Keys the command fixes whatever env says (the demo's sample PACS source). */
  commandFixed?: Partial<Record<ConfigKey, unknown>>;
  env?: Readonly<Record<string, string | undefined>>;
  /** The .env file; missing is fine. */
  envFile?: string;
}

const SPECS: Readonly<Record<ConfigKey, KeySpec>> = CONFIG_KEYS;
const KEYS = Object.keys(SPECS) as ConfigKey[];

function readDotenv(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  // Loaded only when there is a file to parse, and through require (half the load time of an
  // import of a CommonJS package).
  const { parse: parseDotenv } = createRequire(import.meta.url)('dotenv') as typeof dotenv;
  try {
    return parseDotenv(readFileSync(path));
  } catch (error) {
    throw new EtlError('CONFIG_INVALID', `cannot read ${path}: ${(error as Error).message}`, {
      subject: path,
      hint: 'fix or remove the .env file',
    });
  }
}

function show(value: unknown, secret: KeySpec['secret']): string {
  if (secret !== undefined) return '"<redacted>"';
  return JSON.stringify(value) ?? String(value);
}

/**
 * Resolves the configuration once: flags > command fixed/defaults > environment > .env >
 * defaults. Fails with every invalid key listed (value received and what was expected).
 */
export function loadConfig(options: LoadOptions): ResolvedConfig {
  const env = options.env ?? process.env;
  const dotenv = readDotenv(options.envFile ?? '.env');
  const raw: Partial<Record<ConfigKey, unknown>> = {};
  const origins = {} as Record<ConfigKey, string>;

  for (const key of KEYS) {
    const spec = SPECS[key];
    const candidates: [unknown, string][] = [
      [options.flags[key], spec.flag ?? key],
      [options.commandFixed?.[key], 'command'],
    ];
    for (const name of spec.env ?? []) candidates.push([env[name], `env ${name}`]);
    for (const name of spec.env ?? []) candidates.push([dotenv[name], `.env ${name}`]);
    candidates.push([options.commandDefaults?.[key], 'command default'], [spec.default, 'default']);
    // The command's fixed values beat the environment but not explicit flags.
    const found = candidates.find(([value]) => value !== undefined && value !== '');
    raw[key] = found?.[0];
    origins[key] = found?.[1] ?? 'unset';
  }

  const problems: string[] = [];
  const parsed: Partial<Record<ConfigKey, unknown>> = {};
  for (const key of KEYS) {
    const spec = SPECS[key];
    const result = spec.schema.parse(raw[key]);
    if (result.ok) parsed[key] = result.value;
    else {
      problems.push(
        `  ${origins[key]}: received ${show(raw[key], spec.secret)}; expected ${spec.expected}`,
      );
    }
  }
  // Keys that are valid alone but not together.
  if (
    parsed.deidentify === 'basic' &&
    parsed.secretKey === undefined &&
    raw.secretKey === undefined
  ) {
    problems.push(
      `  env SECRET_KEY: received nothing; expected ${SPECS.secretKey.expected}, required when de-identifying (${origins.deidentify} = basic)`,
    );
  }
  // JPEG has no 16-bit form here; refusing at start-up beats every instance failing later.
  if (parsed.bitDepth === 16 && parsed.format !== 'png') {
    problems.push(
      `  ${origins.bitDepth}: received 16 with ${origins.format} = ${String(parsed.format)}; expected 8, or 16 with ${SPECS.format.flag} png (${SPECS.format.env?.[0]}=png)`,
    );
  }
  if (problems.length > 0) {
    throw new EtlError('CONFIG_INVALID', `invalid configuration:\n${problems.join('\n')}`, {
      hint: 'fix the values above (flags, environment or .env) and run again',
    });
  }

  const config = parsed as { -readonly [K in ConfigKey]: Config[K] };
  if (config.source === undefined && config.sourceDatabaseName !== undefined) {
    config.source = sourceUrlFromParts(config);
    origins.source = 'env SOURCE_DATABASE_*';
  }
  if (config.executor === undefined) {
    config.executor = config.redisUrl === undefined ? 'local' : 'bullmq';
    origins.executor = config.redisUrl === undefined ? 'default' : 'env REDIS_URL is set';
  }
  if (config.dest === undefined && config.gcsBucketName !== undefined) {
    config.dest = `gs://${config.gcsBucketName}`;
    origins.dest = 'env GCS_BUCKET_NAME';
  }
  return { config: Object.freeze(config), origins: Object.freeze(origins) };
}

function sourceUrlFromParts(parts: Config): string {
  const url = new URL('postgres://localhost');
  url.hostname = parts.sourceDatabaseHost ?? 'localhost';
  url.port = String(parts.sourceDatabasePort);
  url.pathname = `/${encodeURIComponent(parts.sourceDatabaseName ?? '')}`;
  if (parts.sourceDatabaseUser !== undefined) url.username = parts.sourceDatabaseUser;
  if (parts.sourceDatabasePass !== undefined) url.password = parts.sourceDatabasePass;
  return url.toString();
}

/** The configuration as `eden-etl config` shows it: every key, its origin, secrets redacted. */
export function describeConfig(
  resolved: ResolvedConfig,
): { key: string; value: string; origin: string }[] {
  return KEYS.map((key) => {
    const value = resolved.config[key];
    const spec = SPECS[key];
    const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
    let shown: string;
    if (value === undefined) shown = '';
    else if (spec.secret === 'url') shown = redactUrl(text);
    else if (spec.secret === true) shown = '***';
    else shown = text;
    return { key: spec.flag ?? spec.env?.[0] ?? key, value: shown, origin: resolved.origins[key] };
  });
}
