// beam:coder:windowed_value:v1 — timestamp (instant), windows (4-byte count + windows), pane, then the value in
// the caller's context. beam:coder:param_windowed_value:v1 — only the value; timestamp, windows and pane come
// from the coder's payload (a windowed_value encoding whose value part is ignored).
import { CoderError, describeValue, type ByteReader, type ByteWriter } from "./bytes-io.js";
import { decodeFromBytes, encodeToBytes, type Coder, type CoderContext } from "./coder.js";
import { readInstant, writeInstant } from "./instant.js";
import { readPane, writePane } from "./pane.js";
import { bytesCoder } from "./bytes.js";
import { CoderUrns } from "./urns.js";
import { GLOBAL_WINDOW, type BoundedWindow, type WindowedValue } from "../windowing.js";

/** The windows of every element in the global window, shared (WindowedValue.windows is readonly). */
const GLOBAL_WINDOWS: readonly BoundedWindow[] = Object.freeze([GLOBAL_WINDOW]);

export function writeWindows(
  out: ByteWriter,
  windows: readonly BoundedWindow[],
  windowCoder: Coder<BoundedWindow>,
): void {
  if (!Array.isArray(windows)) {
    throw new CoderError("CODER_VALUE", `windows: expected an array, got ${describeValue(windows)}`);
  }
  out.writeInt32BE(windows.length);
  for (let i = 0; i < windows.length; i++) windowCoder.encode(windows[i]!, out, "nested");
}

export function readWindows(input: ByteReader, windowCoder: Coder<BoundedWindow>): readonly BoundedWindow[] {
  const count = input.readInt32BE();
  if (count < 0) throw new CoderError("CODER_INVALID", `windows: count ${count}`);
  if (count === 1 && windowCoder.urn === CoderUrns.GLOBAL_WINDOW) return GLOBAL_WINDOWS;
  input.checkCount("windows", count, windowCoder.minNestedBytes);
  const windows = new Array<BoundedWindow>(count);
  for (let i = 0; i < count; i++) windows[i] = windowCoder.decode(input, "nested");
  return windows;
}

export function windowedValueCoder<T>(
  valueCoder: Coder<T>,
  windowCoder: Coder<BoundedWindow>,
): Coder<WindowedValue<T>> {
  return Object.freeze({
    urn: CoderUrns.WINDOWED_VALUE,
    components: [valueCoder, windowCoder] as readonly Coder<unknown>[],
    minNestedBytes: 8 + 4 + 1 + valueCoder.minNestedBytes,
    encode(value: WindowedValue<T>, out: ByteWriter, context: CoderContext): void {
      writeInstant(out, value.timestamp, "windowed value timestamp");
      writeWindows(out, value.windows, windowCoder);
      writePane(out, value.pane);
      valueCoder.encode(value.value, out, context);
    },
    decode(input: ByteReader, context: CoderContext): WindowedValue<T> {
      const timestamp = readInstant(input);
      const ws = readWindows(input, windowCoder);
      const pane = readPane(input);
      return { value: valueCoder.decode(input, context), timestamp, windows: ws, pane };
    },
  });
}

/** The timestamp, windows and pane a param_windowed_value coder stamps on every value. */
export interface WindowedValueParams {
  readonly timestamp: bigint;
  readonly windows: readonly BoundedWindow[];
  readonly pane: WindowedValue<unknown>["pane"];
}

/** Encodes params as Beam's payload: a windowed_value of an empty byte string, nested (Java writes a 0 length). */
export function encodeWindowedValueParams(params: WindowedValueParams, windowCoder: Coder<BoundedWindow>): Uint8Array {
  return encodeToBytes(windowedValueCoder(bytesCoder, windowCoder), { ...params, value: new Uint8Array(0) }, "nested");
}

/** Decodes a param_windowed_value payload; whatever follows the pane (the placeholder value) is ignored. */
export function decodeWindowedValueParams(payload: Uint8Array, windowCoder: Coder<BoundedWindow>): WindowedValueParams {
  const { timestamp, windows, pane } = decodeFromBytes(
    windowedValueCoder(ignoredRestCoder, windowCoder),
    payload,
    "outer",
  );
  return { timestamp, windows, pane };
}

const ignoredRestCoder: Coder<null> = Object.freeze({
  urn: "kbt:coder:ignored_rest",
  components: [],
  minNestedBytes: 0,
  encode(): void {},
  decode(input: ByteReader): null {
    input.skip(input.remaining);
    return null;
  },
});

export function paramWindowedValueCoder<T>(
  valueCoder: Coder<T>,
  windowCoder: Coder<BoundedWindow>,
  params: WindowedValueParams | Uint8Array,
): Coder<WindowedValue<T>> {
  const payload = params instanceof Uint8Array ? params : encodeWindowedValueParams(params, windowCoder);
  const { timestamp, windows, pane } =
    params instanceof Uint8Array ? decodeWindowedValueParams(params, windowCoder) : params;
  const frozenWindows = Object.freeze([...windows]);
  return Object.freeze({
    urn: CoderUrns.PARAM_WINDOWED_VALUE,
    components: [valueCoder, windowCoder] as readonly Coder<unknown>[],
    payload,
    minNestedBytes: valueCoder.minNestedBytes,
    encode(value: WindowedValue<T>, out: ByteWriter, context: CoderContext): void {
      valueCoder.encode(value.value, out, context);
    },
    decode(input: ByteReader, context: CoderContext): WindowedValue<T> {
      return { value: valueCoder.decode(input, context), timestamp, windows: frozenWindows, pane };
    },
  });
}
