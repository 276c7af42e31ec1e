// The restriction tracker contract, as Beam's RestrictionTracker: claims positions, splits, reports progress.

/** A split of a restriction: what this invocation keeps (primary) and what is handed back (residual). */
export interface SplitResult<R> {
  readonly primary: R;
  readonly residual: R;
}

/** Work done and left, in the tracker's own units (offsets for offset ranges). */
export interface Progress {
  readonly workCompleted: number;
  readonly workRemaining: number;
}

/** Whether a restriction's work has a known end (Beam's IsBounded); unbounded restrictions make unbounded outputs. */
export type IsBounded = "bounded" | "unbounded";

/**
 * Beam's RestrictionTracker: tracks a splittable DoFn's progress through restriction `R` by positions `P` (offsets
 * for offset ranges). The DoFn claims each position before doing its work; the runner may split the restriction
 * while it runs, and calls `checkDone` after `processElement` returns. The built-in trackers throw TrackerStateError
 * on misuse.
 */
export interface RestrictionTracker<R, P> {
  /** Claims `position`; false when it lies outside the (possibly split) restriction: the DoFn must then stop. */
  tryClaim(position: P): boolean;
  /** The restriction as it stands now (smaller after a split). */
  currentRestriction(): R;
  /**
   * Splits the remaining work, keeping `fractionOfRemainder` of it as primary. 0 is a checkpoint: the primary keeps
   * only what was already claimed. Returns undefined when no split is possible.
   */
  trySplit(fractionOfRemainder: number): SplitResult<R> | undefined;
  /** Throws when work in the restriction was neither claimed nor split away. */
  checkDone(): void;
  /** Whether the current restriction has a known end (an unsplit growable range has none). */
  isBounded(): IsBounded;
  /** Optional (Beam's HasProgress): feeds runner progress and backlog. */
  getProgress?(): Progress;
}

/**
 * A restriction tracker was misused: positions claimed out of order or before the restriction's start, or processing
 * stopped with unclaimed work left. A bug in the DoFn, so retrying does not help.
 */
export class TrackerStateError extends Error {
  override readonly name = "TrackerStateError";
  readonly code = "SDF_TRACKER_STATE";
  readonly retriable = false;
}
