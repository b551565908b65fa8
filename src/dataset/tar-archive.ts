import { EtlError } from '../domain/errors.js';

/**
 * A POSIX ustar archive of regular files, as WebDataset shards are: every header with mode 0644,
 * owner 0 and time 0, so that the same files always make the same bytes (and the same SHA-256 in
 * the manifest). Python's tarfile, GNU tar and the webdataset loader read it.
 */

const BLOCK = 512;

export interface TarEntry {
  /** The member's name, at most 100 bytes of ASCII (no directories). */
  name: string;
  bytes: Uint8Array;
}

/** `value` as `width - 1` octal digits and a NUL, as ustar stores numbers. */
function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, size: number): Uint8Array {
  if (!/^[\x21-\x7e]{1,100}$/.test(name)) {
    throw new EtlError(
      'INTERNAL',
      `tar member name ${JSON.stringify(name)} is not 1..100 printable ASCII bytes`,
    );
  }
  const block = new Uint8Array(BLOCK);
  const put = (text: string, offset: number) => {
    for (let index = 0; index < text.length; index += 1)
      block[offset + index] = text.charCodeAt(index);
  };
  put(name, 0);
  put(octal(0o644, 8), 100);
  put(octal(0, 8), 108);
  put(octal(0, 8), 116);
  put(octal(size, 12), 124);
  put(octal(0, 12), 136);
  // The checksum is summed with its own field as eight spaces.
  put('        ', 148);
  put('0', 156);
  put('ustar\u000000', 257);
  const sum = block.reduce((total, byte) => total + byte, 0);
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return block;
}

/** The archive of `entries`, in their order, ended by the two zero blocks ustar requires. */
export function tarArchive(entries: readonly TarEntry[]): Uint8Array {
  let length = 2 * BLOCK;
  for (const entry of entries) length += BLOCK + Math.ceil(entry.bytes.byteLength / BLOCK) * BLOCK;
  const archive = new Uint8Array(length);
  let offset = 0;
  for (const entry of entries) {
    archive.set(header(entry.name, entry.bytes.byteLength), offset);
    archive.set(entry.bytes, offset + BLOCK);
    offset += BLOCK + Math.ceil(entry.bytes.byteLength / BLOCK) * BLOCK;
  }
  return archive;
}

/** The archive's size for members of these sizes, to plan shards before reading their bytes. */
export function tarSize(sizes: readonly number[]): number {
  return sizes.reduce((total, size) => total + BLOCK + Math.ceil(size / BLOCK) * BLOCK, 2 * BLOCK);
}
