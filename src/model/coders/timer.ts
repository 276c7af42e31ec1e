// beam:coder:timer:v1 — user key (nested), dynamic timer tag (string, nested), windows (4-byte count + windows),
// clear bit (bool); unless cleared: fire timestamp, hold timestamp (instants) and pane.
import type { ByteReader, ByteWriter } from "./bytes-io.js";
import { boolCoder } from "./bool.js";
import type { Coder } from "./coder.js";
import { readInstant, writeInstant } from "./instant.js";
import { readPane, writePane } from "./pane.js";
import { stringUtf8Coder } from "./string-utf8.js";
import { CoderUrns } from "./urns.js";
import { readWindows, writeWindows } from "./windowed-value.js";
import type { BoundedWindow, Instant, PaneInfo } from "../windowing.js";

export type Timer<K> =
  | {
      readonly userKey: K;
      readonly dynamicTimerTag: string;
      readonly windows: readonly BoundedWindow[];
      readonly clearBit: false;
      readonly fireTimestamp: Instant;
      readonly holdTimestamp: Instant;
      readonly pane: PaneInfo;
    }
  | {
      readonly userKey: K;
      readonly dynamicTimerTag: string;
      readonly windows: readonly BoundedWindow[];
      readonly clearBit: true;
    };

export function timerCoder<K>(keyCoder: Coder<K>, windowCoder: Coder<BoundedWindow>): Coder<Timer<K>> {
  return Object.freeze({
    urn: CoderUrns.TIMER,
    components: [keyCoder, windowCoder] as readonly Coder<unknown>[],
    minNestedBytes: keyCoder.minNestedBytes + 1 + 4 + 1,
    encode(timer: Timer<K>, out: ByteWriter): void {
      keyCoder.encode(timer.userKey, out, "nested");
      stringUtf8Coder.encode(timer.dynamicTimerTag, out, "nested");
      writeWindows(out, timer.windows, windowCoder);
      boolCoder.encode(timer.clearBit, out, "nested");
      if (!timer.clearBit) {
        writeInstant(out, timer.fireTimestamp, "timer fire timestamp");
        writeInstant(out, timer.holdTimestamp, "timer hold timestamp");
        writePane(out, timer.pane);
      }
    },
    decode(input: ByteReader): Timer<K> {
      const userKey = keyCoder.decode(input, "nested");
      const dynamicTimerTag = stringUtf8Coder.decode(input, "nested");
      const ws = readWindows(input, windowCoder);
      if (boolCoder.decode(input, "nested")) return { userKey, dynamicTimerTag, windows: ws, clearBit: true };
      const fireTimestamp = readInstant(input);
      const holdTimestamp = readInstant(input);
      const pane = readPane(input);
      return { userKey, dynamicTimerTag, windows: ws, clearBit: false, fireTimestamp, holdTimestamp, pane };
    },
  });
}
