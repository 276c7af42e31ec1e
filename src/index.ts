// The package's main entry, `import { … } from "kafka-beam-ts"`: what a TypeScript pipeline that reads and writes
// Kafka needs (the pipeline API, the local runner, the Kafka transforms, their options and errors). Each layer has
// its own entry for the rest: kafka-beam-ts/pipeline, /runners/local, /runners/portable, /kafka, /sdf, /expansion,
// /harness.
export {
  Pipeline,
  PCollection,
  PTransform,
  PBegin,
  PipelineConstructionError,
  kv,
  Impulse,
  ParDo,
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
  assertThat,
  PipelineAssertionError,
  ProcessContinuation,
} from "./pipeline/index.js";
export type {
  PipelineRunner,
  PipelineHandle,
  PipelineState,
  PipelineMetrics,
  StepMetrics,
  DoFn,
  SplittableDoFn,
  ProcessContext,
  KV,
  WindowFn,
} from "./pipeline/index.js";
export { LocalRunner } from "./runners/local/index.js";
export type { LocalRunnerOptions, LocalPipelineHandle } from "./runners/local/index.js";
export {
  PortableRunner,
  PortableRunnerError,
  isMainModule,
  portableRunnerOptionsFromArgs,
} from "./runners/portable/index.js";
export type {
  PortableRunnerOptions,
  PortablePipelineHandle,
  PipelineModule,
  PipelineBuilder,
} from "./runners/portable/index.js";
export {
  readFromKafka,
  readFromKafkaWithDeadLetters,
  writeToKafka,
  closeAllClients,
  KafkaError,
  KafkaConfigError,
  KafkaClientError,
  KafkaTimeoutError,
  KafkaOffsetOutOfRangeError,
  KafkaNotLeaderError,
  KafkaUnknownTopicError,
  KafkaUnsupportedError,
  KafkaClientClosedError,
  KafkaAuthenticationError,
  KafkaTlsError,
} from "./kafka/index.js";
export type {
  ReadFromKafkaOptions,
  ReadWithDeadLetters,
  KafkaDeadLetter,
  KafkaKV,
  KafkaRecordRow,
  TimestampFn,
  TimestampPolicyName,
  WriteToKafkaOptions,
  WriteRecord,
  Partitioner,
  KafkaErrorCode,
  TlsFailure,
} from "./kafka/index.js";
