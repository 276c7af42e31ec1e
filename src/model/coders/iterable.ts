// beam:coder:iterable:v1 — a 4-byte big-endian element count, then the elements (nested). Decoding also accepts
// the unknown-length form Java writes for lazy iterables: count -1, then blocks of (varint n, n elements), ended
// by a 0 block. A negative block count is a state-backed continuation token, which this coder does not follow.
import { CoderError, describeValue, type ByteReader, type ByteWriter } from "./bytes-io.js";
import type { Coder } from "./coder.js";
import { CoderUrns } from "./urns.js";

export function iterableCoder<T>(elementCoder: Coder<T>): Coder<readonly T[]> {
  return Object.freeze({
    urn: CoderUrns.ITERABLE,
    components: [elementCoder] as readonly Coder<unknown>[],
    minNestedBytes: 4,
    encode(value: readonly T[] | Iterable<T>, out: ByteWriter): void {
      const elements = Array.isArray(value) ? (value as readonly T[]) : toArray(value);
      out.writeInt32BE(elements.length);
      for (let i = 0; i < elements.length; i++) elementCoder.encode(elements[i]!, out, "nested");
    },
    decode(input: ByteReader): T[] {
      return decodeElements(input, elementCoder, CoderUrns.ITERABLE);
    },
  });
}

function toArray<T>(value: Iterable<T>): readonly T[] {
  if (value === null || typeof value !== "object" || typeof (value as Iterable<T>)[Symbol.iterator] !== "function") {
    throw new CoderError(
      "CODER_VALUE",
      `${CoderUrns.ITERABLE}: expected an array or iterable, got ${describeValue(value)}`,
    );
  }
  return Array.from(value);
}

/** The element list of an iterable (also an array or iterable row field). */
export function decodeElements<T>(input: ByteReader, elementCoder: Coder<T>, what: string): T[] {
  const count = input.readInt32BE();
  if (count >= 0) {
    input.checkCount(what, count, elementCoder.minNestedBytes);
    const elements = new Array<T>(count);
    for (let i = 0; i < count; i++) elements[i] = elementCoder.decode(input, "nested");
    return elements;
  }
  if (count !== -1) throw new CoderError("CODER_INVALID", `${what}: element count ${count}`);
  const elements: T[] = [];
  for (;;) {
    const block = input.readVarInt64();
    if (block === 0n) return elements;
    if (block < 0n) {
      throw new CoderError(
        "CODER_INVALID",
        `${what}: a state-backed continuation (block count ${block}) needs a state reader`,
      );
    }
    const n = Number(block);
    input.checkCount(what, n, elementCoder.minNestedBytes);
    if (elements.length + n > 0x7fffffff) throw new CoderError("CODER_INVALID", `${what}: more than 2^31 elements`);
    for (let i = 0; i < n; i++) elements.push(elementCoder.decode(input, "nested"));
  }
}
