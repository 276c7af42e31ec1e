// Window coders: beam:coder:global_window:v1 (no bytes at all), beam:coder:interval_window:v1 (the end as an
// instant, then the span end - start as a varint), and beam:coder:custom_window:v1 (the window's max timestamp
// as an instant, then the window in its own coder; decoding skips the timestamp).
import { CoderError, describeValue, type ByteReader, type ByteWriter } from "./bytes-io.js";
import type { Coder, CoderContext } from "./coder.js";
import { readInstant, writeInstant } from "./instant.js";
import { CoderUrns } from "./urns.js";
import {
  GLOBAL_WINDOW,
  windowMaxTimestamp,
  type BoundedWindow,
  type GlobalWindow,
  type IntervalWindow,
} from "../windowing.js";

export const globalWindowCoder: Coder<GlobalWindow> = Object.freeze({
  urn: CoderUrns.GLOBAL_WINDOW,
  components: [],
  minNestedBytes: 0,
  encode(value: GlobalWindow): void {
    if (value?.kind !== "global") {
      throw new CoderError(
        "CODER_VALUE",
        `${CoderUrns.GLOBAL_WINDOW}: expected the global window, got ${describeWindow(value)}`,
      );
    }
  },
  decode(): GlobalWindow {
    return GLOBAL_WINDOW;
  },
});

export const intervalWindowCoder: Coder<IntervalWindow> = Object.freeze({
  urn: CoderUrns.INTERVAL_WINDOW,
  components: [],
  minNestedBytes: 9,
  encode(value: IntervalWindow, out: ByteWriter): void {
    if (value?.kind !== "interval") {
      throw new CoderError(
        "CODER_VALUE",
        `${CoderUrns.INTERVAL_WINDOW}: expected an interval window, got ${describeWindow(value)}`,
      );
    }
    writeInstant(out, value.end, "interval window end");
    out.writeVarInt64(BigInt.asIntN(64, value.end - value.start));
  },
  decode(input: ByteReader): IntervalWindow {
    const end = readInstant(input);
    const span = input.readVarInt64();
    return { kind: "interval", start: end - span, end };
  },
});

export function customWindowCoder<W extends BoundedWindow>(windowCoder: Coder<W>): Coder<W> {
  return Object.freeze({
    urn: CoderUrns.CUSTOM_WINDOW,
    components: [windowCoder] as readonly Coder<unknown>[],
    minNestedBytes: 8 + windowCoder.minNestedBytes,
    encode(value: W, out: ByteWriter, context: CoderContext): void {
      writeInstant(out, windowMaxTimestamp(value), "custom window max timestamp");
      windowCoder.encode(value, out, context);
    },
    decode(input: ByteReader, context: CoderContext): W {
      input.skip(8);
      return windowCoder.decode(input, context);
    },
  });
}

function describeWindow(value: unknown): string {
  const kind = (value as { kind?: unknown } | null | undefined)?.kind;
  return typeof kind === "string" ? `a ${kind} window` : describeValue(value);
}
