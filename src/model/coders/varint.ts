// beam:coder:varint:v1 — a signed 64-bit integer as the varint of its two's complement (Java's VarLongCoder).
// Values are bigint; encode also takes a safe-integer number for convenience.
import { CoderError, describeValue, type ByteReader, type ByteWriter } from "./bytes-io.js";
import type { Coder } from "./coder.js";
import { CoderUrns } from "./urns.js";

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** Checks a value for an int64 slot and returns it as bigint. */
export function toInt64(value: unknown, what: string): bigint {
  if (typeof value === "bigint") {
    if (value < INT64_MIN || value > INT64_MAX) {
      throw new CoderError("CODER_VALUE", `${what}: ${value} is outside the int64 range`);
    }
    return value;
  }
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  throw new CoderError("CODER_VALUE", `${what}: expected an int64 (bigint), got ${describeValue(value)}`);
}

export const varIntCoder: Coder<bigint> = Object.freeze({
  urn: CoderUrns.VARINT,
  components: [],
  minNestedBytes: 1,
  encode(value: bigint, out: ByteWriter): void {
    out.writeVarInt64(
      typeof value === "bigint" && value >= 0n && value < 0x80000000n ? value : toInt64(value, CoderUrns.VARINT),
    );
  },
  decode(input: ByteReader): bigint {
    return input.readVarInt64();
  },
});
