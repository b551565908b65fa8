import { createHash } from 'node:crypto';
import type { ExportFormat, InstructionTemplate } from './instruction-exports.js';
import type { RenderOptions } from './render.js';
import type { GateId } from './quality-gates.js';

/** One split of the dataset and its share of the patients. */
export interface SplitShare {
  name: string;
  fraction: number;
}

/**
 * Everything that decides what a run delivers. Stored in the ledger at plan time; a resumed
 * run uses the stored spec, never fresh flags, so it finishes the work it started.
 * Holds no secret: the source is kept in its redacted form.
 */
export interface RunSpec {
  /** The PACS database as shown to people (password removed). */
  source: string;
  query: { name: string; path: string; sha256: string; text: string };
  /** Values bound to the query's named parameters. */
  queryParameters: { studies: number; seed: string };
  pageSize: number;
  batchSize: number;
  /** Destination root URL (no credentials) and the dataset prefix under it. */
  destination: string;
  prefix: string;
  render: RenderOptions;
  /** Quality gates enabled, and the report gate's minimum length. */
  quality: { gates: GateId[]; minReportChars: number };
  /**
   * Patient-level splits, and a fingerprint of the split key (HMAC of a fixed text, never the
   * key): a rerun with another key would move patients between splits, and the card says so.
   */
  splits: { shares: SplitShare[]; keyFingerprint: string; keySource: 'default' | 'configured' };
  /** De-identification, when the run de-identifies; the key itself is never stored. */
  deid?: DeidSpec;
  /** Instruction-tuning files written at finalize; absent when none (the loose layout alone). */
  exports?: ExportFormat[];
  /** WebDataset shards' size limit in bytes; present when the run exports webdataset. */
  shardBytes?: number;
  /** The templates of a `--instruction-templates` file; absent for the built-in ones. */
  instructionTemplates?: InstructionTemplate[];
}

/** How a run de-identifies (src/deid): part of what it delivers, so part of its id. */
export interface DeidSpec {
  profile: 'basic';
  /** Tags as 8 hex digits (--deid-keep, --deid-remove). */
  keep: string[];
  remove: string[];
  /** Staff names scrubbed from reports (--deid-staff-names), one per entry. */
  staffNames: string[];
  /** Leave out images at risk of burned-in text (--deid-quarantine). */
  quarantine: boolean;
  /** Fingerprint of SECRET_KEY: a resumed run refuses another key. */
  keyId: string;
}

/**
 * The run id: a digest of what the run delivers (source, query, parameters, destination,
 * rendering, quality gates, splits, de-identification). The same command therefore finds its own
 * run again: after a crash it resumes, after success it has nothing to do. Page and batch sizes
 * change how, not what: left out.
 */
export function runIdOf(spec: RunSpec): string {
  const identity = {
    source: spec.source,
    query: spec.query.sha256,
    parameters: spec.queryParameters,
    destination: spec.destination,
    prefix: spec.prefix,
    render: spec.render,
    // Absent from runs that do not de-identify, so their ids stay what they were.
    ...(spec.deid === undefined ? {} : { deid: spec.deid }),
    quality: spec.quality,
    splits: spec.splits,
    // Absent without exports, as deid is: the ids of runs without them stay what they were.
    ...(spec.exports === undefined ? {} : { exports: spec.exports }),
    ...(spec.shardBytes === undefined ? {} : { shardBytes: spec.shardBytes }),
    ...(spec.instructionTemplates === undefined ? {} : { templates: spec.instructionTemplates }),
  };
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
}
