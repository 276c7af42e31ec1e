// The element model shared by coders, the SDF core, runners and the Fn API worker.
// Timestamps are event-time instants in milliseconds as bigint: Beam's min/max timestamps (±2^63/1000)
// do not fit a double exactly.

/** Milliseconds since the epoch. */
export type Instant = bigint;

/** Beam's BoundedWindow.TIMESTAMP_MIN_VALUE / MAX_VALUE in milliseconds (Java's Long.MIN/MAX_VALUE µs / 1000). */
export const MIN_TIMESTAMP: Instant = -9223372036854775n;
export const MAX_TIMESTAMP: Instant = 9223372036854775n;
/** The end of the global window: a day before the max timestamp, as Beam defines it. */
export const GLOBAL_WINDOW_MAX_TIMESTAMP: Instant = MAX_TIMESTAMP - 86_400_000n;

export interface GlobalWindow {
  readonly kind: "global";
}

/** [start, end) in event time; maxTimestamp = end - 1. */
export interface IntervalWindow {
  readonly kind: "interval";
  readonly start: Instant;
  readonly end: Instant;
}

export type BoundedWindow = GlobalWindow | IntervalWindow;

export const GLOBAL_WINDOW: GlobalWindow = Object.freeze({ kind: "global" });

export function windowMaxTimestamp(window: BoundedWindow): Instant {
  return window.kind === "global" ? GLOBAL_WINDOW_MAX_TIMESTAMP : window.end - 1n;
}

// Window functions and triggers as plain data: a pipeline graph stays serialisable, and each maps onto Beam's
// standard payloads (windowing-strategy.ts). Window assignment: ../sdf/window-fns.ts.

/** Beam's GlobalWindows: every element is in the single global window. The default WindowFn. */
export interface GlobalWindowFn {
  readonly kind: "global";
}

/** Beam's FixedWindows: [offset + k*size, offset + (k+1)*size). */
export interface FixedWindowFn {
  readonly kind: "fixed";
  readonly sizeMs: bigint;
  readonly offsetMs: bigint;
}

/** A non-merging window function, as data: global or fixed windows. */
export type WindowFn = GlobalWindowFn | FixedWindowFn;

/**
 * When a GroupByKey emits a key's values of a window, as data. `default`: once, when the watermark passes the end of
 * the window. `element-count`: Beam's `Repeatedly.forever(AfterPane.elementCountAtLeast(count))` with discarding
 * fired panes: a pane as soon as a key holds `count` new values (runners look at bundle boundaries), and a last one
 * at the end of the window with what is left, if anything. `every-element`: Beam's `Always` (Java's
 * ReshuffleTrigger), each pane at its earliest element's timestamp: a GroupByKey that only moves data between
 * workers (Redistribute).
 */
export type Trigger =
  | { readonly kind: "default" }
  | { readonly kind: "element-count"; readonly count: number }
  | { readonly kind: "every-element" };

/** The default trigger (frozen and shared). */
export const DEFAULT_TRIGGER: Trigger = Object.freeze({ kind: "default" });

/** Fires for every element, panes at their earliest timestamp (frozen and shared): see Trigger. */
export const EVERY_ELEMENT_TRIGGER: Trigger = Object.freeze({ kind: "every-element" });

/** The GlobalWindowFn (frozen and shared). */
export const GLOBAL_WINDOW_FN: GlobalWindowFn = Object.freeze({ kind: "global" });

export type PaneTiming = "EARLY" | "ON_TIME" | "LATE" | "UNKNOWN";

export interface PaneInfo {
  readonly isFirst: boolean;
  readonly isLast: boolean;
  readonly timing: PaneTiming;
  readonly index: bigint;
  readonly onTimeIndex: bigint;
}

/** The pane of an element that was never triggered: first and last, timing unknown. */
export const NO_FIRING_PANE: PaneInfo = Object.freeze({
  isFirst: true,
  isLast: true,
  timing: "UNKNOWN",
  index: 0n,
  onTimeIndex: 0n,
});

export interface WindowedValue<T> {
  readonly value: T;
  readonly timestamp: Instant;
  readonly windows: readonly BoundedWindow[];
  readonly pane: PaneInfo;
}

export function inGlobalWindow<T>(value: T, timestamp: Instant = MIN_TIMESTAMP): WindowedValue<T> {
  return { value, timestamp, windows: [GLOBAL_WINDOW], pane: NO_FIRING_PANE };
}

/** The same windows, timestamp and pane with a new value (what a DoFn output inherits from its input). */
export function withValue<T, U>(element: WindowedValue<T>, value: U): WindowedValue<U> {
  return { value, timestamp: element.timestamp, windows: element.windows, pane: element.pane };
}
