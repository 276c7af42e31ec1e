// Public face of the SDF layer: the DoFn and splittable DoFn contracts, offset restrictions and their trackers,
// watermark estimators, process continuations and bundle finalization.
export {
  OFFSET_INFINITY,
  OFFSET_MIN,
  InvalidRangeError,
  offsetRange,
  rangeSize,
  isUnboundedRange,
  formatRange,
  splitOffsetRange,
} from "./offset-range.js";
export type { OffsetRange } from "./offset-range.js";
export { TrackerStateError } from "./restriction-tracker.js";
export type { RestrictionTracker, SplitResult, Progress, IsBounded } from "./restriction-tracker.js";
export { OffsetRangeTracker, GrowableOffsetRangeTracker } from "./offset-range-tracker.js";
export type { RangeEndEstimator } from "./offset-range-tracker.js";
export {
  MonotonicallyIncreasingWatermarkEstimator,
  WallTimeWatermarkEstimator,
  ManualWatermarkEstimator,
  isTimestampObserving,
} from "./watermark-estimators.js";
export type { WatermarkEstimator, TimestampObservingWatermarkEstimator } from "./watermark-estimators.js";
export { ProcessContinuation } from "./process-continuation.js";
export type { BundleFinalizer, FinalizationCallback, FinalizationOptions } from "./bundle-finalizer.js";
export { offsetRangeCoder, watermarkInstantCoder } from "./coders.js";
export type { Coder, KV } from "./coders.js";
export type {
  Awaitable,
  OutputResult,
  Counter,
  MetricsContext,
  StartBundleContext,
  ProcessContext,
  FinishBundleContext,
  DoFnLifecycle,
  DoFn,
} from "./dofn.js";
export {
  DEFAULT_TRIGGER,
  EVERY_ELEMENT_TRIGGER,
  GLOBAL_WINDOW_FN,
  fixedWindowFn,
  repeatedlyElementCount,
  assignWindows,
  sameWindow,
  windowKey,
} from "./window-fns.js";
export type { WindowFn, GlobalWindowFn, FixedWindowFn, Trigger } from "./window-fns.js";
export { isSplittableDoFn } from "./splittable-dofn.js";
export type { SplittableDoFn, AnySplittableDoFn, AnyDoFn } from "./splittable-dofn.js";
