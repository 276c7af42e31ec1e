// The splittable DoFn contract, in the order a Beam engineer reads one: initial restriction, new tracker, size,
// split, watermark state and estimator, process; then the optional lifecycle and drain hooks.
import type { Coder } from "./coders.js";
import type { Awaitable, DoFn, DoFnLifecycle, ProcessContext } from "./dofn.js";
import type { ProcessContinuation } from "./process-continuation.js";
import type { RestrictionTracker } from "./restriction-tracker.js";
import type { WatermarkEstimator } from "./watermark-estimators.js";

/**
 * I: input element, O: main output, R: restriction, S: watermark-estimator state, P: claimed position.
 * Restrictions and states cross the wire (residuals, splits), so both have coders; the runner never looks inside.
 */
export interface SplittableDoFn<I, O, R, S, P = unknown> extends DoFnLifecycle<O> {
  readonly restrictionCoder: Coder<R>;
  readonly watermarkStateCoder: Coder<S>;
  /** True when a single element's work has no known end (a Kafka partition): outputs are unbounded. */
  readonly unboundedPerElement?: boolean;

  initialRestriction(element: I): Awaitable<R>;
  /** Builds a tracker; the element is offered as well, for trackers whose end estimator depends on it. */
  newTracker(restriction: R, element: I): RestrictionTracker<R, P>;
  /** The backlog of (element, restriction) in arbitrary but consistent units (bytes or records). */
  getSize(element: I, restriction: R): Awaitable<number>;
  /** Initial splitting, before processing; return [restriction] to keep it whole. */
  splitRestriction(element: I, restriction: R): Awaitable<Iterable<R>>;
  initialWatermarkState(element: I, restriction: R): Awaitable<S>;
  newWatermarkEstimator(state: S): WatermarkEstimator<S>;
  processElement(
    context: ProcessContext<O>,
    element: I,
    tracker: RestrictionTracker<R, P>,
    watermarkEstimator: WatermarkEstimator<S>,
  ): Awaitable<ProcessContinuation>;
  /**
   * Drain: what is left of the restriction when the pipeline drains; undefined drops it. Without this hook a
   * bounded restriction is kept and an unbounded one is dropped (Beam's default).
   */
  truncateRestriction?(element: I, restriction: R): Awaitable<R | undefined>;
}

/** A splittable DoFn of any type parameters, for code that handles DoFns generically (runners, registries). */
// biome-ignore lint/suspicious/noExplicitAny: generic handling of DoFns of any type parameters is this type's purpose
export type AnySplittableDoFn = SplittableDoFn<any, any, any, any, any>;
/** A DoFn of any type parameters, for code that handles DoFns generically (runners, registries). */
// biome-ignore lint/suspicious/noExplicitAny: generic handling of DoFns of any type parameters is this type's purpose
export type AnyDoFn = DoFn<any, any>;

/**
 * True when `fn` is a splittable DoFn, i.e. has `processElement`, `initialRestriction` and `newTracker` functions;
 * anything else given to ParDo is run as a plain DoFn.
 */
export function isSplittableDoFn(fn: unknown): fn is AnySplittableDoFn {
  const candidate = fn as Partial<AnySplittableDoFn> | null;
  return (
    typeof candidate === "object" &&
    candidate !== null &&
    typeof candidate.processElement === "function" &&
    typeof candidate.initialRestriction === "function" &&
    typeof candidate.newTracker === "function"
  );
}
