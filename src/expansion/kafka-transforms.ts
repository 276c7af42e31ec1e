// The Kafka transforms the expansion service serves: payload fields (Beam's schemas, and our superset), their
// mapping to the read/write specs, and the expanded graphs:
//   read:  Impulse → ParDo(kafka_read_descriptors) → SDF ParDo(kafka_read)
//          (with dynamic_read_poll_interval_seconds: Impulse → SDF ParDo(kafka_read_discovery) → SDF ParDo(kafka_read))
//          (with redistribute: then Redistribute { ParDo(AssignKey) → GroupByKey (runner) → ParDo(Values) })
//   write: ParDo(kafka_write) on the caller's input
//          exactly-once (our URN with exactly_once_shards): [WindowInto(fixed) if the input is globally windowed and
//          unbounded] → ParDo(kafka_write step "shard") → GroupByKey (runner) → ParDo(kafka_write step
//          "transactional_write"), the same graph as the native WriteToKafka (src/kafka/write/transform.ts)
import { runnerApi, urns } from "../model/proto/index.js";
import type { Coder } from "../model/coders/index.js";
import { BEAM_KAFKA_URNS, KBT_TRANSFORM_URNS } from "../model/kbt-urns.js";
import { doFnSpec } from "../model/dofn-payload.js";
import { KafkaConfigError } from "../kafka/errors.js";
import {
  readSpecFromOptions,
  isBoundedRead,
  discoversPartitions,
  type ReadFromKafkaOptions,
  type ReadSpec,
} from "../kafka/read/spec.js";
import { discoveryRestrictionWithWatermarkCoder } from "../kafka/read/discovery-dofn.js";
import {
  DEFAULT_REDISTRIBUTE_KEYS,
  RedistributeKeyDoFn,
  RedistributedValuesDoFn,
  groupedRecordsCoder,
  keyedRecordCoder,
  redistributeSpec,
  type RedistributeSpec,
} from "../kafka/read/redistribute.js";
import { writeSpecFromOptions, type ExactlyOnceOptions, type WriteSpec } from "../kafka/write/spec.js";
import { sourceDescriptorCoder, restrictionWithWatermarkCoder, readOutputCoder } from "../kafka/read/coders.js";
import { bytesCoder, iterableCoder, kvCoder, varIntCoder } from "../model/coders/index.js";
import { protectedSpec } from "./secrets.js";
import { invalidArgument } from "./errors.js";
import { checkWriteInput } from "./write-input.js";
import { parDoSpec } from "./components.js";
import type { ConfigValues, FieldSpec } from "./payload.js";
import type { ExpansionContext, ExpansionResult, TransformDefinition } from "./registry.js";

const REQUIREMENTS = urns.StandardRequirements.Enum;

/** Beam's Python `ReadFromKafkaSchema` (apache-beam 2.77.0), which Java's expansion service accepts. */
const BEAM_READ_FIELDS: readonly FieldSpec[] = [
  {
    name: "consumer_config",
    kind: "string_map",
    required: true,
    description: "Kafka consumer config (bootstrap.servers, group.id, ...)",
  },
  { name: "topics", kind: "string_list", description: "topics to read (every partition)" },
  {
    name: "key_deserializer",
    kind: "string",
    description: "Java Deserializer class name (ByteArray, String, Long, Integer)",
  },
  { name: "value_deserializer", kind: "string", description: "Java Deserializer class name" },
  { name: "start_read_time", kind: "int", description: "start at this timestamp (ms since epoch)" },
  { name: "max_num_records", kind: "int", description: "stop after this many records (bounded read)" },
  { name: "max_read_time", kind: "int", description: "stop after this many seconds (bounded read)" },
  { name: "commit_offset_in_finalize", kind: "bool", description: "commit offsets of finalized bundles to group.id" },
  { name: "timestamp_policy", kind: "string", description: "ProcessingTime | CreateTime | LogAppendTime" },
  { name: "consumer_polling_timeout", kind: "int", description: "seconds one fetch may wait for data" },
  {
    name: "redistribute",
    kind: "bool",
    description: "shuffle the records after the read, so the steps after it can run on more workers than partitions",
  },
  {
    name: "redistribute_num_keys",
    kind: "int",
    description: `redistribute over this many keys (0: ${DEFAULT_REDISTRIBUTE_KEYS})`,
  },
  {
    name: "allow_duplicates",
    kind: "bool",
    description: "with redistribute: a hint that the runner may duplicate records (no runner here does either way)",
  },
  { name: "dynamic_read_poll_interval_seconds", kind: "int", description: "look for new partitions this often" },
  {
    name: "consumer_factory_fn_class",
    kind: "string",
    refuseNonNull: "names a Java class; this service runs no JVM code (set consumer_config instead)",
  },
  {
    name: "consumer_factory_fn_params",
    kind: "string_map",
    refuseNonNull: "goes with consumer_factory_fn_class, which this service does not support",
  },
];

/** Our own read (`beam:transform:kafka_read:v1`): Beam's fields plus what the native API offers. */
const OUR_READ_FIELDS: readonly FieldSpec[] = [
  ...BEAM_READ_FIELDS,
  { name: "topic_pattern", kind: "string", description: "read every topic matching this regular expression" },
  { name: "topic_partitions", kind: "string_list", description: 'read exactly these partitions, as "topic:partition"' },
  { name: "with_metadata", kind: "bool", description: "emit rows with topic/partition/offset/timestamp/headers" },
  { name: "stop_read_time", kind: "int", description: "stop before this timestamp (ms since epoch)" },
  { name: "stop_at_end_offsets", kind: "bool", description: "read up to the end offsets at start, then finish" },
  { name: "max_out_of_order_delay_ms", kind: "int", description: "CreateTime watermark lag for out-of-order records" },
  {
    name: "idle_partition_timeout_ms",
    kind: "int",
    description: "advance an idle partition's watermark after this long",
  },
  {
    name: "redistribute_by_record_key",
    kind: "bool",
    description: "with redistribute: key by a hash of the record's key (a key's records meet in one group)",
  },
];

const BEAM_WRITE_FIELDS: readonly FieldSpec[] = [
  {
    name: "producer_config",
    kind: "string_map",
    required: true,
    description: "Kafka producer config (bootstrap.servers, acks, ...)",
  },
  { name: "topic", kind: "string", required: true, description: "topic to write to" },
  { name: "key_serializer", kind: "string", description: "Java Serializer class name" },
  { name: "value_serializer", kind: "string", description: "Java Serializer class name" },
];

/**
 * Our own write (`beam:transform:kafka_write:v1`): Beam's fields plus the exactly-once sink. Beam's write URNs keep
 * Beam's schema exactly.
 */
const OUR_WRITE_FIELDS: readonly FieldSpec[] = [
  ...BEAM_WRITE_FIELDS,
  {
    name: "exactly_once_shards",
    kind: "int",
    description: "exactly-once: write through Kafka transactions in this many shards (keep it stable across restarts)",
  },
  {
    name: "sink_group_id",
    kind: "string",
    description:
      "exactly-once: consumer group holding each shard's committed sequence (required with exactly_once_shards)",
  },
  {
    name: "metadata_topic",
    kind: "string",
    description:
      "exactly-once: topic whose partition <shard> carries shard metadata in the sink group (default: topic)",
  },
  {
    name: "exactly_once_window_ms",
    kind: "int",
    description: "exactly-once: event-time batching window for globally windowed input (default 1000 when unbounded)",
  },
  {
    name: "requires_stable_input",
    kind: "bool",
    description:
      "exactly-once: the transactions step requires stable input (default true; Flink then needs checkpointing; " +
      "Prism refuses it: set false there)",
  },
];

/** The fields only an exactly-once write takes. */
const EXACTLY_ONCE_FIELDS = [
  "sink_group_id",
  "metadata_topic",
  "exactly_once_window_ms",
  "requires_stable_input",
] as const;

/** Default batching window of an unbounded, globally windowed exactly-once input (as the native WriteToKafka). */
const DEFAULT_EXACTLY_ONCE_WINDOW_MS = 1000n;

/** Full option keys of the specs → payload field name, for error messages (before the prefix rule below). */
const OPTION_KEY_FIELDS: Readonly<Record<string, string>> = {
  "exactlyOnce.numShards": "exactly_once_shards",
  "exactlyOnce.sinkGroupId": "sink_group_id",
  "exactlyOnce.metadataTopic": "metadata_topic",
  "exactlyOnce.requiresStableInput": "requires_stable_input",
};

/** Option name in the specs → payload field name, for error messages. */
const OPTION_FIELDS: Readonly<Record<string, string>> = {
  topics: "topics",
  topicPartitions: "topic_partitions",
  topicPattern: "topic_pattern",
  keyDeserializer: "key_deserializer",
  valueDeserializer: "value_deserializer",
  startReadTime: "start_read_time",
  stopReadTime: "stop_read_time",
  maxNumRecords: "max_num_records",
  maxReadTimeMs: "max_read_time",
  commitOffsetsInFinalize: "commit_offset_in_finalize",
  timestampPolicy: "timestamp_policy",
  pollTimeoutMs: "consumer_polling_timeout",
  partitionDiscoveryIntervalMs: "dynamic_read_poll_interval_seconds",
  maxOutOfOrderDelayMs: "max_out_of_order_delay_ms",
  idlePartitionTimeoutMs: "idle_partition_timeout_ms",
  keySerializer: "key_serializer",
  valueSerializer: "value_serializer",
  topic: "topic",
};

/** Runs a spec validator, naming the payload field (or the Kafka config key inside the config map) on error. */
function validated<T>(configField: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof KafkaConfigError) {
      const [option, ...rest] = err.key.split(/(?=[.[])/);
      const field =
        OPTION_KEY_FIELDS[err.key] ??
        (OPTION_FIELDS[option!] ? `${OPTION_FIELDS[option!]}${rest.join("")}` : `${configField}['${err.key}']`);
      throw invalidArgument(field, err.message.slice(err.key.length + 2), err);
    }
    throw err;
  }
}

function num(values: ConfigValues, name: string): bigint | undefined {
  return values.get(name) as bigint | undefined;
}

function seconds(values: ConfigValues, name: string): number | undefined {
  const s = num(values, name);
  if (s === undefined) return undefined;
  if (s < 0n) throw invalidArgument(name, `must be >= 0 seconds, got ${s}`);
  return Number(s) * 1000;
}

function millis(values: ConfigValues, name: string): number | undefined {
  const ms = num(values, name);
  return ms === undefined ? undefined : Number(ms);
}

function parseTopicPartitions(
  values: readonly string[] | undefined,
): { topic: string; partition: number }[] | undefined {
  return values?.map((text, i) => {
    const at = text.lastIndexOf(":");
    const partition = Number(text.slice(at + 1));
    if (at <= 0 || !Number.isInteger(partition) || partition < 0) {
      throw invalidArgument(`topic_partitions[${i}]`, `expected "topic:partition", got ${JSON.stringify(text)}`);
    }
    return { topic: text.slice(0, at), partition };
  });
}

function readOptions(values: ConfigValues, withMetadata: boolean): ReadFromKafkaOptions {
  const topics = values.get("topics") as readonly string[] | undefined;
  const topicPartitions = parseTopicPartitions(values.get("topic_partitions") as readonly string[] | undefined);
  const topicPattern = values.get("topic_pattern") as string | undefined;
  if (!topicPattern && !topicPartitions?.length && !topics?.length) {
    throw invalidArgument("topics", "must name at least one topic");
  }
  return {
    consumerConfig: values.get("consumer_config") as Record<string, string>,
    ...(topics?.length ? { topics } : {}),
    ...(topicPartitions?.length ? { topicPartitions } : {}),
    ...(topicPattern ? { topicPattern } : {}),
    keyDeserializer: (values.get("key_deserializer") as string | undefined) ?? "bytes",
    valueDeserializer: (values.get("value_deserializer") as string | undefined) ?? "bytes",
    startReadTime: num(values, "start_read_time"),
    stopReadTime: num(values, "stop_read_time"),
    stopAtEndOffsets: values.get("stop_at_end_offsets") as boolean | undefined,
    maxNumRecords: num(values, "max_num_records"),
    maxReadTimeMs: seconds(values, "max_read_time"),
    commitOffsetsInFinalize: (values.get("commit_offset_in_finalize") as boolean | undefined) ?? false,
    timestampPolicy: (values.get("timestamp_policy") as ReadFromKafkaOptions["timestampPolicy"]) ?? "ProcessingTime",
    pollTimeoutMs: seconds(values, "consumer_polling_timeout"),
    partitionDiscoveryIntervalMs: seconds(values, "dynamic_read_poll_interval_seconds"),
    maxOutOfOrderDelayMs: millis(values, "max_out_of_order_delay_ms"),
    idlePartitionTimeoutMs: millis(values, "idle_partition_timeout_ms"),
    withMetadata: (values.get("with_metadata") as boolean | undefined) ?? withMetadata,
  };
}

// Specs come from the prepared-payload cache, so one spec object serves many requests: what is derived from the spec
// alone (DoFn payloads, which hold the spec as JSON, and the output coder) is built once per spec.
const derivedFromSpec = new WeakMap<ReadSpec | WriteSpec, Map<string, unknown>>();

function fromSpec<T>(spec: ReadSpec | WriteSpec, key: string, derive: () => T): T {
  let derived = derivedFromSpec.get(spec);
  if (!derived) derivedFromSpec.set(spec, (derived = new Map()));
  if (!derived.has(key)) derived.set(key, derive());
  return derived.get(key) as T;
}

/** A DoFn payload holding the spec, its secrets protected as the service's policy says (secrets.ts). */
function specDoFn(
  ctx: ExpansionContext,
  fn: string,
  config: { read: ReadSpec } | { write: WriteSpec },
  step: { input?: "kv" | "row"; step?: string } = {},
): ReturnType<typeof doFnSpec> {
  const spec = protectedSpec("read" in config ? config.read : config.write, ctx.secrets);
  const carried = "read" in config ? { read: spec as ReadSpec } : { write: spec as WriteSpec };
  return fromSpec(spec, `dofn|${fn}|${step.input ?? ""}|${step.step ?? ""}`, () =>
    doFnSpec({ fn, ...carried, ...step }),
  );
}

/** The coder of the read's records, one object per spec. */
function recordCoder(spec: ReadSpec): Coder<unknown> {
  return fromSpec(spec, "output coder", () => validated("key_deserializer", () => readOutputCoder(spec)));
}

/**
 * The read graph (Impulse → descriptors → SDF read) and the PCollection of its records, for expansions that map the
 * records further (schema-transforms.ts).
 */
export function expandReadGraph(spec: ReadSpec, ctx: ExpansionContext): { records: string; subtransforms: string[] } {
  const b = ctx.builder;
  const bounded = isBoundedRead(spec);
  const impulseOut = b.pcollection("kafka_read/impulse.out", { coder: bytesCoder, bounded: true });
  // With a discovery interval the descriptors step is itself an SDF that never ends (it polls for new partitions).
  const discovery = discoversPartitions(spec);
  const descriptors = b.pcollection("kafka_read/descriptors.out", {
    coder: sourceDescriptorCoder,
    bounded: !discovery,
  });
  const records = b.pcollection("kafka_read/read.out", { coder: recordCoder(spec), bounded });
  const impulse = b.transform(b.id("kafka_read/Impulse"), {
    uniqueName: `${ctx.uniqueName}/Impulse`,
    spec: { urn: urns.StandardPTransforms.Primitives.IMPULSE },
    outputs: { out: impulseOut },
    environment: false,
  });
  const describe = b.transform(b.id("kafka_read/SourceDescriptors"), {
    uniqueName: `${ctx.uniqueName}/SourceDescriptors`,
    spec: discovery
      ? parDoSpec({
          doFn: specDoFn(ctx, "kafka_read_discovery", { read: spec }),
          restrictionCoderId: b.coderId(discoveryRestrictionWithWatermarkCoder as Coder<unknown>),
        })
      : parDoSpec({ doFn: specDoFn(ctx, "kafka_read_descriptors", { read: spec }) }),
    inputs: { in: impulseOut },
    outputs: { out: descriptors },
  });
  const read = b.transform(b.id("kafka_read/ReadFromKafka"), {
    uniqueName: `${ctx.uniqueName}/ReadFromKafka`,
    spec: parDoSpec({
      doFn: specDoFn(ctx, "kafka_read", { read: spec }),
      restrictionCoderId: b.coderId(restrictionWithWatermarkCoder as Coder<unknown>),
      requestsFinalization: spec.commitOffsetsInFinalize,
    }),
    inputs: { in: descriptors },
    outputs: { out: records },
  });
  b.requirements.add(REQUIREMENTS.REQUIRES_SPLITTABLE_DOFN);
  if (spec.commitOffsetsInFinalize) b.requirements.add(REQUIREMENTS.REQUIRES_BUNDLE_FINALIZATION);
  return { records, subtransforms: [impulse, describe, read] };
}

/** The payload field names of a read's redistribute options (Beam's Python wrapper and the managed read differ). */
export interface RedistributeFields {
  readonly enabled: string;
  readonly numKeys: string;
  readonly byRecordKey: string;
  readonly allowDuplicates: string;
}

const READ_REDISTRIBUTE_FIELDS: RedistributeFields = {
  enabled: "redistribute",
  numKeys: "redistribute_num_keys",
  byRecordKey: "redistribute_by_record_key",
  allowDuplicates: "allow_duplicates",
};

/**
 * The payload's redistribute options, or undefined when the read is not redistributed; the other fields set
 * without the switch are refused (they would silently do nothing). allow_duplicates is only a hint to runners.
 */
export function redistributeOf(
  fields: RedistributeFields,
  get: (name: string) => unknown,
): RedistributeSpec | undefined {
  const numKeys = get(fields.numKeys) as bigint | number | undefined;
  const byRecordKey = get(fields.byRecordKey) === true;
  if (get(fields.enabled) !== true) {
    const strays: [string, boolean][] = [
      [fields.numKeys, numKeys !== undefined && Number(numKeys) !== 0],
      [fields.byRecordKey, byRecordKey],
      [fields.allowDuplicates, get(fields.allowDuplicates) === true],
    ];
    for (const [name, set] of strays) {
      if (set)
        throw invalidArgument(name, `takes effect only with ${fields.enabled}=true: set that too, or leave this unset`);
    }
    return undefined;
  }
  try {
    return redistributeSpec(numKeys === undefined ? undefined : Number(numKeys), byRecordKey);
  } catch (err) {
    if (err instanceof KafkaConfigError)
      throw invalidArgument(fields.numKeys, err.message.slice(err.key.length + 2), err);
    throw err;
  }
}

/**
 * Redistributes a read's records, as Java's KafkaIO does: a composite of URN redistribute_arbitrarily (runners may
 * replace it: Prism removes it) over AssignKey → GroupByKey (every element fires, earliest timestamp) → Values.
 * Returns the redistributed PCollection and the composite's id.
 */
export function expandRedistribute(
  records: string,
  spec: ReadSpec,
  redistribute: RedistributeSpec,
  ctx: ExpansionContext,
): { records: string; transform: string } {
  const b = ctx.builder;
  const bounded = isBoundedRead(spec);
  const coder = recordCoder(spec);
  const shuffling = b.everyElementWindowing();
  const keyed = b.pcollection(
    "kafka_read/redistribute_keyed.out",
    { coder: keyedRecordCoder(coder), bounded },
    shuffling,
  );
  const grouped = b.pcollection(
    "kafka_read/redistribute_grouped.out",
    { coder: groupedRecordsCoder(coder), bounded },
    shuffling,
  );
  const redistributed = b.pcollection("kafka_read/redistributed.out", { coder, bounded });
  const name = `${ctx.uniqueName}/Redistribute`;
  const subtransforms = [
    b.transform(b.id("kafka_read/AssignKey"), {
      uniqueName: `${name}/AssignKey`,
      spec: parDoSpec({ doFn: doFnSpec(new RedistributeKeyDoFn(redistribute).doFnPayload()) }),
      inputs: { in: records },
      outputs: { out: keyed },
    }),
    b.transform(b.id("kafka_read/GroupByKey"), {
      uniqueName: `${name}/GroupByKey`,
      spec: { urn: urns.StandardPTransforms.Primitives.GROUP_BY_KEY },
      inputs: { in: keyed },
      outputs: { out: grouped },
      environment: false,
    }),
    b.transform(b.id("kafka_read/Values"), {
      uniqueName: `${name}/Values`,
      spec: parDoSpec({ doFn: doFnSpec(new RedistributedValuesDoFn().doFnPayload()) }),
      inputs: { in: grouped },
      outputs: { out: redistributed },
    }),
  ];
  const transform = b.transform(b.id("kafka_read/Redistribute"), {
    uniqueName: name,
    spec: { urn: urns.StandardPTransforms.Composites.REDISTRIBUTE_ARBITRARILY },
    inputs: { in: records },
    outputs: { out: redistributed },
    subtransforms,
  });
  return { records: redistributed, transform };
}

/** What a read's payload prepares: its spec, and how its records are redistributed (undefined: they are not). */
interface PreparedRead {
  readonly spec: ReadSpec;
  readonly redistribute: RedistributeSpec | undefined;
}

function expandRead({ spec, redistribute }: PreparedRead, ctx: ExpansionContext): ExpansionResult {
  const { records, subtransforms } = expandReadGraph(spec, ctx);
  if (!redistribute) return { outputs: { out: records }, subtransforms };
  const shuffled = expandRedistribute(records, spec, redistribute, ctx);
  return { outputs: { out: shuffled.records }, subtransforms: [...subtransforms, shuffled.transform] };
}

/** The write ParDo on one PCollection (of KVs or rows, per `input`); returns its transform id. */
export function expandWriteOn(
  spec: WriteSpec,
  input: "kv" | "row",
  pcollection: string,
  ctx: ExpansionContext,
): string {
  return ctx.builder.transform(ctx.builder.id("kafka_write/WriteToKafka"), {
    uniqueName: `${ctx.uniqueName}/WriteToKafka`,
    spec: parDoSpec({ doFn: specDoFn(ctx, "kafka_write", { write: spec }, { input }) }),
    inputs: { in: pcollection },
  });
}

/** The caller's one input: its tag, id and proto. */
function singleInput(ctx: ExpansionContext): { tag: string; id: string; pcollection: runnerApi.IPCollection } {
  const entries = Object.entries(ctx.inputs);
  if (entries.length !== 1) throw invalidArgument("inputs", `a Kafka write takes one input, got ${entries.length}`);
  const [tag, id] = entries[0]!;
  return { tag, id, pcollection: ctx.requestComponents.pcollections?.[id] ?? {} };
}

/** The input's windowing: its strategy id (empty: none given) and whether it is the global window. */
function inputWindowing(
  tag: string,
  pcollection: runnerApi.IPCollection,
  ctx: ExpansionContext,
): { strategyId: string; global: boolean; windowFnUrn: string } {
  const strategyId = pcollection.windowingStrategyId ?? "";
  if (!strategyId) return { strategyId, global: true, windowFnUrn: urns.GlobalWindowsPayload.Enum.PROPERTIES };
  const strategy = ctx.requestComponents.windowingStrategies?.[strategyId];
  if (!strategy)
    throw invalidArgument(
      `transform.inputs[${tag}]`,
      `windowing strategy ${strategyId} is not in the request's components`,
    );
  const windowFnUrn = strategy.windowFn?.urn ?? "";
  return { strategyId, global: windowFnUrn === urns.GlobalWindowsPayload.Enum.PROPERTIES, windowFnUrn };
}

/**
 * The exactly-once graph on the caller's input, as the native WriteToKafka builds it: the runner's GroupByKey fires
 * at the end of a window, so an unbounded input in the global window is first batched into fixed event-time windows
 * (`windowMs`, default 1000; given explicitly, it batches a bounded global input too). Standard coders around the
 * GroupByKey (KV<varint, bytes> in, KV<varint, iterable<bytes>> out) so any runner can group them.
 */
function expandExactlyOnceWrite(
  spec: WriteSpec,
  input: "kv" | "row",
  windowMs: bigint | undefined,
  ctx: ExpansionContext,
): ExpansionResult {
  const b = ctx.builder;
  const { tag, id: inputId, pcollection } = singleInput(ctx);
  const requiresStableInput = spec.exactlyOnce!.requiresStableInput;
  const bounded = pcollection.isBounded !== runnerApi.IsBounded.Enum.UNBOUNDED;
  const windowing = inputWindowing(tag, pcollection, ctx);
  if (windowMs !== undefined && !windowing.global) {
    throw invalidArgument(
      "exactly_once_window_ms",
      `the input is already windowed (${windowing.windowFnUrn}); ` +
        "the batching window applies only to globally windowed input: leave it unset",
    );
  }
  const subtransforms: string[] = [];
  let batched = inputId;
  let strategyId = windowing.strategyId || b.globalWindowing();
  if (windowing.global && (windowMs !== undefined || !bounded)) {
    strategyId = b.fixedWindowing(windowMs ?? DEFAULT_EXACTLY_ONCE_WINDOW_MS);
    const elementCoderId = pcollection.coderId;
    if (!elementCoderId) throw invalidArgument(`transform.inputs[${tag}]`, `PCollection ${inputId} has no coder`);
    batched = b.pcollection("kafka_write/windowed.out", { coder: { id: elementCoderId }, bounded }, strategyId);
    subtransforms.push(
      b.transform(b.id("kafka_write/BatchWindows"), {
        uniqueName: `${ctx.uniqueName}/BatchWindows`,
        spec: {
          urn: urns.StandardPTransforms.Primitives.ASSIGN_WINDOWS,
          payload: runnerApi.WindowIntoPayload.encode({
            windowFn: ctx.builder.windowingStrategies[strategyId]!.windowFn!,
          }).finish(),
        },
        inputs: { in: inputId },
        outputs: { out: batched },
      }),
    );
  }
  const sharded = b.pcollection(
    "kafka_write/shard.out",
    { coder: kvCoder(varIntCoder, bytesCoder) as Coder<unknown>, bounded },
    strategyId,
  );
  const grouped = b.pcollection(
    "kafka_write/group.out",
    { coder: kvCoder(varIntCoder, iterableCoder(bytesCoder)) as Coder<unknown>, bounded },
    strategyId,
  );
  subtransforms.push(
    b.transform(b.id("kafka_write/Shard"), {
      uniqueName: `${ctx.uniqueName}/Shard`,
      spec: parDoSpec({ doFn: specDoFn(ctx, "kafka_write", { write: spec }, { input, step: "shard" }) }),
      inputs: { in: batched },
      outputs: { out: sharded },
    }),
    b.transform(b.id("kafka_write/GroupByShard"), {
      uniqueName: `${ctx.uniqueName}/GroupByShard`,
      spec: { urn: urns.StandardPTransforms.Primitives.GROUP_BY_KEY },
      inputs: { in: sharded },
      outputs: { out: grouped },
      environment: false,
    }),
    b.transform(b.id("kafka_write/WriteTransactions"), {
      uniqueName: `${ctx.uniqueName}/WriteTransactions`,
      spec: parDoSpec({
        doFn: specDoFn(ctx, "kafka_write", { write: spec }, { input, step: "transactional_write" }),
        requiresStableInput,
      }),
      inputs: { in: grouped },
    }),
  );
  // Runners check the flag against the pipeline's requirements (Flink refuses the flag without the requirement).
  if (requiresStableInput) b.requirements.add(REQUIREMENTS.REQUIRES_STABLE_INPUT);
  return { outputs: {}, subtransforms };
}

function expandWrite(spec: WriteSpec, input: "kv" | "row", ctx: ExpansionContext): ExpansionResult {
  return { outputs: {}, subtransforms: [expandWriteOn(spec, input, singleInput(ctx).id, ctx)] };
}

/** The exactly-once options of our write's payload, or undefined for an at-least-once write. */
function exactlyOnceOptions(values: ConfigValues): ExactlyOnceOptions | undefined {
  const shards = num(values, "exactly_once_shards");
  if (shards === undefined) {
    for (const name of EXACTLY_ONCE_FIELDS) {
      if (values.has(name))
        throw invalidArgument(name, "belongs to an exactly-once write: set exactly_once_shards as well");
    }
    return undefined;
  }
  const sinkGroupId = values.get("sink_group_id") as string | undefined;
  if (sinkGroupId === undefined)
    throw invalidArgument(
      "sink_group_id",
      "is required with exactly_once_shards (the group holding the shards' committed sequences)",
    );
  const metadataTopic = values.get("metadata_topic") as string | undefined;
  const requiresStableInput = values.get("requires_stable_input") as boolean | undefined;
  return {
    numShards: Number(shards),
    sinkGroupId,
    ...(metadataTopic !== undefined ? { metadataTopic } : {}),
    ...(requiresStableInput !== undefined ? { requiresStableInput } : {}),
  };
}

function exactlyOnceWindowMs(values: ConfigValues): bigint | undefined {
  const ms = num(values, "exactly_once_window_ms");
  if (ms !== undefined && (ms < 1n || ms > BigInt(Number.MAX_SAFE_INTEGER))) {
    throw invalidArgument("exactly_once_window_ms", `must be an integer >= 1 (ms), got ${ms}`);
  }
  return ms;
}

function readDefinition(
  name: string,
  urnList: readonly string[],
  fields: readonly FieldSpec[],
  withMetadata: boolean,
): TransformDefinition<PreparedRead> {
  return {
    name,
    urns: urnList,
    fields,
    prepare: (values) => ({
      spec: validated("consumer_config", () => readSpecFromOptions(readOptions(values, withMetadata))),
      redistribute: redistributeOf(READ_REDISTRIBUTE_FIELDS, (field) => values.get(field)),
    }),
    expand: expandRead,
  };
}

function writeDefinition(
  name: string,
  urnList: readonly string[],
  fields: readonly FieldSpec[],
  input: "kv" | "row",
): TransformDefinition<{ spec: WriteSpec; windowMs: bigint | undefined }> {
  return {
    name,
    urns: urnList,
    fields,
    prepare: (values) => {
      const exactlyOnce = exactlyOnceOptions(values);
      const windowMs = exactlyOnceWindowMs(values);
      const spec = validated("producer_config", () =>
        writeSpecFromOptions({
          producerConfig: values.get("producer_config") as Record<string, string>,
          topic: values.get("topic") as string,
          keySerializer: (values.get("key_serializer") as string | undefined) ?? "bytes",
          valueSerializer: (values.get("value_serializer") as string | undefined) ?? "bytes",
          ...(exactlyOnce ? { exactlyOnce } : {}),
        }),
      );
      return { spec, windowMs };
    },
    expand: ({ spec, windowMs }, ctx) => {
      const { tag, pcollection } = singleInput(ctx);
      checkWriteInput(spec, input, tag, pcollection, ctx.requestComponents.coders ?? {});
      return spec.exactlyOnce ? expandExactlyOnceWrite(spec, input, windowMs, ctx) : expandWrite(spec, input, ctx);
    },
  };
}

/** Every Kafka transform this project serves. */
export function kafkaTransformDefinitions(): TransformDefinition<unknown>[] {
  return [
    readDefinition("ReadFromKafka (ours)", [KBT_TRANSFORM_URNS.KAFKA_READ], OUR_READ_FIELDS, false),
    readDefinition(
      "ReadFromKafka with metadata",
      [BEAM_KAFKA_URNS.READ_WITH_METADATA, BEAM_KAFKA_URNS.LEGACY_READ],
      BEAM_READ_FIELDS,
      true,
    ),
    readDefinition(
      "ReadFromKafka without metadata",
      [BEAM_KAFKA_URNS.READ_WITHOUT_METADATA, BEAM_KAFKA_URNS.LEGACY_READ_WITHOUT_METADATA],
      BEAM_READ_FIELDS,
      false,
    ),
    writeDefinition("WriteToKafka (ours)", [KBT_TRANSFORM_URNS.KAFKA_WRITE], OUR_WRITE_FIELDS, "kv"),
    writeDefinition("WriteToKafka", [BEAM_KAFKA_URNS.WRITE, BEAM_KAFKA_URNS.LEGACY_WRITE], BEAM_WRITE_FIELDS, "kv"),
    writeDefinition("WriteToKafka with headers", [BEAM_KAFKA_URNS.WRITE_WITH_HEADERS], BEAM_WRITE_FIELDS, "row"),
  ];
}
