// beam:coder:double:v1 — an IEEE 754 double, 8 bytes big-endian.
import { CoderError, describeValue, type ByteReader, type ByteWriter } from "./bytes-io.js";
import type { Coder } from "./coder.js";
import { CoderUrns } from "./urns.js";

export function checkNumber(value: unknown, what: string): asserts value is number {
  if (typeof value !== "number") {
    throw new CoderError("CODER_VALUE", `${what}: expected a number, got ${describeValue(value)}`);
  }
}

export const doubleCoder: Coder<number> = Object.freeze({
  urn: CoderUrns.DOUBLE,
  components: [],
  minNestedBytes: 8,
  encode(value: number, out: ByteWriter): void {
    checkNumber(value, CoderUrns.DOUBLE);
    out.writeFloat64BE(value);
  },
  decode(input: ByteReader): number {
    return input.readFloat64BE();
  },
});
