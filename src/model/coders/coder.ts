// The Coder contract, with Beam's two contexts: a value is either the whole rest of the stream ("outer") or is
// followed by more data ("nested"). Only a few coders differ between them: a top-level bytes or string coder
// writes no length prefix in the outer context, and composites pass the context to their last component.
import { ByteReader, ByteWriter, CoderError } from "./bytes-io.js";

export type CoderContext = "nested" | "outer";

/**
 * Beam's Coder: encodes values of `T` to bytes and back in Beam's wire format, so that other SDKs' workers read them.
 * `context` says whether the value is the rest of the stream ("outer") or is followed by more data ("nested").
 * Implementations throw CoderError on a value they cannot encode or on bytes that are not a valid encoding.
 */
export interface Coder<T> {
  /** The Runner API URN of this coder, or a descriptive `kbt:` name for the row coder's inner field coders. */
  readonly urn: string;
  /** Component coders in Runner API order (kv: key, value; windowed_value: value, window; ...). */
  readonly components: readonly Coder<unknown>[];
  /** The Runner API payload (row: the encoded Schema; param_windowed_value: the encoded parameters). */
  readonly payload?: Uint8Array;
  /**
   * A lower bound of the nested encoding's size in bytes. Decoders of collections use it to reject a count the
   * remaining input cannot hold before looping over it.
   */
  readonly minNestedBytes: number;
  /** Appends the encoding of `value` to `out`. */
  encode(value: T, out: ByteWriter, context: CoderContext): void;
  /** Reads one value from `input`, leaving the reader just past it. */
  decode(input: ByteReader, context: CoderContext): T;
}

/** The value type a coder encodes. */
export type CoderValue<C> = C extends Coder<infer T> ? T : never;

// One writer and one reader shared by the helpers below; coders never call the helpers re-entrantly (they write
// into the writer they are given), so sharing is safe in Node's single thread.
const sharedWriter = new ByteWriter(4096);
const sharedReader = new ByteReader();

/** Encodes one value into fresh bytes (outer context unless told otherwise). */
export function encodeToBytes<T>(coder: Coder<T>, value: T, context: CoderContext = "outer"): Uint8Array {
  sharedWriter.reset();
  coder.encode(value, sharedWriter, context);
  return sharedWriter.finish();
}

/**
 * Decodes one value that must span all of `bytes` (outer context unless told otherwise). Leftover bytes are a
 * CODER_INVALID error: they mean the coder does not match the data.
 */
export function decodeFromBytes<T>(coder: Coder<T>, bytes: Uint8Array, context: CoderContext = "outer"): T {
  const reader = sharedReader.reset(bytes);
  const value = decodeGuarded(coder, reader, context);
  if (!reader.atEnd) {
    throw new CoderError("CODER_INVALID", `${coder.urn}: ${reader.remaining} byte(s) left after the value`);
  }
  return value;
}

/**
 * Runs a decoder and turns anything that is not a CoderError into one, so that a bug in a decoder path surfaces as
 * a coder failure naming the coder rather than as a stray RangeError.
 */
export function decodeGuarded<T>(coder: Coder<T>, input: ByteReader, context: CoderContext): T {
  try {
    return coder.decode(input, context);
  } catch (err) {
    if (err instanceof CoderError) throw err;
    throw new CoderError("CODER_INVALID", `${coder.urn}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
}
