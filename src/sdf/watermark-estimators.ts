// Watermark estimators for splittable DoFns (Beam's WatermarkEstimators): each reports the output watermark of the
// restriction being processed and exposes a state that travels with residuals, so a resumed restriction rebuilds an
// estimator where the checkpointed one stopped.
import { MAX_TIMESTAMP, MIN_TIMESTAMP, type Instant } from "../model/windowing.js";

/**
 * Beam's WatermarkEstimator: reports the output watermark of the restriction a splittable DoFn is processing, in
 * epoch milliseconds (bigint). Its state `S` travels with residuals, so a resumed restriction continues from it.
 */
export interface WatermarkEstimator<S> {
  /** The watermark for outputs of the current restriction: no output will be earlier than this. */
  currentWatermark(): Instant;
  /** The state to resume from; encoded with the SDF's watermarkStateCoder when a residual leaves the bundle. */
  getState(): S;
}

/** An estimator that learns from the timestamps of the outputs (the bundle processor feeds it every output). */
export interface TimestampObservingWatermarkEstimator<S> extends WatermarkEstimator<S> {
  observeTimestamp(timestamp: Instant): void;
}

/** True when the estimator has `observeTimestamp`, i.e. wants to be fed the timestamp of every output. */
export function isTimestampObserving<S>(
  estimator: WatermarkEstimator<S>,
): estimator is TimestampObservingWatermarkEstimator<S> {
  return typeof (estimator as Partial<TimestampObservingWatermarkEstimator<S>>).observeTimestamp === "function";
}

function checkInstant(what: string, instant: Instant): Instant {
  if (typeof instant !== "bigint" || instant < MIN_TIMESTAMP || instant > MAX_TIMESTAMP) {
    throw new RangeError(
      `${what} must be a bigint millisecond instant within Beam's timestamp range, got ${String(instant)}`,
    );
  }
  return instant;
}

/** The watermark is the largest output timestamp seen so far. State: that watermark. */
export class MonotonicallyIncreasingWatermarkEstimator implements TimestampObservingWatermarkEstimator<Instant> {
  private watermark: Instant;

  constructor(state: Instant = MIN_TIMESTAMP) {
    this.watermark = checkInstant("initial watermark", state);
  }

  observeTimestamp(timestamp: Instant): void {
    if (timestamp > this.watermark) this.watermark = timestamp;
  }

  currentWatermark(): Instant {
    return this.watermark;
  }

  getState(): Instant {
    return this.watermark;
  }
}

/** The watermark follows the wall clock (never backwards). State: the last watermark reported. */
export class WallTimeWatermarkEstimator implements WatermarkEstimator<Instant> {
  private watermark: Instant;
  private readonly clock: () => Instant;

  constructor(state: Instant = MIN_TIMESTAMP, clock: () => Instant = () => BigInt(Date.now())) {
    this.watermark = checkInstant("initial watermark", state);
    this.clock = clock;
  }

  currentWatermark(): Instant {
    const now = this.clock();
    if (now > this.watermark) this.watermark = now;
    return this.watermark;
  }

  getState(): Instant {
    return this.currentWatermark();
  }
}

/** The DoFn sets the watermark itself (e.g. from a source's own low watermark). State: the watermark set. */
export class ManualWatermarkEstimator implements WatermarkEstimator<Instant> {
  private watermark: Instant;

  constructor(state: Instant = MIN_TIMESTAMP) {
    this.watermark = checkInstant("initial watermark", state);
  }

  /** Sets the watermark; a value below the current one is ignored, so the watermark never moves back. */
  setWatermark(watermark: Instant): void {
    checkInstant("watermark", watermark);
    if (watermark > this.watermark) this.watermark = watermark;
  }

  currentWatermark(): Instant {
    return this.watermark;
  }

  getState(): Instant {
    return this.watermark;
  }
}
