// Public face of the native TypeScript pipeline API.
export { Pipeline, PCollection, PTransform, PBegin, PipelineConstructionError } from "./pipeline.js";
export type {
  ExpandContext,
  PrimitiveSpec,
  PipelineRunner,
  PipelineHandle,
  PipelineState,
  PipelineMetrics,
  StepMetrics,
} from "./pipeline.js";
export {
  MAIN_OUTPUT,
  kv,
  Impulse,
  ParDo,
  ParDoTransform,
  Create,
  Map,
  FlatMap,
  Filter,
  WithTimestamps,
  WindowInto,
  FixedWindows,
  GlobalWindows,
  GroupByKey,
  Flatten,
  Count,
} from "./transforms.js";
export type { WindowIntoOptions } from "./transforms.js";
export { assertThat, PipelineAssertionError } from "./testing.js";
export type { PAssert } from "./testing.js";
export { primitiveTransforms } from "./graph.js";
export type { PipelineGraph, TransformNode, PCollectionNode, TransformPayload, PrimitiveKind } from "./graph.js";
export { pipelineToRunnerApi, PipelineTranslationError } from "./runner-api.js";
export type { RunnerApiOptions } from "./runner-api.js";
export { structuralKey, structurallyEqual, describeValue } from "./structural.js";
// The DoFn contracts users implement, re-exported so pipeline code needs one import.
export { ProcessContinuation, repeatedlyElementCount } from "../sdf/index.js";
export type { DoFn, SplittableDoFn, ProcessContext, KV, WindowFn, Trigger } from "../sdf/index.js";
