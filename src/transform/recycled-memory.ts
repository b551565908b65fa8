/**
 * Buffers recycled within one thread: memory already written once is spared the page faults of
 * fresh memory, which on a large radiograph cost as much as a pass over its pixels (zeroing and
 * mapping 11 MB is about 3 ms). A buffer is lent, then given back once nothing reads it any more.
 */
export interface RecycledMemoryOptions {
  /** Buffers kept waiting for reuse at most; the largest are kept. */
  idle: number;
  /** Larger buffers are left to the garbage collector, in bytes. */
  largestKept: number;
  /** Sizes are rounded up to a multiple of this, so that images of similar size share buffers. */
  chunk: number;
}

export class RecycledMemory {
  readonly #idle: ArrayBuffer[] = [];
  readonly #lent = new WeakSet<ArrayBuffer>();

  constructor(private readonly options: RecycledMemoryOptions) {}

  /** A buffer of at least `byteLength` bytes, of any content: the smallest idle one that fits. */
  lend(byteLength: number): ArrayBuffer {
    const idle = this.#idle;
    let best = -1;
    for (let index = 0; index < idle.length; index += 1) {
      const size = idle[index]!.byteLength;
      if (size >= byteLength && (best < 0 || size < idle[best]!.byteLength)) best = index;
    }
    const { chunk } = this.options;
    const buffer =
      best >= 0
        ? idle.splice(best, 1)[0]!
        : Buffer.allocUnsafeSlow(Math.ceil(byteLength / chunk) * chunk).buffer;
    this.#lent.add(buffer);
    return buffer;
  }

  /** Takes back a lent buffer; ignores any other (a buffer moved away is never lent here). */
  giveBack(buffer: ArrayBufferLike): void {
    if (!(buffer instanceof ArrayBuffer) || !this.#lent.delete(buffer)) return;
    if (buffer.byteLength > this.options.largestKept) return;
    const idle = this.#idle;
    idle.push(buffer);
    // Keep the largest: small buffers are the cheap ones to allocate afresh.
    if (idle.length > this.options.idle) {
      idle.sort((a, b) => b.byteLength - a.byteLength);
      idle.length = this.options.idle;
    }
  }
}
