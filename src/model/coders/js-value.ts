// beam:coder:kafka-beam-ts:js_value:v1 — a JavaScript value as UTF-8 JSON, for PCollections of a TypeScript
// pipeline that declare no coder (what a Map returns). Beyond JSON it keeps bigints and byte arrays (Uint8Array,
// Buffer, decoded as Buffer); undefined inside arrays becomes null and Dates become strings, as in JSON; a Map or
// Set is refused (JSON would write {}). Not a Beam standard coder: runners
// carry it length-prefixed as opaque bytes, and group by those bytes, so a GroupByKey key must encode the same way
// whenever it is equal (strings, numbers, arrays of them; objects with their properties always in the same order).
import { CoderError, describeValue, type ByteReader, type ByteWriter } from "./bytes-io.js";
import type { Coder, CoderContext } from "./coder.js";

export const JS_VALUE_CODER_URN = "beam:coder:kafka-beam-ts:js_value:v1";

/** The tag of a value JSON cannot carry as it is; an object that has this key itself is wrapped the same way. */
const TAG = "$kbt";

/** A field named `__proto__` stays a field (assignment would set the prototype instead). */
function setField(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__")
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** The value with what JSON cannot carry as it is replaced by tagged objects (a fresh tree: the input is untouched). */
function tagged(value: unknown, path: string): unknown {
  if (typeof value === "bigint") return { [TAG]: "bigint", v: value.toString() };
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Uint8Array) {
    return { [TAG]: "bytes", v: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  }
  if (Array.isArray(value)) return value.map((item, i) => tagged(item, `${path}[${i}]`));
  if (value instanceof Map || value instanceof Set) {
    throw new CoderError(
      "CODER_VALUE",
      `${JS_VALUE_CODER_URN}: ${path || "the value"} is a ${value.constructor.name}, ` +
        "which JSON would encode as {}: use a plain object or an array, or declare a coder with withCoder()",
    );
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") return value; // Date and friends, as JSON does
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) setField(out, key, tagged(item, `${path}.${key}`));
  return Object.hasOwn(out, TAG) ? { [TAG]: "object", v: out } : out;
}

/** The inverse of `tagged`, from the top down (an escaped object's own fields are not read as tags). */
function untagged(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(untagged);
  const record = value as Record<string, unknown>;
  if (!Object.hasOwn(record, TAG)) return fields(record);
  const tag = record[TAG];
  const v = record.v;
  switch (tag) {
    case "bigint":
      return BigInt(v as string);
    case "bytes":
      return Buffer.from(v as string, "base64");
    case "object":
      return fields(v as Record<string, unknown>);
    default:
      throw new CoderError("CODER_VALUE", `${JS_VALUE_CODER_URN}: unknown tag ${JSON.stringify(tag)}`);
  }
}

function fields(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(record)) setField(out, key, untagged(item));
  return out;
}

function encodeText(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(tagged(value, ""));
  } catch (err) {
    if (err instanceof CoderError) throw err;
    throw new CoderError(
      "CODER_VALUE",
      `${JS_VALUE_CODER_URN}: cannot encode ${describeValue(value)}: ${(err as Error).message}`,
    );
  }
  if (text === undefined)
    throw new CoderError("CODER_VALUE", `${JS_VALUE_CODER_URN}: cannot encode ${describeValue(value)}`);
  return text;
}

/** JavaScript values as JSON, with bigints and byte arrays (see the file comment). */
export const jsValueCoder: Coder<unknown> = Object.freeze({
  urn: JS_VALUE_CODER_URN,
  components: [],
  minNestedBytes: 1,
  encode(value: unknown, out: ByteWriter, context: CoderContext): void {
    const text = encodeText(value);
    if (context === "nested") out.writeUtf8LengthPrefixed(text);
    else out.writeUtf8(text);
  },
  decode(input: ByteReader, context: CoderContext): unknown {
    const length = context === "outer" ? input.remaining : input.readLength("js value length");
    const text = input.readUtf8(length);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      if (err instanceof CoderError) throw err;
      throw new CoderError(
        "CODER_VALUE",
        `${JS_VALUE_CODER_URN}: not JSON (${length} bytes): ${(err as Error).message}`,
      );
    }
    return untagged(parsed);
  },
});
