/**
 * Whether a Uint8Array spans the whole of its (non-shared) ArrayBuffer, so that transferring the
 * buffer to another thread moves exactly these bytes. Transferring a view into a larger buffer
 * (a pooled Node Buffer, a slice) would drag the rest along and detach memory the owner of the
 * rest still uses.
 */
export function ownsWholeBuffer(bytes: Uint8Array): boolean {
  return (
    bytes.buffer instanceof ArrayBuffer &&
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength
  );
}
