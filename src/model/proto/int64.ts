// int64 on the wire, exactly. protobufjs decodes every 64-bit integer field to a Long (the `long` package): exact,
// unlike a JS number past 2^53. These two helpers move between that and the bigint the rest of the project uses.
import protobuf from "protobufjs/light.js";

/** What int64/uint64/sint64/fixed64 fields hold after decode: a Long ({ low, high, unsigned } plus methods). */
export type Long = protobuf.Long;

interface LongClass {
  fromBits(low: number, high: number, unsigned?: boolean): Long;
  fromString(text: string, unsigned?: boolean): Long;
}

const LongImpl = protobuf.util.Long as unknown as LongClass | undefined;
if (!LongImpl)
  throw new Error("protobufjs found no Long implementation (package `long`): int64 fields would lose precision");

const TWO_32 = 1n << 32n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/**
 * An int64 field's value as a bigint: a decoded Long (its `unsigned` flag decides the sign), or a number/string/
 * bigint someone put in a message by hand. null/undefined (an unset field of a plain object) read as 0n.
 */
export function toBigInt(x: Long | number | string | bigint | null | undefined): bigint {
  if (x === null || x === undefined) return 0n;
  if (typeof x === "bigint") return x;
  if (typeof x === "number") {
    if (!Number.isSafeInteger(x)) throw new RangeError(`int64: ${x} is not a safe integer`);
    return BigInt(x);
  }
  if (typeof x === "string") return BigInt(x);
  const high = x.unsigned ? BigInt(x.high >>> 0) : BigInt(x.high | 0);
  return high * TWO_32 + BigInt(x.low >>> 0);
}

/** A bigint as the Long to put in an int64 (or, with unsigned, uint64/fixed64) field; out of range throws. */
export function fromBigInt(b: bigint, unsigned = false): Long {
  const [min, max] = unsigned ? [0n, UINT64_MAX] : [INT64_MIN, INT64_MAX];
  if (b < min || b > max) throw new RangeError(`${unsigned ? "uint64" : "int64"}: ${b} is out of range`);
  const bits = BigInt.asUintN(64, b);
  return LongImpl!.fromBits(Number(bits & 0xffffffffn) | 0, Number(bits >> 32n) | 0, unsigned);
}
