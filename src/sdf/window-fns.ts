// Non-merging window functions as plain data (so a pipeline graph stays serialisable and maps onto Beam's
// standard_window_fns payloads), and the one function that assigns windows from an element's timestamp.
import { GLOBAL_WINDOW, type BoundedWindow, type Instant } from "../model/windowing.js";

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

/** Repeatedly.forever(AfterPane.elementCountAtLeast(count)), discarding fired panes. Throws unless count >= 1. */
export function repeatedlyElementCount(count: number): Trigger {
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`element count must be >= 1, got ${count}`);
  return Object.freeze({ kind: "element-count", count });
}

/** The GlobalWindowFn (frozen and shared). */
export const GLOBAL_WINDOW_FN: GlobalWindowFn = Object.freeze({ kind: "global" });

/**
 * A frozen FixedWindowFn of `sizeMs` milliseconds, shifted by `offsetMs` (default 0). Throws a RangeError unless
 * size > 0 and 0 <= offset < size.
 */
export function fixedWindowFn(sizeMs: bigint | number, offsetMs: bigint | number = 0n): FixedWindowFn {
  const size = BigInt(sizeMs);
  const offset = BigInt(offsetMs);
  if (size <= 0n) throw new RangeError(`fixed window size must be positive, got ${size} ms`);
  if (offset < 0n || offset >= size)
    throw new RangeError(`fixed window offset must be within [0, size), got ${offset} ms`);
  return Object.freeze({ kind: "fixed", sizeMs: size, offsetMs: offset });
}

/** The windows an element with this timestamp belongs to. */
export function assignWindows(windowFn: WindowFn, timestamp: Instant): BoundedWindow[] {
  if (windowFn.kind === "global") return [GLOBAL_WINDOW];
  const { sizeMs, offsetMs } = windowFn;
  let phase = (timestamp - offsetMs) % sizeMs;
  if (phase < 0n) phase += sizeMs;
  const start = timestamp - phase;
  return [Object.freeze({ kind: "interval", start, end: start + sizeMs })];
}

/** Two windows are the same window (interval windows compare by bounds). */
export function sameWindow(a: BoundedWindow, b: BoundedWindow): boolean {
  if (a.kind === "global" || b.kind === "global") return a.kind === b.kind;
  return a.start === b.start && a.end === b.end;
}

/** A string that identifies a window, for grouping. */
export function windowKey(window: BoundedWindow): string {
  return window.kind === "global" ? "g" : `${window.start}:${window.end}`;
}
