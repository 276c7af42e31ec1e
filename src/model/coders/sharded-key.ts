// beam:coder:sharded_key:v1 — the shard id (bytes, nested) then the user key (nested, in every context, as the
// Python and Java SDKs write it).
import type { ByteReader, ByteWriter } from "./bytes-io.js";
import { bytesCoder } from "./bytes.js";
import type { Coder } from "./coder.js";
import { CoderUrns } from "./urns.js";

export interface ShardedKey<K> {
  readonly shardId: Uint8Array;
  readonly key: K;
}

export function shardedKeyCoder<K>(keyCoder: Coder<K>): Coder<ShardedKey<K>> {
  return Object.freeze({
    urn: CoderUrns.SHARDED_KEY,
    components: [keyCoder] as readonly Coder<unknown>[],
    minNestedBytes: 1 + keyCoder.minNestedBytes,
    encode(value: ShardedKey<K>, out: ByteWriter): void {
      bytesCoder.encode(value.shardId, out, "nested");
      keyCoder.encode(value.key, out, "nested");
    },
    decode(input: ByteReader): ShardedKey<K> {
      const shardId = bytesCoder.decode(input, "nested");
      return { shardId, key: keyCoder.decode(input, "nested") };
    },
  });
}
