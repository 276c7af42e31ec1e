// beam:coder:string_utf8:v1 — UTF-8 text: varint byte length then the bytes, or just the bytes in the outer
// context. Invalid UTF-8 decodes with U+FFFD replacements, as Java's decoder does, never an exception.
import { CoderError, describeValue, type ByteReader, type ByteWriter } from "./bytes-io.js";
import type { Coder, CoderContext } from "./coder.js";
import { CoderUrns } from "./urns.js";

export const stringUtf8Coder: Coder<string> = Object.freeze({
  urn: CoderUrns.STRING_UTF8,
  components: [],
  minNestedBytes: 1,
  encode(value: string, out: ByteWriter, context: CoderContext): void {
    if (typeof value !== "string") {
      throw new CoderError("CODER_VALUE", `${CoderUrns.STRING_UTF8}: expected a string, got ${describeValue(value)}`);
    }
    if (context === "nested") out.writeUtf8LengthPrefixed(value);
    else out.writeUtf8(value);
  },
  decode(input: ByteReader, context: CoderContext): string {
    const length = context === "outer" ? input.remaining : input.readLength("string length");
    return input.readUtf8(length);
  },
});
