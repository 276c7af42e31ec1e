// Event-time instants as Beam's Java InstantCoder writes them (windowed values, interval windows, timers, the
// millis_instant row field): the millisecond count plus 2^63, as 8 big-endian bytes, so byte order = time order.
import { CoderError, describeValue, type ByteReader, type ByteWriter } from "./bytes-io.js";
import type { Coder } from "./coder.js";
import type { Instant } from "../windowing.js";

const SIGN = 1n << 63n;

export function writeInstant(out: ByteWriter, millis: Instant, what: string): void {
  if (typeof millis !== "bigint" || millis < -SIGN || millis >= SIGN) {
    throw new CoderError(
      "CODER_VALUE",
      `${what}: expected an int64 millisecond instant (bigint), got ${describeValue(millis)}`,
    );
  }
  out.writeShiftedInt64BE(millis);
}

export function readInstant(input: ByteReader): Instant {
  return input.readShiftedInt64BE();
}

/** Not a Runner API coder: the timestamp form shared by the coders above, exposed for rows and tests. */
export const instantCoder: Coder<Instant> = Object.freeze({
  urn: "kbt:coder:instant",
  components: [],
  minNestedBytes: 8,
  encode(value: Instant, out: ByteWriter): void {
    writeInstant(out, value, "instant");
  },
  decode(input: ByteReader): Instant {
    return readInstant(input);
  },
});
