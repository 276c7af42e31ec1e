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

export type IsBounded = "bounded" | "unbounded";

export interface RestrictionTracker<R, P> {
  /** Claims `position`; false when it lies outside the (possibly split) restriction: the DoFn must then stop. */
  tryClaim(position: P): boolean;
  currentRestriction(): R;
  /**
   * Splits the remaining work, keeping `fractionOfRemainder` of it as primary. 0 is a checkpoint: the primary keeps
   * only what was already claimed. Returns undefined when no split is possible.
   */
  trySplit(fractionOfRemainder: number): SplitResult<R> | undefined;
  /** Throws when work in the restriction was neither claimed nor split away. */
  checkDone(): void;
  isBounded(): IsBounded;
  /** Optional (Beam's HasProgress): feeds runner progress and backlog. */
  getProgress?(): Progress;
}

export class TrackerStateError extends Error {
  override readonly name = "TrackerStateError";
  readonly code = "SDF_TRACKER_STATE";
  readonly retriable = false;
}
