// beam:coder:length_prefix:v1 — a varint byte length, then the inner coder's outer-context encoding. Runners
// wrap coders they do not know in it, so they can move the bytes without understanding them.
import type { ByteReader, ByteWriter } from "./bytes-io.js";
import type { Coder } from "./coder.js";
import { CoderUrns } from "./urns.js";

export function lengthPrefixCoder<T>(inner: Coder<T>): Coder<T> {
  return Object.freeze({
    urn: CoderUrns.LENGTH_PREFIX,
    components: [inner] as readonly Coder<unknown>[],
    minNestedBytes: 1,
    encode(value: T, out: ByteWriter): void {
      const mark = out.beginLengthPrefix();
      inner.encode(value, out, "outer");
      out.endLengthPrefix(mark);
    },
    decode(input: ByteReader): T {
      const length = input.readLength("length prefix");
      const previousEnd = input.pushLimit(length, "length-prefixed value");
      let value: T;
      try {
        value = inner.decode(input, "outer");
      } catch (err) {
        input.popLimitAfterError(previousEnd);
        throw err;
      }
      input.popLimit(previousEnd, CoderUrns.LENGTH_PREFIX);
      return value;
    },
  });
}
