// Offset range trackers with Beam Java's semantics (OffsetRangeTracker, GrowableOffsetRangeTracker): the same
// claim rules, split points, progress and done checks, so a restriction split here splits where Java would.
import { checkFraction, multiplyFloor } from "./fraction.js";
import { OFFSET_INFINITY, formatRange, offsetRange, type OffsetRange } from "./offset-range.js";
import {
  TrackerStateError,
  type IsBounded,
  type Progress,
  type RestrictionTracker,
  type SplitResult,
} from "./restriction-tracker.js";

/** Claims offsets of an [from, to) range in increasing order. */
export class OffsetRangeTracker implements RestrictionTracker<OffsetRange, bigint> {
  protected range: OffsetRange;
  protected lastClaimedOffset: bigint | undefined;
  protected lastAttemptedOffset: bigint | undefined;

  constructor(range: OffsetRange) {
    this.range = offsetRange(range.from, range.to);
  }

  currentRestriction(): OffsetRange {
    return this.range;
  }

  /** The last offset claimed successfully, if any. */
  lastClaimed(): bigint | undefined {
    return this.lastClaimedOffset;
  }

  tryClaim(offset: bigint): boolean {
    if (this.lastAttemptedOffset !== undefined && offset <= this.lastAttemptedOffset) {
      throw new TrackerStateError(
        `trying to claim offset ${offset} while last attempted was ${this.lastAttemptedOffset}`,
      );
    }
    if (offset < this.range.from) {
      throw new TrackerStateError(
        `trying to claim offset ${offset} before the start of the range ${formatRange(this.range)}`,
      );
    }
    this.lastAttemptedOffset = offset;
    // Claiming beyond the end is allowed: it is how a DoFn learns that the range was split away.
    if (offset >= this.range.to) return false;
    this.lastClaimedOffset = offset;
    return true;
  }

  trySplit(fractionOfRemainder: number): SplitResult<OffsetRange> | undefined {
    checkFraction(fractionOfRemainder);
    const cur = this.lastAttemptedOffset ?? this.range.from - 1n;
    const keep = multiplyFloor(this.range.to - cur, fractionOfRemainder);
    const split = cur + (keep > 1n ? keep : 1n);
    if (split >= this.range.to) return undefined;
    return this.splitAt(split, this.range.to);
  }

  protected splitAt(split: bigint, residualEnd: bigint): SplitResult<OffsetRange> {
    const residual = offsetRange(split, residualEnd);
    this.range = offsetRange(this.range.from, split);
    return { primary: this.range, residual };
  }

  checkDone(): void {
    if (this.range.from === this.range.to) return;
    if (this.lastAttemptedOffset === undefined) {
      throw new TrackerStateError(`no offset was claimed in the non-empty range ${formatRange(this.range)}`);
    }
    if (this.lastAttemptedOffset < this.range.to - 1n) {
      throw new TrackerStateError(
        `last attempted offset was ${this.lastAttemptedOffset} in range ${formatRange(this.range)}: ` +
          `claiming work in [${this.lastAttemptedOffset + 1n}, ${this.range.to}) was not attempted`,
      );
    }
  }

  isBounded(): IsBounded {
    return "bounded";
  }

  getProgress(): Progress {
    const { from, to } = this.range;
    if (this.lastAttemptedOffset === undefined) return { workCompleted: 0, workRemaining: Number(to - from) };
    let remaining = to - this.lastAttemptedOffset;
    if (remaining < 0n) remaining = 0n;
    return { workCompleted: Number(to - from - remaining), workRemaining: Number(remaining) };
  }

  toString(): string {
    return (
      `OffsetRangeTracker(${formatRange(this.range)}, lastClaimed=${this.lastClaimedOffset}, ` +
      `lastAttempted=${this.lastAttemptedOffset})`
    );
  }
}

/**
 * Estimates the exclusive end of a growable range (e.g. a Kafka partition's end offset). It needs not increase
 * monotonically; return OFFSET_MIN when no estimate is available. Memoize it if it is expensive: it is called on
 * every split and progress request.
 */
export interface RangeEndEstimator {
  estimate(): bigint;
}

/**
 * Tracks [from, OFFSET_INFINITY): a range whose end grows while it is read. Splits are placed against the estimated
 * end; the residual of a split is always [split, OFFSET_INFINITY). Claiming OFFSET_INFINITY marks the range done.
 * A range that was split (to < OFFSET_INFINITY) behaves as a plain OffsetRangeTracker.
 */
export class GrowableOffsetRangeTracker extends OffsetRangeTracker {
  private readonly estimator: RangeEndEstimator;

  constructor(start: bigint | OffsetRange, estimator: RangeEndEstimator) {
    super(typeof start === "bigint" ? offsetRange(start, OFFSET_INFINITY) : start);
    this.estimator = estimator;
  }

  override trySplit(fractionOfRemainder: number): SplitResult<OffsetRange> | undefined {
    checkFraction(fractionOfRemainder);
    if (this.range.to !== OFFSET_INFINITY || this.range.to === this.range.from) {
      return super.trySplit(fractionOfRemainder);
    }
    if (this.lastAttemptedOffset === OFFSET_INFINITY) return undefined;
    const cur = this.lastAttemptedOffset ?? this.range.from - 1n;
    // An estimate below the next offset means "nothing known beyond here": split right after the current position.
    let estimatedEnd = this.estimator.estimate();
    if (estimatedEnd < cur + 1n) estimatedEnd = cur + 1n;
    const keep = multiplyFloor(estimatedEnd - cur, fractionOfRemainder);
    const split = cur + (keep > 1n ? keep : 1n);
    if (split > estimatedEnd) return undefined;
    return this.splitAt(split, OFFSET_INFINITY);
  }

  override getProgress(): Progress {
    if (this.range.to !== OFFSET_INFINITY || this.range.to === this.range.from) return super.getProgress();
    const completedEnd = this.lastAttemptedOffset ?? this.range.from;
    const estimate = this.estimator.estimate();
    // biome-ignore lint/complexity/useMathMinMax: offsets are bigints, which Math.max does not take
    const remainingEnd = estimate > completedEnd ? estimate : completedEnd;
    return {
      workCompleted: Number(completedEnd - this.range.from),
      workRemaining: Number(remainingEnd - completedEnd),
    };
  }

  override isBounded(): IsBounded {
    if (this.lastAttemptedOffset === OFFSET_INFINITY) return "bounded";
    return this.range.to === OFFSET_INFINITY ? "unbounded" : "bounded";
  }
}
