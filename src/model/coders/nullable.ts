// beam:coder:nullable:v1 — a byte 0 (null) or 1 (present, then the value in the caller's context).
import { CoderError, type ByteReader, type ByteWriter } from "./bytes-io.js";
import type { Coder, CoderContext } from "./coder.js";
import { CoderUrns } from "./urns.js";

export function nullableCoder<T>(inner: Coder<T>): Coder<T | null> {
  return Object.freeze({
    urn: CoderUrns.NULLABLE,
    components: [inner] as readonly Coder<unknown>[],
    minNestedBytes: 1,
    encode(value: T | null, out: ByteWriter, context: CoderContext): void {
      if (value === null || value === undefined) {
        out.writeByte(0);
      } else {
        out.writeByte(1);
        inner.encode(value, out, context);
      }
    },
    decode(input: ByteReader, context: CoderContext): T | null {
      const flag = input.readByte();
      if (flag === 0) return null;
      if (flag === 1) return inner.decode(input, context);
      throw new CoderError("CODER_INVALID", `${CoderUrns.NULLABLE}: expected a 0 or 1 presence byte, got ${flag}`);
    },
  });
}
