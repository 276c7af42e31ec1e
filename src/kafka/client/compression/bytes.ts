// What the codecs share: little-endian words, and the error for bytes that are not what their format says.

export function readU32LE(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

export function writeU32LE(b: Uint8Array, i: number, v: number): void {
  b[i] = v & 0xff;
  b[i + 1] = (v >>> 8) & 0xff;
  b[i + 2] = (v >>> 16) & 0xff;
  b[i + 3] = (v >>> 24) & 0xff;
}

/** Compressed bytes that break their codec's format (corrupt, truncated, or a feature not supported). */
export class CompressionFormatError extends Error {
  constructor(
    readonly codec: "lz4" | "snappy",
    message: string,
  ) {
    super(`${codec}: ${message}`);
    this.name = "CompressionFormatError";
  }
}
