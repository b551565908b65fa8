import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EtlError } from '../domain/errors.js';
import type { HttpFetcher, HttpFetcherOptions } from './http-fetcher.js';
import { readLocalFile, type LocalFile } from './local-file.js';

/** Where an instance's DICOM file is, as the selection gave it. */
export interface FetchTarget {
  instanceId: string;
  fileUrl: string | null;
  filePath: string | null;
}

export interface Fetcher {
  /** The file's bytes; throws EtlError FILE_MISSING, FILE_TOO_LARGE or FETCH_FAILED. */
  fetch(target: FetchTarget): Promise<Uint8Array>;
  /**
   * The file as readLocalFile reads it, when it is on this machine's filesystem (null when it
   * is fetched over HTTP): a caller that needs only what is made of the bytes can have them read
   * where they are used, a render thread, instead of passing them there. Throws as fetch() does
   * for a target it cannot locate.
   */
  localFile?: LocalFileOf;
}

type LocalFileOf = (target: FetchTarget) => LocalFile | null;

export interface FileFetcherOptions {
  /** Largest file accepted, in bytes. */
  maxBytes: number;
  /** Directory that relative `file_path`s are resolved against; without it they are refused. */
  filesRoot?: string;
}

function locate(target: FetchTarget, filesRoot: string | undefined): string {
  const subject = `instance ${target.instanceId}`;
  if (target.fileUrl !== null) {
    if (target.fileUrl.startsWith('file:')) {
      try {
        return fileURLToPath(target.fileUrl);
      } catch (error) {
        throw new EtlError('FETCH_FAILED', `file_url is not a usable file URL: ${target.fileUrl}`, {
          subject,
          retryable: false,
          cause: error,
        });
      }
    }
    if (isAbsolute(target.fileUrl)) return target.fileUrl;
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(target.fileUrl)?.[1];
    throw new EtlError(
      'FETCH_FAILED',
      `file_url scheme "${scheme ?? target.fileUrl}" is not supported (http://, https://, file:// and absolute paths are)`,
      { subject, retryable: false, hint: 'serve the files over HTTP(S), as file:// URLs or paths' },
    );
  }
  if (target.filePath !== null) {
    if (isAbsolute(target.filePath)) return target.filePath;
    if (filesRoot !== undefined) return resolve(filesRoot, target.filePath);
    throw new EtlError(
      'FETCH_FAILED',
      `file_url is empty and file_path "${target.filePath}" is relative`,
      {
        subject,
        retryable: false,
        hint: 'give --files-root, the directory that file_path is relative to',
      },
    );
  }
  throw new EtlError('FETCH_FAILED', 'the selection gives neither file_url nor file_path', {
    subject,
    retryable: false,
  });
}

/** Reads `file://` URLs and paths from a local or mounted filesystem. */
function createFileFetcher(
  options: FileFetcherOptions,
): Fetcher & { localFile: (target: FetchTarget) => LocalFile } {
  const localFile = (target: FetchTarget): LocalFile => ({
    path: locate(target, options.filesRoot),
    maxBytes: options.maxBytes,
    subject: `instance ${target.instanceId}`,
  });
  return { fetch: (target) => readLocalFile(localFile(target)), localFile };
}

const HTTP_URL = /^https?:\/\//i;

/** A fetcher that holds connections: close it when the run ends. */
export interface ClosableFetcher extends Fetcher {
  close(): Promise<void>;
}

/**
 * The fetcher a run uses: `http(s)://` file URLs go to the PACS web server through one
 * keep-alive pool; `file://` URLs, paths and `file_path` (with a files root) are read from disk.
 */
export function createFetcher(
  options: FileFetcherOptions & { http: Omit<HttpFetcherOptions, 'maxBytes'> },
): ClosableFetcher {
  const files = createFileFetcher(options);
  // Built at the first http(s) URL: a run from files (the demo, convert) never loads undici.
  let http: Promise<HttpFetcher> | undefined;
  return {
    async fetch(target) {
      const { fileUrl } = target;
      if (fileUrl !== null && HTTP_URL.test(fileUrl)) {
        http ??= import('./http-fetcher.js').then(({ createHttpFetcher }) =>
          createHttpFetcher({ ...options.http, maxBytes: options.maxBytes }),
        );
        return (await http).fetch({ instanceId: target.instanceId, fileUrl });
      }
      return files.fetch(target);
    },
    localFile: (target) =>
      target.fileUrl !== null && HTTP_URL.test(target.fileUrl) ? null : files.localFile(target),
    close: async () => (await http)?.close(),
  };
}
