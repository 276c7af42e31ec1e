// Kafka's compression codecs beyond gzip (kafkajs's, through Node's zlib), by the record batch attribute's codec id:
// snappy and lz4 written here, zstd from Node's zlib. The client uses these unless kafkajs's CompressionCodecs has a
// codec registered for the id (a native one the user chose).
import { lz4Compress, lz4Decompress } from "./lz4.js";
import { snappyCompress, snappyDecompress } from "./snappy.js";
import { zstd } from "./zstd.js";

export { CompressionFormatError } from "./bytes.js";
export { lz4Compress, lz4Decompress, snappyCompress, snappyDecompress };

export interface CompressionCodec {
  compress(data: Buffer): Promise<Buffer>;
  decompress(data: Buffer): Promise<Buffer>;
}

export const SNAPPY = 2;
export const LZ4 = 3;
export const ZSTD = 4;

function sync(compress: (data: Uint8Array) => Buffer, decompress: (data: Uint8Array) => Buffer): CompressionCodec {
  return { compress: async (data) => compress(data), decompress: async (data) => decompress(data) };
}

const BUILT_IN: Readonly<Record<number, CompressionCodec | undefined>> = {
  [SNAPPY]: sync(snappyCompress, snappyDecompress),
  [LZ4]: sync(lz4Compress, lz4Decompress),
  [ZSTD]: zstd,
};

/** The codec for a batch attribute's codec id (2 snappy, 3 lz4, 4 zstd), if this process has one. */
export function builtInCodec(codecId: number): CompressionCodec | undefined {
  return BUILT_IN[codecId];
}
