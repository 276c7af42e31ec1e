// Zstandard through Node's zlib (Node >= 22.15: every supported line has it); standard frames, as Kafka's Java
// clients (zstd-jni) write and read them.
import { promisify } from "node:util";
import zlib from "node:zlib";

type Transform = (data: Uint8Array) => Promise<Buffer>;

const nodeZstd = zlib as unknown as {
  zstdCompress?: (...args: unknown[]) => void;
  zstdDecompress?: (...args: unknown[]) => void;
};

/** Zstandard from this Node's zlib, or undefined where it has none (Node < 22.15). */
export const zstd: { compress: Transform; decompress: Transform } | undefined =
  nodeZstd.zstdCompress && nodeZstd.zstdDecompress
    ? {
        compress: promisify(nodeZstd.zstdCompress) as Transform,
        decompress: promisify(nodeZstd.zstdDecompress) as Transform,
      }
    : undefined;
