import { open } from 'node:fs/promises';
import { EtlError } from '../domain/errors.js';

/** A DICOM file on this machine's filesystem, located and checked by the fetcher. */
export interface LocalFile {
  path: string;
  /** Largest file accepted, in bytes. */
  maxBytes: number;
  /** Whose file it is, for errors: `instance 123`. */
  subject: string;
}

/**
 * Reads a whole local file into memory from `allocate(size)`: by default a buffer of its own,
 * which is then owned whole and can be moved to a render thread without a copy. Throws EtlError
 * FILE_MISSING, FILE_TOO_LARGE, or FETCH_FAILED (retryable unless the path can never be read).
 */
export async function readLocalFile(
  file: LocalFile,
  allocate: (size: number) => Uint8Array = (size) => new Uint8Array(size),
): Promise<Uint8Array> {
  const { path, subject } = file;
  try {
    const handle = await open(path, 'r');
    try {
      const { size, isFile } = await handle.stat().then((stat) => ({
        size: stat.size,
        isFile: stat.isFile(),
      }));
      if (!isFile) {
        throw new EtlError('FETCH_FAILED', `${path} is not a regular file`, {
          subject,
          retryable: false,
        });
      }
      if (size > file.maxBytes) {
        throw new EtlError(
          'FILE_TOO_LARGE',
          `${path} has ${size} bytes, above the cap of ${file.maxBytes}`,
          { subject, hint: 'raise --max-file-bytes if the machine has the memory' },
        );
      }
      const bytes = allocate(size);
      let offset = 0;
      while (offset < size) {
        const { bytesRead } = await handle.read(bytes, offset, size - offset, offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
      }
      return offset === size ? bytes : bytes.subarray(0, offset);
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof EtlError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new EtlError('FILE_MISSING', `${path} does not exist`, {
        subject,
        hint: 'the PACS record points at a file that is gone',
      });
    }
    throw new EtlError('FETCH_FAILED', `cannot read ${path}: ${(error as Error).message}`, {
      subject,
      retryable: code !== 'EACCES' && code !== 'EISDIR' && code !== 'ENOTDIR',
      cause: error,
    });
  }
}
