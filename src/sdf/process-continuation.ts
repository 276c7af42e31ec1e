// What a splittable DoFn's processElement returns: done with the restriction, or checkpoint and resume later.

/**
 * What a splittable DoFn's `processElement` returns (Beam's ProcessContinuation): done with the restriction, or
 * checkpoint and resume the rest after `resumeDelayMs` milliseconds. Build one with `ProcessContinuation.stop()` or
 * `ProcessContinuation.resume()`.
 */
export type ProcessContinuation =
  | { readonly shouldResume: false }
  | { readonly shouldResume: true; readonly resumeDelayMs: number };

const STOP: ProcessContinuation = Object.freeze({ shouldResume: false });

/** Builds ProcessContinuation values. */
export const ProcessContinuation = Object.freeze({
  /** The restriction is finished (every position was claimed or the last claim failed). */
  stop(): ProcessContinuation {
    return STOP;
  },
  /**
   * Checkpoint: the runner splits off the unclaimed rest of the restriction as a residual and schedules it again
   * no sooner than `delayMs` later (e.g. the poll interval of an idle partition). Throws a RangeError when `delayMs`
   * is negative or not finite.
   */
  resume(delayMs = 0): ProcessContinuation {
    if (!(Number.isFinite(delayMs) && delayMs >= 0))
      throw new RangeError(`resume delay must be >= 0 ms, got ${delayMs}`);
    return Object.freeze({ shouldResume: true, resumeDelayMs: delayMs });
  },
});
