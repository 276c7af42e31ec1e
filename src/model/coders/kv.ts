// beam:coder:kv:v1 — the key (nested) then the value (in the caller's context).
import type { ByteReader, ByteWriter } from "./bytes-io.js";
import type { Coder, CoderContext } from "./coder.js";
import { CoderUrns } from "./urns.js";

/** A key and a value, as Beam's KV: the element type of keyed PCollections (e.g. GroupByKey's input). */
export interface KV<K, V> {
  readonly key: K;
  readonly value: V;
}

export function kvCoder<K, V>(keyCoder: Coder<K>, valueCoder: Coder<V>): Coder<KV<K, V>> {
  return Object.freeze({
    urn: CoderUrns.KV,
    components: [keyCoder, valueCoder] as readonly Coder<unknown>[],
    minNestedBytes: keyCoder.minNestedBytes + valueCoder.minNestedBytes,
    encode(value: KV<K, V>, out: ByteWriter, context: CoderContext): void {
      keyCoder.encode(value.key, out, "nested");
      valueCoder.encode(value.value, out, context);
    },
    decode(input: ByteReader, context: CoderContext): KV<K, V> {
      const key = keyCoder.decode(input, "nested");
      return { key, value: valueCoder.decode(input, context) };
    },
  });
}
