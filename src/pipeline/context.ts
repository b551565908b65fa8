import type { Logger } from 'pino';
import type { Fetcher } from '../source/fetcher.js';
import type { Ledger } from '../ledger/ledger.js';
import type { ObjectStore } from '../domain/object-store.js';
import type { DeidOptions } from '../deid/deidentify-dicom.js';
import type { Pseudonymizer } from '../deid/pseudonyms.js';
import type { Renderer } from './render-instance.js';

/** What de-identifying items needs, when the run does: the options and the key's pseudonyms. */
export interface DeidContext {
  options: DeidOptions;
  pseudonymizer: Pseudonymizer;
}

/** The adapters a run works with, built by the composition root and passed in. */
export interface PipelineContext {
  ledger: Ledger;
  store: ObjectStore;
  fetcher: Fetcher;
  renderer: Renderer;
  logger: Logger;
  deid?: DeidContext;
}
