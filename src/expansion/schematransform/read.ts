// kafka_read: Impulse → descriptors → SDF read (with metadata) → [Redistribute] → ParDo(records → rows: RAW, JSON
// or AVRO) {output, [error output]}.
import { rowCoder, type Coder } from "../../model/coders/index.js";
import { doFnSpec } from "../../model/dofn-payload.js";
import { isBoundedRead, readSpecFromOptions, type ReadSpec, type RedistributeSpec } from "../../kafka/index.js";
import {
  ERROR_OUTPUT,
  MAIN_OUTPUT,
  JsonFormatError,
  AvroFormatError,
  avroRowSchema,
  parseAvroSchema,
  parseJsonSchema,
  rawRowSchema,
  readErrorSchema,
  recordsToRowsPayload,
  rowSchemaOf,
  type JsonObjectType,
  type AvroRecord,
  type ValueFormat,
} from "../../kafka/schematransform/index.js";
import { parDoSpec } from "../components.js";
import { invalidArgument } from "../errors.js";
import { expandReadGraph, expandRedistribute, redistributeOf } from "../kafka-transforms.js";
import type { ExpansionContext, ExpansionResult } from "../registry.js";
import type { ConfigField, SchemaTransformConfig, SchemaTransformDefinition } from "./config.js";
import { SCHEMA_TRANSFORM_IDS } from "./ids.js";
import {
  BOOTSTRAP_DESCRIPTION,
  ERROR_HANDLING_DESCRIPTION,
  SCHEMA_DESCRIPTION,
  errorOutputName,
  refuse,
  refuseProtoFields,
  validated,
  valueFormat,
} from "./kafka-fields.js";

const READ_FIELDS: readonly ConfigField[] = [
  {
    name: "allow_duplicates",
    kind: "boolean",
    description: "With redistributed: a hint that the runner may duplicate records (no runner here does either way).",
  },
  {
    name: "auto_offset_reset_config",
    kind: "string",
    description: "Where to start without a committed offset: earliest or latest (default).",
  },
  { name: "bootstrap_servers", kind: "string", required: true, description: BOOTSTRAP_DESCRIPTION },
  { name: "confluent_schema_registry_subject", kind: "string", description: "Not supported by this service." },
  { name: "confluent_schema_registry_url", kind: "string", description: "Not supported by this service." },
  {
    name: "consumer_config_updates",
    kind: "string_map",
    description: "Kafka consumer config keys and values (group.id, security.protocol, sasl.*, ssl.*, ...).",
  },
  { name: "error_handling", kind: "error_handling", description: ERROR_HANDLING_DESCRIPTION },
  { name: "file_descriptor_path", kind: "string", description: "PROTO only; not supported by this service." },
  {
    name: "format",
    kind: "string",
    description:
      "The encoding format for the data stored in Kafka: RAW, JSON or AVRO (the default, as in Beam Java; PROTO is not supported by this service).",
  },
  {
    name: "max_read_time_seconds",
    kind: "int32",
    description: "Upper bound of how long to read from Kafka (a bounded read).",
  },
  { name: "message_name", kind: "string", description: "PROTO only; not supported by this service." },
  {
    name: "offset_deduplication",
    kind: "boolean",
    description: "Redistribute with offset deduplication (Dataflow's; not supported here: false or unset).",
  },
  {
    name: "redistribute_by_record_key",
    kind: "boolean",
    description: "With redistributed: key by a hash of the record's key (a key's records meet in one group).",
  },
  {
    name: "redistribute_num_keys",
    kind: "int32",
    description: "With redistributed: the number of keys (0 or unset: 1024).",
  },
  {
    name: "redistributed",
    kind: "boolean",
    description:
      "Shuffle the records after the read, so the steps after it can run on more workers than the topic has partitions.",
  },
  { name: "schema", kind: "string", description: SCHEMA_DESCRIPTION },
  { name: "topic", kind: "string", required: true, description: "The topic to read." },
];

interface ReadPlan {
  readonly spec: ReadSpec;
  readonly redistribute: RedistributeSpec | undefined;
  readonly format: ValueFormat;
  readonly json: JsonObjectType | null;
  readonly avro: AvroRecord | null;
  readonly errorOutput: string | null;
}

function avroSchemaOf(config: SchemaTransformConfig): AvroRecord {
  const text = config.get("schema") as string | undefined;
  if (text === undefined)
    throw invalidArgument(
      "schema",
      "required with format AVRO (the read's default format, as in Beam Java): an Avro record schema",
    );
  try {
    return parseAvroSchema(text);
  } catch (err) {
    if (err instanceof AvroFormatError)
      throw invalidArgument("schema", `not a usable Avro schema: ${err.message}`, err);
    throw err;
  }
}

function jsonSchemaOf(config: SchemaTransformConfig): JsonObjectType {
  const text = config.get("schema") as string | undefined;
  if (text === undefined) throw invalidArgument("schema", "required with format JSON: a JSON-schema object schema");
  try {
    return parseJsonSchema(text);
  } catch (err) {
    if (err instanceof JsonFormatError)
      throw invalidArgument("schema", `not a usable JSON schema: ${err.message}`, err);
    throw err;
  }
}

/** Validates a kafka_read config into the read spec and the row mapping. */
export function kafkaReadPlan(config: SchemaTransformConfig): ReadPlan {
  refuse(
    config,
    "confluent_schema_registry_url",
    "Confluent Schema Registry is not supported by kafka-beam-ts (give the Avro or JSON schema in schema)",
  );
  refuse(
    config,
    "confluent_schema_registry_subject",
    "Confluent Schema Registry is not supported by kafka-beam-ts (give the Avro or JSON schema in schema)",
  );
  const format = valueFormat(config, "read");
  refuseProtoFields(config);
  let json: JsonObjectType | null = null;
  let avro: AvroRecord | null = null;
  if (format === "RAW") refuse(config, "schema", "a RAW read takes no schema (its rows are {payload: BYTES})");
  else if (format === "AVRO") avro = avroSchemaOf(config);
  else json = jsonSchemaOf(config);

  if (config.get("offset_deduplication") === true)
    throw invalidArgument(
      "offset_deduplication",
      "offset deduplication is Dataflow's (its runner drops records by offset); not supported by kafka-beam-ts",
    );
  const redistribute = redistributeOf(
    {
      enabled: "redistributed",
      numKeys: "redistribute_num_keys",
      byRecordKey: "redistribute_by_record_key",
      allowDuplicates: "allow_duplicates",
    },
    (field) => config.get(field),
  );

  const reset = config.get("auto_offset_reset_config") as string | undefined;
  if (reset !== undefined && reset !== "earliest" && reset !== "latest") {
    throw invalidArgument("auto_offset_reset_config", `must be earliest or latest, got ${JSON.stringify(reset)}`);
  }
  const maxReadTime = config.get("max_read_time_seconds") as number | undefined;
  if (maxReadTime !== undefined && maxReadTime < 0)
    throw invalidArgument("max_read_time_seconds", `must be >= 0, got ${maxReadTime}`);

  const updates = (config.get("consumer_config_updates") ?? {}) as Readonly<Record<string, string>>;
  // As Beam Java: the config map wins for auto.offset.reset (the field is its default), the field wins for
  // bootstrap.servers.
  const consumerConfig: Record<string, string> = {
    ...updates,
    "bootstrap.servers": config.get("bootstrap_servers") as string,
  };
  const fromFields = new Map<string, string>([
    ["bootstrap.servers", "bootstrap_servers"],
    ["topics[0]", "topic"],
    ["topics", "topic"],
    ["maxReadTimeMs", "max_read_time_seconds"],
    ["commitOffsetsInFinalize", "consumer_config_updates['group.id']"],
  ]);
  if (consumerConfig["auto.offset.reset"] === undefined) {
    consumerConfig["auto.offset.reset"] = reset ?? "latest";
    fromFields.set("auto.offset.reset", "auto_offset_reset_config");
  }
  // Java's provider reads with Kafka's auto-commit when there is a group; ours commits the offsets of finalized
  // bundles instead, which is what auto-commit approximates.
  const commit = updates["group.id"] !== undefined && updates["enable.auto.commit"]?.toLowerCase() !== "false";
  const topic = config.get("topic") as string;
  const spec = validated("consumer_config_updates", fromFields, () =>
    readSpecFromOptions({
      consumerConfig,
      topics: [topic],
      keyDeserializer: "bytes",
      valueDeserializer: "bytes",
      withMetadata: true,
      commitOffsetsInFinalize: commit,
      ...(maxReadTime !== undefined ? { maxReadTimeMs: maxReadTime * 1000 } : {}),
    }),
  );
  return { spec, redistribute, format, json, avro, errorOutput: errorOutputName(config, ["output"]) };
}

function expandKafkaRead(config: SchemaTransformConfig, ctx: ExpansionContext): ExpansionResult {
  const inputs = Object.keys(ctx.inputs);
  if (inputs.length > 0) throw invalidArgument("inputs", `kafka_read takes no input, got ${inputs.join(", ")}`);
  const plan = kafkaReadPlan(config);
  const b = ctx.builder;
  const bounded = isBoundedRead(plan.spec);
  const read = expandReadGraph(plan.spec, ctx);
  const shuffled = plan.redistribute ? expandRedistribute(read.records, plan.spec, plan.redistribute, ctx) : undefined;
  const rowSchema =
    plan.format === "RAW"
      ? rawRowSchema()
      : plan.format === "AVRO"
        ? avroRowSchema(plan.avro!)
        : rowSchemaOf(plan.json!);
  const rows = b.pcollection("kafka_read/rows", { coder: rowCoder(rowSchema) as Coder<unknown>, bounded });
  const errors =
    plan.errorOutput === null
      ? null
      : b.pcollection("kafka_read/errors", { coder: rowCoder(readErrorSchema()) as Coder<unknown>, bounded });
  const toRows = b.transform(b.id("kafka_read/ToRows"), {
    uniqueName: `${ctx.uniqueName}/ToRows`,
    spec: parDoSpec({
      doFn: doFnSpec(
        recordsToRowsPayload({
          format: plan.format,
          json: plan.json,
          ...(plan.avro ? { avro: plan.avro } : {}),
          errorOutput: errors === null ? null : ERROR_OUTPUT,
        }),
      ),
    }),
    inputs: { in: shuffled?.records ?? read.records },
    outputs: { [MAIN_OUTPUT]: rows, ...(errors === null ? {} : { [ERROR_OUTPUT]: errors }) },
  });
  return {
    outputs: { output: rows, ...(errors === null ? {} : { [plan.errorOutput!]: errors }) },
    subtransforms: [...read.subtransforms, ...(shuffled ? [shuffled.transform] : []), toRows],
  };
}

export const KAFKA_READ: SchemaTransformDefinition = {
  identifier: SCHEMA_TRANSFORM_IDS.KAFKA_READ,
  description:
    "Reads a Kafka topic into Rows: RAW ({payload: BYTES}) or JSON (a JSON-schema object schema). " +
    "With error_handling, records that do not parse go to that output as {failed_row: BYTES, error_message: STRING}.",
  fields: READ_FIELDS,
  inputs: [],
  outputs: ["output", "errors"],
  expand: expandKafkaRead,
};
