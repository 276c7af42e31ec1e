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
