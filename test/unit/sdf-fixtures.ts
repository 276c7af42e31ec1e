// Test splittable DoFns: a counter source over offsets, bounded or unbounded, with hooks to pace it.
import {
  GrowableOffsetRangeTracker,
  MonotonicallyIncreasingWatermarkEstimator,
  OFFSET_INFINITY,
  OffsetRangeTracker,
  ProcessContinuation,
  offsetRange,
  offsetRangeCoder,
  watermarkInstantCoder,
  type OffsetRange,
  type ProcessContext,
  type RestrictionTracker,
  type SplittableDoFn,
  type WatermarkEstimator,
} from "../../src/sdf/index.js";
import { MIN_TIMESTAMP, type Instant } from "../../src/model/windowing.js";

export interface CounterOptions {
  /** Bounded: [0, total); unbounded when absent. */
  readonly total?: bigint;
  /** Offsets claimed per processElement call before a resume (checkpoint). */
  readonly perCall: number;
  readonly resumeDelayMs?: number;
  /** Awaited before each claim: lets a test pause the DoFn mid-restriction. */
  readonly beforeClaim?: (offset: bigint) => Promise<void> | void;
  /** Output timestamp of offset n (default n ms). */
  readonly timestampOf?: (offset: bigint) => Instant;
  /**
   * Registers a bundle finalization callback at the start of each processElement call; it reports the offsets
   * [first, last] that call claimed.
   */
  readonly onFinalize?: (first: bigint, last: bigint | undefined) => void;
  /** Initial splits of the restriction (default: none). */
  readonly splitInto?: (r: OffsetRange) => OffsetRange[];
}

/** Emits each offset it claims as a bigint, at timestamp timestampOf(offset). */
export class CounterSdf implements SplittableDoFn<string, bigint, OffsetRange, Instant, bigint> {
  readonly restrictionCoder = offsetRangeCoder;
  readonly watermarkStateCoder = watermarkInstantCoder;
  readonly unboundedPerElement: boolean;
  calls = 0;

  constructor(private readonly options: CounterOptions) {
    this.unboundedPerElement = options.total === undefined;
  }

  initialRestriction(): OffsetRange {
    return offsetRange(0n, this.options.total ?? OFFSET_INFINITY);
  }

  newTracker(restriction: OffsetRange): RestrictionTracker<OffsetRange, bigint> {
    if (restriction.to === OFFSET_INFINITY)
      return new GrowableOffsetRangeTracker(restriction, { estimate: () => restriction.from + 1000n });
    return new OffsetRangeTracker(restriction);
  }

  getSize(_element: string, restriction: OffsetRange): number {
    return restriction.to === OFFSET_INFINITY ? 1000 : Number(restriction.to - restriction.from);
  }

  splitRestriction(_element: string, restriction: OffsetRange): OffsetRange[] {
    return this.options.splitInto ? this.options.splitInto(restriction) : [restriction];
  }

  initialWatermarkState(): Instant {
    return MIN_TIMESTAMP;
  }

  newWatermarkEstimator(state: Instant): WatermarkEstimator<Instant> {
    return new MonotonicallyIncreasingWatermarkEstimator(state);
  }

  async processElement(
    context: ProcessContext<bigint>,
    _element: string,
    tracker: RestrictionTracker<OffsetRange, bigint>,
  ): Promise<ProcessContinuation> {
    this.calls++;
    const first = tracker.currentRestriction().from;
    let last: bigint | undefined;
    const onFinalize = this.options.onFinalize;
    if (onFinalize) context.bundleFinalizer.afterBundleCommit(Date.now() + 60_000, () => onFinalize(first, last));
    let offset = first;
    for (let i = 0; i < this.options.perCall; i++, offset++) {
      await this.options.beforeClaim?.(offset);
      if (!tracker.tryClaim(offset)) return ProcessContinuation.stop();
      last = offset;
      context.outputWithTimestamp(offset, this.options.timestampOf?.(offset) ?? offset);
    }
    return ProcessContinuation.resume(this.options.resumeDelayMs ?? 0);
  }
}

/** A latch a test can open later. */
export function latch(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Awaits a promise that must reject with an error whose message matches; returns the error. */
export async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<Error> {
  let outcome: unknown;
  try {
    await promise;
  } catch (err) {
    outcome = err;
  }
  if (!(outcome instanceof Error))
    throw new Error(
      `expected a rejection matching ${pattern}, got ${outcome === undefined ? "success" : String(outcome)}`,
    );
  if (!pattern.test(outcome.message))
    throw new Error(`expected a rejection matching ${pattern}, got: ${outcome.message}`);
  return outcome;
}
