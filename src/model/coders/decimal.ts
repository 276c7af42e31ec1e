// The decimal logical type (beam:logical_type:decimal:v1) as Java's BigDecimalCoder writes it: the scale as a
// 32-bit varint, then the unscaled value as a byte string (length-prefixed when nested) holding its minimal
// big-endian two's complement (Java's BigInteger.toByteArray: zero is one 0x00 byte).
import { CoderError, describeValue, type ByteReader, type ByteWriter } from "./bytes-io.js";
import type { Coder, CoderContext } from "./coder.js";
import type { Decimal } from "../schema.js";

export function decimalFromString(text: string): Decimal {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!match || (match[2] === "" && (match[3] ?? "") === "")) {
    throw new CoderError("CODER_VALUE", `decimal: cannot parse ${JSON.stringify(text)}`);
  }
  const [, sign, whole, fraction = "", exponent = "0"] = match;
  const digits = `${whole}${fraction}` || "0";
  const unscaled = BigInt(digits) * (sign === "-" ? -1n : 1n);
  return { unscaled, scale: fraction.length - Number(exponent) };
}

export function decimalToString(value: Decimal): string {
  const negative = value.unscaled < 0n;
  let digits = (negative ? -value.unscaled : value.unscaled).toString();
  if (value.scale <= 0) return `${negative ? "-" : ""}${digits}${"0".repeat(-value.scale)}`;
  digits = digits.padStart(value.scale + 1, "0");
  const point = digits.length - value.scale;
  return `${negative ? "-" : ""}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Minimal big-endian two's complement of n (at least one byte). */
export function twosComplementBytes(n: bigint): Uint8Array {
  const bytes = Math.ceil((bitLength(n) + 1) / 8);
  const hex = BigInt.asUintN(bytes * 8, n)
    .toString(16)
    .padStart(bytes * 2, "0");
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Bits needed for n without its sign (Java's BigInteger.bitLength). */
function bitLength(n: bigint): number {
  const magnitude = n < 0n ? -n - 1n : n;
  return magnitude === 0n ? 0 : magnitude.toString(2).length;
}

export function bigIntFromTwosComplement(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  let hex = "";
  for (let i = 0; i < bytes.length; i++) hex += bytes[i]!.toString(16).padStart(2, "0");
  return BigInt.asIntN(bytes.length * 8, BigInt(`0x${hex}`));
}

export const decimalCoder: Coder<Decimal> = Object.freeze({
  urn: "kbt:coder:decimal",
  components: [],
  minNestedBytes: 2,
  encode(value: Decimal, out: ByteWriter, context: CoderContext): void {
    if (
      value === null ||
      typeof value !== "object" ||
      typeof value.unscaled !== "bigint" ||
      !Number.isInteger(value.scale)
    ) {
      throw new CoderError(
        "CODER_VALUE",
        `decimal: expected {unscaled: bigint, scale: integer}, got ${describeValue(value)}`,
      );
    }
    out.writeVarInt32(value.scale);
    const bytes = twosComplementBytes(value.unscaled);
    if (context === "nested") out.writeVarInt(bytes.length);
    out.writeBytes(bytes);
  },
  decode(input: ByteReader, context: CoderContext): Decimal {
    const scale = input.readVarInt32();
    const length = context === "outer" ? input.remaining : input.readLength("decimal length");
    if (length > 1 << 20) throw new CoderError("CODER_INVALID", `decimal: ${length}-byte unscaled value`);
    return { unscaled: bigIntFromTwosComplement(input.readBytesView(length)), scale };
  },
});
