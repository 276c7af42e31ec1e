// Non-merging window functions and triggers (defined as data in ../model/windowing.ts, re-exported here with their
// shared instances), their checked constructors, and the one function that assigns windows from an element's timestamp.
import {
  DEFAULT_TRIGGER,
  EVERY_ELEMENT_TRIGGER,
  GLOBAL_WINDOW,
  GLOBAL_WINDOW_FN,
  type BoundedWindow,
  type FixedWindowFn,
  type GlobalWindowFn,
  type Instant,
  type Trigger,
  type WindowFn,
} from "../model/windowing.js";

export type { FixedWindowFn, GlobalWindowFn, Trigger, WindowFn };
export { DEFAULT_TRIGGER, EVERY_ELEMENT_TRIGGER, GLOBAL_WINDOW_FN };

/** Repeatedly.forever(AfterPane.elementCountAtLeast(count)), discarding fired panes. Throws unless count >= 1. */
export function repeatedlyElementCount(count: number): Trigger {
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`element count must be >= 1, got ${count}`);
  return Object.freeze({ kind: "element-count", count });
}

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
