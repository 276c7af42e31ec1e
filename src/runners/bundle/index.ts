// Public face of the bundle execution layer, shared by the local runner and the Fn API worker.
export { BundleProcessor, Bundle, BundleProcessorError } from "./bundle-processor.js";
export type {
  BundleIO,
  BundleResult,
  BundleSplit,
  BundleProgress,
  BundleState,
  ChannelSplit,
  SplittableProgress,
  ElementSource,
  ElementSink,
  BundleProcessorOptions,
} from "./bundle-processor.js";
export type { FinalizationOrder, FinalizationOutcome } from "./finalization.js";
export { TRANSFORM_KIND_URNS, pairedElement, sizedElement, sdfElementCoders } from "./descriptor.js";
export type {
  BundleDescriptor,
  TransformSpec,
  TransformKind,
  SourceSpec,
  SinkSpec,
  ParDoSpec,
  SdfStepSpec,
  SdfStepKind,
  FlattenSpec,
  WindowIntoSpec,
  PCollectionId,
  TransformId,
  PairedElement,
  SizedElement,
} from "./descriptor.js";
export { planSplit } from "./channel-split.js";
export type { DesiredSplit, SplitPlan, SplitPlanInput } from "./channel-split.js";
export { OutputTimestampError } from "./operations.js";
export type { BundleApplication, DelayedBundleApplication } from "./operations.js";
export type { BundleMetrics, TransformMetrics } from "./metrics.js";
