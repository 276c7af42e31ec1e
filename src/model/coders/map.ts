// Map values of row fields, as Java's and Python's MapCoder write them: a 4-byte big-endian entry count, then
// key and value of each entry, both nested. Decodes to a JS Map; encodes a Map, or a plain object (string keys).
import { CoderError, describeValue, type ByteReader, type ByteWriter } from "./bytes-io.js";
import type { Coder } from "./coder.js";

export function mapCoder<K, V>(keyCoder: Coder<K>, valueCoder: Coder<V>): Coder<ReadonlyMap<K, V>> {
  const minEntry = keyCoder.minNestedBytes + valueCoder.minNestedBytes;
  return Object.freeze({
    urn: "kbt:coder:map",
    components: [keyCoder, valueCoder] as readonly Coder<unknown>[],
    minNestedBytes: 4,
    encode(value: ReadonlyMap<K, V> | Record<string, V>, out: ByteWriter): void {
      if (value instanceof Map) {
        out.writeInt32BE(value.size);
        for (const [k, v] of value) {
          keyCoder.encode(k, out, "nested");
          valueCoder.encode(v, out, "nested");
        }
      } else if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        const entries = Object.entries(value);
        out.writeInt32BE(entries.length);
        for (const [k, v] of entries) {
          keyCoder.encode(k as K, out, "nested");
          valueCoder.encode(v as V, out, "nested");
        }
      } else {
        throw new CoderError("CODER_VALUE", `map: expected a Map, got ${describeValue(value)}`);
      }
    },
    decode(input: ByteReader): Map<K, V> {
      const count = input.readInt32BE();
      if (count < 0) throw new CoderError("CODER_INVALID", `map: entry count ${count}`);
      input.checkCount("map", count, minEntry);
      const result = new Map<K, V>();
      for (let i = 0; i < count; i++) {
        const key = keyCoder.decode(input, "nested");
        result.set(key, valueCoder.decode(input, "nested"));
      }
      return result;
    },
  });
}
