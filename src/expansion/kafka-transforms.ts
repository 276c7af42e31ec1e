// The Kafka transforms the expansion service serves: payload fields (Beam's schemas, and our superset), their
// mapping to the read/write specs, and the expanded graphs:
//   read:  Impulse → ParDo(kafka_read_descriptors) → SDF ParDo(kafka_read)
//          (with dynamic_read_poll_interval_seconds: Impulse → SDF ParDo(kafka_read_discovery) → SDF ParDo(kafka_read))
//   write: ParDo(kafka_write) on the caller's input
import { urns } from "../model/proto/index.js";
import type { Coder } from "../model/coders/index.js";
import { BEAM_KAFKA_URNS, KBT_TRANSFORM_URNS } from "../model/kbt-urns.js";
import { doFnSpec } from "../model/dofn-payload.js";
import { KafkaConfigError } from "../kafka/errors.js";
import { readSpecFromOptions, isBoundedRead, discoversPartitions, type ReadFromKafkaOptions, type ReadSpec } from "../kafka/read/spec.js";
import { discoveryRestrictionWithWatermarkCoder } from "../kafka/read/discovery-dofn.js";
import { writeSpecFromOptions, type WriteSpec } from "../kafka/write/spec.js";
import { sourceDescriptorCoder, restrictionWithWatermarkCoder, readOutputCoder } from "../kafka/read/coders.js";
import { bytesCoder } from "../model/coders/index.js";
import { invalidArgument } from "./errors.js";
import { parDoSpec } from "./components.js";
import type { ConfigValues, FieldSpec } from "./payload.js";
import type { ExpansionContext, ExpansionResult, TransformDefinition } from "./registry.js";

const REQUIREMENTS = urns.StandardRequirements.Enum;

/** Beam's Python `ReadFromKafkaSchema` (apache-beam 2.77.0), which Java's expansion service accepts. */
const BEAM_READ_FIELDS: readonly FieldSpec[] = [
  { name: "consumer_config", kind: "string_map", required: true, description: "Kafka consumer config (bootstrap.servers, group.id, ...)" },
  { name: "topics", kind: "string_list", description: "topics to read (every partition)" },
  { name: "key_deserializer", kind: "string", description: "Java Deserializer class name (ByteArray, String, Long, Integer)" },
  { name: "value_deserializer", kind: "string", description: "Java Deserializer class name" },
  { name: "start_read_time", kind: "int", description: "start at this timestamp (ms since epoch)" },
  { name: "max_num_records", kind: "int", description: "stop after this many records (bounded read)" },
  { name: "max_read_time", kind: "int", description: "stop after this many seconds (bounded read)" },
  { name: "commit_offset_in_finalize", kind: "bool", description: "commit offsets of finalized bundles to group.id" },
  { name: "timestamp_policy", kind: "string", description: "ProcessingTime | CreateTime | LogAppendTime" },
  { name: "consumer_polling_timeout", kind: "int", description: "seconds one fetch may wait for data" },
  { name: "redistribute", kind: "bool", onlyValue: false, description: "not supported: must be false or null" },
  { name: "redistribute_num_keys", kind: "int", onlyValue: 0n, description: "not supported: must be 0 or null" },
  { name: "allow_duplicates", kind: "bool", onlyValue: false, description: "not supported: must be false or null" },
  { name: "dynamic_read_poll_interval_seconds", kind: "int", description: "look for new partitions this often" },
  { name: "consumer_factory_fn_class", kind: "string", refuseNonNull: "names a Java class; this service runs no JVM code (set consumer_config instead)" },
  { name: "consumer_factory_fn_params", kind: "string_map", refuseNonNull: "goes with consumer_factory_fn_class, which this service does not support" },
];

/** Our own read (`beam:transform:kafka_read:v1`): Beam's fields plus what the native API offers. */
const OUR_READ_FIELDS: readonly FieldSpec[] = [
  ...BEAM_READ_FIELDS,
  { name: "topic_pattern", kind: "string", description: "read every topic matching this regular expression" },
  { name: "topic_partitions", kind: "string_list", description: "read exactly these partitions, as \"topic:partition\"" },
  { name: "with_metadata", kind: "bool", description: "emit rows with topic/partition/offset/timestamp/headers" },
  { name: "stop_read_time", kind: "int", description: "stop before this timestamp (ms since epoch)" },
  { name: "stop_at_end_offsets", kind: "bool", description: "read up to the end offsets at start, then finish" },
  { name: "max_out_of_order_delay_ms", kind: "int", description: "CreateTime watermark lag for out-of-order records" },
  { name: "idle_partition_timeout_ms", kind: "int", description: "advance an idle partition's watermark after this long" },
];

const BEAM_WRITE_FIELDS: readonly FieldSpec[] = [
  { name: "producer_config", kind: "string_map", required: true, description: "Kafka producer config (bootstrap.servers, acks, ...)" },
  { name: "topic", kind: "string", required: true, description: "topic to write to" },
  { name: "key_serializer", kind: "string", description: "Java Serializer class name" },
  { name: "value_serializer", kind: "string", description: "Java Serializer class name" },
];

/** Option name in the specs → payload field name, for error messages. */
const OPTION_FIELDS: Readonly<Record<string, string>> = {
  topics: "topics", topicPartitions: "topic_partitions", topicPattern: "topic_pattern",
  keyDeserializer: "key_deserializer", valueDeserializer: "value_deserializer",
  startReadTime: "start_read_time", stopReadTime: "stop_read_time", maxNumRecords: "max_num_records",
  maxReadTimeMs: "max_read_time", commitOffsetsInFinalize: "commit_offset_in_finalize",
  timestampPolicy: "timestamp_policy", pollTimeoutMs: "consumer_polling_timeout",
  partitionDiscoveryIntervalMs: "dynamic_read_poll_interval_seconds",
  maxOutOfOrderDelayMs: "max_out_of_order_delay_ms", idlePartitionTimeoutMs: "idle_partition_timeout_ms",
  keySerializer: "key_serializer", valueSerializer: "value_serializer", topic: "topic",
};

/** Runs a spec validator, naming the payload field (or the Kafka config key inside the config map) on error. */
function validated<T>(configField: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof KafkaConfigError) {
      const [option, ...rest] = err.key.split(/(?=[.[])/);
      const field = OPTION_FIELDS[option!] ? `${OPTION_FIELDS[option!]}${rest.join("")}` : `${configField}['${err.key}']`;
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

function parseTopicPartitions(values: readonly string[] | undefined): { topic: string; partition: number }[] | undefined {
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
  const descriptors = b.pcollection("kafka_read/descriptors.out", { coder: sourceDescriptorCoder, bounded: !discovery });
  const records = b.pcollection("kafka_read/read.out", { coder: validated("key_deserializer", () => readOutputCoder(spec)), bounded });
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
        doFn: doFnSpec({ fn: "kafka_read_discovery", read: spec }),
        restrictionCoderId: b.coderId(discoveryRestrictionWithWatermarkCoder as Coder<unknown>),
      })
      : parDoSpec({ doFn: doFnSpec({ fn: "kafka_read_descriptors", read: spec }) }),
    inputs: { in: impulseOut },
    outputs: { out: descriptors },
  });
  const read = b.transform(b.id("kafka_read/ReadFromKafka"), {
    uniqueName: `${ctx.uniqueName}/ReadFromKafka`,
    spec: parDoSpec({
      doFn: doFnSpec({ fn: "kafka_read", read: spec }),
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

function expandRead(spec: ReadSpec, ctx: ExpansionContext): ExpansionResult {
  const { records, subtransforms } = expandReadGraph(spec, ctx);
  return { outputs: { out: records }, subtransforms };
}

/** The write ParDo on one PCollection (of KVs or rows, per `input`); returns its transform id. */
export function expandWriteOn(spec: WriteSpec, input: "kv" | "row", pcollection: string, ctx: ExpansionContext): string {
  return ctx.builder.transform(ctx.builder.id("kafka_write/WriteToKafka"), {
    uniqueName: `${ctx.uniqueName}/WriteToKafka`,
    spec: parDoSpec({ doFn: doFnSpec({ fn: "kafka_write", write: spec, input }) }),
    inputs: { in: pcollection },
  });
}

function expandWrite(spec: WriteSpec, input: "kv" | "row", ctx: ExpansionContext): ExpansionResult {
  const inputs = Object.values(ctx.inputs);
  if (inputs.length !== 1) throw invalidArgument("inputs", `a Kafka write takes one input, got ${inputs.length}`);
  return { outputs: {}, subtransforms: [expandWriteOn(spec, input, inputs[0]!, ctx)] };
}

function readDefinition(name: string, urnList: readonly string[], fields: readonly FieldSpec[], withMetadata: boolean): TransformDefinition {
  return {
    name,
    urns: urnList,
    fields,
    expand: (values, ctx) => expandRead(validated("consumer_config", () => readSpecFromOptions(readOptions(values, withMetadata))), ctx),
  };
}

function writeDefinition(name: string, urnList: readonly string[], input: "kv" | "row"): TransformDefinition {
  return {
    name,
    urns: urnList,
    fields: BEAM_WRITE_FIELDS,
    expand: (values, ctx) => {
      const spec = validated("producer_config", () => writeSpecFromOptions({
        producerConfig: values.get("producer_config") as Record<string, string>,
        topic: values.get("topic") as string,
        keySerializer: (values.get("key_serializer") as string | undefined) ?? "bytes",
        valueSerializer: (values.get("value_serializer") as string | undefined) ?? "bytes",
      }));
      return expandWrite(spec, input, ctx);
    },
  };
}

/** Every Kafka transform this project serves. */
export function kafkaTransformDefinitions(): TransformDefinition[] {
  return [
    readDefinition("ReadFromKafka (ours)", [KBT_TRANSFORM_URNS.KAFKA_READ], OUR_READ_FIELDS, false),
    readDefinition("ReadFromKafka with metadata", [BEAM_KAFKA_URNS.READ_WITH_METADATA, BEAM_KAFKA_URNS.LEGACY_READ], BEAM_READ_FIELDS, true),
    readDefinition("ReadFromKafka without metadata", [BEAM_KAFKA_URNS.READ_WITHOUT_METADATA, BEAM_KAFKA_URNS.LEGACY_READ_WITHOUT_METADATA], BEAM_READ_FIELDS, false),
    writeDefinition("WriteToKafka", [KBT_TRANSFORM_URNS.KAFKA_WRITE, BEAM_KAFKA_URNS.WRITE, BEAM_KAFKA_URNS.LEGACY_WRITE], "kv"),
    writeDefinition("WriteToKafka with headers", [BEAM_KAFKA_URNS.WRITE_WITH_HEADERS], "row"),
  ];
}

