// The package ships JavaScript without its declarations; this is the part we call.
declare module 'jpeg-lossless-decoder-js' {
  export class Decoder {
    /** Decodes a JPEG lossless (process 14) codestream; samples are `numBytes` wide. */
    decode(
      buffer: ArrayBuffer,
      offset: number,
      length: number,
      numBytes?: number,
    ): Uint8Array | Uint16Array;
  }
}
