// The fixed-size and 32-bit number forms the row coder uses for schema fields (none is a Runner API coder on
// its own): BYTE one byte (signed, as Java's Byte), INT16 big-endian 2 bytes, INT32 the varint of its unsigned
// 32-bit pattern (Java's VarIntCoder: negative values take 5 bytes), FLOAT big-endian IEEE 754 single.
import { CoderError, describeValue, type ByteReader, type ByteWriter } from "./bytes-io.js";
import type { Coder } from "./coder.js";

function checkInteger(value: unknown, min: number, max: number, what: string): asserts value is number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new CoderError(
      "CODER_VALUE",
      `${what}: expected an integer in [${min}, ${max}], got ${describeValue(value)}`,
    );
  }
}

export const int8Coder: Coder<number> = Object.freeze({
  urn: "kbt:coder:byte",
  components: [],
  minNestedBytes: 1,
  encode(value: number, out: ByteWriter): void {
    // 128..255 are accepted too (Python's ByteCoder is unsigned); they decode as their signed twin.
    checkInteger(value, -128, 255, "BYTE");
    out.writeByte(value & 0xff);
  },
  decode(input: ByteReader): number {
    return input.readInt8();
  },
});

export const int16Coder: Coder<number> = Object.freeze({
  urn: "kbt:coder:int16_big_endian",
  components: [],
  minNestedBytes: 2,
  encode(value: number, out: ByteWriter): void {
    checkInteger(value, -32768, 32767, "INT16");
    out.writeInt16BE(value);
  },
  decode(input: ByteReader): number {
    return input.readInt16BE();
  },
});

export const varInt32Coder: Coder<number> = Object.freeze({
  urn: "kbt:coder:varint32",
  components: [],
  minNestedBytes: 1,
  encode(value: number, out: ByteWriter): void {
    checkInteger(value, -2147483648, 2147483647, "INT32");
    out.writeVarInt32(value);
  },
  decode(input: ByteReader): number {
    return input.readVarInt32();
  },
});

export const float32Coder: Coder<number> = Object.freeze({
  urn: "kbt:coder:float32",
  components: [],
  minNestedBytes: 4,
  encode(value: number, out: ByteWriter): void {
    if (typeof value !== "number") {
      throw new CoderError("CODER_VALUE", `FLOAT: expected a number, got ${describeValue(value)}`);
    }
    out.writeFloat32BE(value);
  },
  decode(input: ByteReader): number {
    return input.readFloat32BE();
  },
});
