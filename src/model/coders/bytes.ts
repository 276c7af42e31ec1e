// beam:coder:bytes:v1 — a byte string: varint length then the bytes, or just the bytes in the outer context.
import { CoderError, describeValue, type ByteReader, type ByteWriter } from "./bytes-io.js";
import type { Coder, CoderContext } from "./coder.js";
import { CoderUrns } from "./urns.js";

export function checkBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new CoderError("CODER_VALUE", `${what}: expected a Uint8Array, got ${describeValue(value)}`);
  }
}

export const bytesCoder: Coder<Uint8Array> = Object.freeze({
  urn: CoderUrns.BYTES,
  components: [],
  minNestedBytes: 1,
  encode(value: Uint8Array, out: ByteWriter, context: CoderContext): void {
    checkBytes(value, CoderUrns.BYTES);
    if (context === "nested") out.writeVarInt(value.length);
    out.writeBytes(value);
  },
  decode(input: ByteReader, context: CoderContext): Uint8Array {
    if (context === "outer") return input.readRemaining();
    return input.readBytes(input.readLength("bytes length"));
  },
});
