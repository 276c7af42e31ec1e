// The coder types the SDF contract needs (from the model layer's face), and the coders of our restriction and
// watermark-state types. Both are expressed as Beam standard coders, so a runner that sees them inside a
// sized-element coder (KV<KV<element, KV<restriction, state>>, double>) can decode them without length prefixes.
import { CoderUrns, varIntCoder, type ByteReader, type ByteWriter, type Coder } from "../model/coders/index.js";
import { offsetRange, type OffsetRange } from "./offset-range.js";
import type { Instant } from "../model/windowing.js";

export type { Coder, KV } from "../model/coders/index.js";

/**
 * OffsetRange on the wire: `from` then `to`, each the varint of its two's-complement int64 — the bytes of Beam
 * Java's OffsetRange.Coder, and of the standard coder KV<varint, varint> (which is how the Runner API describes it;
 * decoded by this coder the value is an OffsetRange, not a KV).
 */
export const offsetRangeCoder: Coder<OffsetRange> = Object.freeze({
  urn: CoderUrns.KV,
  components: [varIntCoder, varIntCoder] as readonly Coder<unknown>[],
  minNestedBytes: 2,
  encode(value: OffsetRange, out: ByteWriter): void {
    varIntCoder.encode(value.from, out, "nested");
    varIntCoder.encode(value.to, out, "nested");
  },
  decode(input: ByteReader): OffsetRange {
    const from = varIntCoder.decode(input, "nested");
    return offsetRange(from, varIntCoder.decode(input, "nested"));
  },
});

/**
 * The state of the Instant-based watermark estimators: the millisecond instant as a standard varint. Only our own
 * worker reads it back, so it needs no Java-compatible InstantCoder, and a runner can still decode it.
 */
export const watermarkInstantCoder: Coder<Instant> = varIntCoder;
