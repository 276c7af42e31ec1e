// beam:coder:bool:v1 — one byte, 0 or 1. Any other byte is invalid, as in Java and Python.
import { CoderError, describeValue, type ByteReader, type ByteWriter } from "./bytes-io.js";
import type { Coder } from "./coder.js";
import { CoderUrns } from "./urns.js";

export const boolCoder: Coder<boolean> = Object.freeze({
  urn: CoderUrns.BOOL,
  components: [],
  minNestedBytes: 1,
  encode(value: boolean, out: ByteWriter): void {
    if (typeof value !== "boolean") {
      throw new CoderError("CODER_VALUE", `${CoderUrns.BOOL}: expected a boolean, got ${describeValue(value)}`);
    }
    out.writeByte(value ? 1 : 0);
  },
  decode(input: ByteReader): boolean {
    const b = input.readByte();
    if (b === 0) return false;
    if (b === 1) return true;
    throw new CoderError("CODER_INVALID", `${CoderUrns.BOOL}: expected 0 or 1, got ${b}`);
  },
});
