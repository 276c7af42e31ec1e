// SchemaTransforms: Beam YAML's and Python's `managed.Read/Write(managed.KAFKA, ...)` route into this service.
// A caller first asks DiscoverSchemaTransform for each transform's config schema (Python rearranges its keyword
// arguments by it, so the field names and types below are the contract: Beam Java's, sorted as Java sorts them),
// then sends an ExpansionRequest whose spec is `beam:expansion:payload:schematransform:v1` with a
// SchemaTransformPayload (identifier, configuration schema, configuration row).
//
//   kafka_read:  Impulse → descriptors → SDF read (with metadata) → ParDo(records → rows) {output, [error output]}
//   kafka_write: caller's rows → ParDo(rows → records) {records, [error output]} → ParDo(kafka_write)
//   managed:     config YAML (or a local config_url file) → one of the two above
import { randomUUID } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { externalTransforms, runnerApi, urns, type expansionApi } from "../model/proto/index.js";
import { bytesCoder, decodeFromBytes, kvCoder, nullableCoder, rowCoder, CoderUrns, type Coder } from "../model/coders/index.js";
import { AtomicType, decodeSchema, encodeSchema, fieldTypeKind, type Field, type FieldType, type Schema } from "../model/schema.js";
import { doFnSpec } from "../model/dofn-payload.js";
import { KafkaConfigError, isBoundedRead, readSpecFromOptions, writeSpecFromOptions, type ReadSpec, type WriteSpec } from "../kafka/index.js";
import {
  ERROR_OUTPUT, MAIN_OUTPUT, JsonFormatError, parseJsonSchema, rawRowSchema, readErrorSchema, recordsToRowsPayload, rowSchemaOf,
  rowsToRecordsPayload, writeErrorSchema, type JsonObjectType, type ValueFormat,
} from "../kafka/schematransform/index.js";
import { parDoSpec } from "./components.js";
import { ExpansionError, invalidArgument } from "./errors.js";
import { expandReadGraph, expandWriteOn } from "./kafka-transforms.js";
import { canonicalFieldName } from "./payload.js";
import type { ExpansionContext, ExpansionResult } from "./registry.js";

/** The request URN of a SchemaTransform expansion (ExpansionMethods.SCHEMA_TRANSFORM). */
export const SCHEMA_TRANSFORM_PAYLOAD_URN = urns.ExpansionMethods.Enum.SCHEMA_TRANSFORM;

export const SCHEMA_TRANSFORM_IDS = Object.freeze({
  KAFKA_READ: urns.ManagedTransforms.Urns.KAFKA_READ,
  KAFKA_WRITE: urns.ManagedTransforms.Urns.KAFKA_WRITE,
  /** Python's MANAGED_SCHEMA_TRANSFORM_IDENTIFIER (apache_beam/transforms/external.py). */
  MANAGED: "beam:transform:managed:v1",
});

// ---------------------------------------------------------------------------------------------------------------
// Config fields.

export type ConfigFieldKind = "string" | "boolean" | "int32" | "string_map" | "error_handling";

export interface ConfigField {
  /** snake_case, as discovered */
  readonly name: string;
  readonly kind: ConfigFieldKind;
  /** Non-nullable in the discovered schema; missing or null is an error. */
  readonly required?: boolean;
  readonly description: string;
}

export interface ErrorHandlingConfig {
  readonly output: string;
}

export type ConfigFieldValue = string | boolean | number | Readonly<Record<string, string>> | ErrorHandlingConfig;

/** Converted config values by canonical name; absent and null fields are left out. */
export type SchemaTransformConfig = ReadonlyMap<string, ConfigFieldValue>;

export interface SchemaTransformDefinition {
  readonly identifier: string;
  readonly description: string;
  /** In discovery order. */
  readonly fields: readonly ConfigField[];
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  expand(config: SchemaTransformConfig, ctx: ExpansionContext): ExpansionResult;
}

const STRING: FieldType = { atomicType: AtomicType.STRING };

function configFieldType(field: ConfigField): FieldType {
  const base: FieldType = (() => {
    switch (field.kind) {
      case "string": return STRING;
      case "boolean": return { atomicType: AtomicType.BOOLEAN };
      case "int32": return { atomicType: AtomicType.INT32 };
      case "string_map": return { mapType: { keyType: STRING, valueType: STRING } };
      case "error_handling":
        return { rowType: { schema: configSchema([{ name: "output", kind: "string", required: true,
          description: "The name of the output PCollection containing failed reads or writes." }]) } };
    }
  })();
  return field.required ? base : { ...base, nullable: true };
}

function configSchema(fields: readonly ConfigField[]): Schema {
  const schemaFields: Field[] = fields.map((f) => ({ name: f.name, description: f.description, type: configFieldType(f) }));
  return { id: randomUUID(), fields: schemaFields };
}

/** The config schema a definition is discovered with (fresh schema ids on every call). */
export function schemaTransformConfigSchema(definition: SchemaTransformDefinition): Schema {
  return configSchema(definition.fields);
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (value instanceof Map) return "a map";
  if (Array.isArray(value)) return "a list";
  if (value instanceof Uint8Array) return "bytes";
  if (typeof value === "bigint" || (typeof value === "number" && Number.isInteger(value))) return "an integer";
  return typeof value === "object" ? "a mapping" : `a ${typeof value}`;
}

function entriesOf(value: unknown): [unknown, unknown][] | null {
  if (value instanceof Map) return [...value.entries()];
  if (value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof Uint8Array)) return Object.entries(value);
  return null;
}

function convertField(field: ConfigField, sent: string, value: unknown): ConfigFieldValue {
  const wrong = (expected: string) => invalidArgument(sent, `expected ${expected}, got ${describe(value)}`);
  switch (field.kind) {
    case "string":
      if (typeof value !== "string") throw wrong("a string");
      return value;
    case "boolean":
      if (typeof value !== "boolean") throw wrong("a boolean");
      return value;
    case "int32": {
      const n = typeof value === "bigint" ? value : typeof value === "number" && Number.isInteger(value) ? BigInt(value) : null;
      if (n === null) throw wrong("an integer");
      if (n < -2147483648n || n > 2147483647n) throw invalidArgument(sent, `${n} is out of the INT32 range`);
      return Number(n);
    }
    case "string_map": {
      const entries = entriesOf(value);
      if (!entries) throw wrong("a map of strings to strings");
      const out: Record<string, string> = {};
      for (const [k, v] of entries) {
        if (typeof k !== "string") throw invalidArgument(sent, `keys must be strings, got ${describe(k)}`);
        // YAML configs carry numbers and booleans unquoted (max.poll.records: 500): Kafka configs are text.
        if (typeof v === "string") out[k] = v;
        else if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") out[k] = String(v);
        else throw invalidArgument(`${sent}['${k}']`, `expected a string, got ${describe(v)}`);
      }
      return Object.freeze(out);
    }
    case "error_handling": {
      const entries = entriesOf(value);
      if (!entries) throw wrong("a row {output: name}");
      let output: unknown;
      for (const [k, v] of entries) {
        if (k === "output") output = v;
        else if (v !== null && v !== undefined) throw invalidArgument(`${sent}.${String(k)}`, "unknown field (error_handling has one field, output)");
      }
      if (typeof output !== "string" || output.length === 0) {
        throw invalidArgument(`${sent}.output`, "the name of the error output must be a non-empty string");
      }
      return Object.freeze({ output });
    }
  }
}

/**
 * Checks a config (a decoded Row, or a YAML mapping for managed) against a transform's fields: spellings meet on
 * snake_case, unknown fields are errors unless null, kinds match, required fields are present.
 */
export function readSchemaTransformConfig(definition: SchemaTransformDefinition, entries: Iterable<[string, unknown]>): SchemaTransformConfig {
  const byName = new Map(definition.fields.map((f) => [f.name, f]));
  const values = new Map<string, ConfigFieldValue>();
  const spelledAs = new Map<string, string>();
  for (const [sent, value] of entries) {
    const name = canonicalFieldName(sent);
    const field = byName.get(name);
    if (!field) {
      if (value === null || value === undefined) continue;
      throw invalidArgument(sent, `unknown field of ${definition.identifier}; known fields: ${definition.fields.map((f) => f.name).join(", ")}`);
    }
    const earlier = spelledAs.get(name);
    if (earlier !== undefined) throw invalidArgument(sent, `given twice (also as ${earlier})`);
    spelledAs.set(name, sent);
    if (value === null || value === undefined) continue;
    values.set(name, convertField(field, sent, value));
  }
  for (const field of definition.fields) {
    if (field.required && !values.has(field.name)) throw invalidArgument(field.name, `required field of ${definition.identifier} is missing`);
  }
  return values;
}

// ---------------------------------------------------------------------------------------------------------------
// Shared checks of the Kafka configs.

const ALL_FORMATS = ["RAW", "JSON", "AVRO", "PROTO"] as const;

function valueFormat(config: SchemaTransformConfig, direction: "read" | "write"): ValueFormat {
  const format = config.get("format") as string | undefined;
  if (format === undefined) {
    throw invalidArgument("format", `required: this service ${direction}s RAW or JSON values` +
      (direction === "read" ? " (Beam Java would assume AVRO)" : ""));
  }
  if (format === "RAW" || format === "JSON") return format;
  if ((ALL_FORMATS as readonly string[]).includes(format)) {
    throw invalidArgument("format", `${format} is not supported by kafka-beam-ts (supported: RAW, JSON)`);
  }
  throw invalidArgument("format", `must be one of ${ALL_FORMATS.join(", ")} (this service supports RAW and JSON), got ${JSON.stringify(format)}`);
}

function refuse(config: SchemaTransformConfig, field: string, why: string): void {
  if (config.has(field)) throw invalidArgument(field, why);
}

function refuseProtoFields(config: SchemaTransformConfig): void {
  for (const field of ["file_descriptor_path", "message_name"]) {
    refuse(config, field, "is only used with format PROTO, which kafka-beam-ts does not support");
  }
}

function errorOutputName(config: SchemaTransformConfig, reserved: readonly string[]): string | null {
  const handling = config.get("error_handling") as ErrorHandlingConfig | undefined;
  if (!handling) return null;
  if (reserved.includes(handling.output)) {
    throw invalidArgument("error_handling.output", `${JSON.stringify(handling.output)} is already the name of the main output`);
  }
  return handling.output;
}

/** Maps a KafkaConfigError from the spec validators to the config field (or the Kafka key inside a config map). */
function validated<T>(mapField: string, fromFields: ReadonlyMap<string, string>, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof KafkaConfigError)) throw err;
    const field = fromFields.get(err.key) ?? `${mapField}['${err.key}']`;
    throw invalidArgument(field, err.message.slice(err.key.length + 2), err);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// kafka_read.

const BOOTSTRAP_DESCRIPTION = "A list of host/port pairs to use for establishing the initial connection to the Kafka " +
  "cluster, in the form `host1:port1,host2:port2,...`.";
const SCHEMA_DESCRIPTION = "The schema in which the data is encoded in the Kafka topic. For JSON data, a JSON-schema " +
  "(https://json-schema.org/) object schema; AVRO and PROTO are not supported by this service.";
const ERROR_HANDLING_DESCRIPTION = "This option specifies whether and where to output unwritable rows.";

const READ_FIELDS: readonly ConfigField[] = [
  { name: "allow_duplicates", kind: "boolean", description: "If the Kafka read allows duplicates (with redistribute; not supported here: false or unset)." },
  { name: "auto_offset_reset_config", kind: "string", description: "Where to start without a committed offset: earliest or latest (default)." },
  { name: "bootstrap_servers", kind: "string", required: true, description: BOOTSTRAP_DESCRIPTION },
  { name: "confluent_schema_registry_subject", kind: "string", description: "Not supported by this service." },
  { name: "confluent_schema_registry_url", kind: "string", description: "Not supported by this service." },
  { name: "consumer_config_updates", kind: "string_map", description: "Kafka consumer config keys and values (group.id, security.protocol, sasl.*, ssl.*, ...)." },
  { name: "error_handling", kind: "error_handling", description: ERROR_HANDLING_DESCRIPTION },
  { name: "file_descriptor_path", kind: "string", description: "PROTO only; not supported by this service." },
  { name: "format", kind: "string", description: "The encoding format for the data stored in Kafka: RAW or JSON (AVRO and PROTO are not supported by this service)." },
  { name: "max_read_time_seconds", kind: "int32", description: "Upper bound of how long to read from Kafka (a bounded read)." },
  { name: "message_name", kind: "string", description: "PROTO only; not supported by this service." },
  { name: "offset_deduplication", kind: "boolean", description: "Redistribute with offset deduplication (not supported here: false or unset)." },
  { name: "redistribute_by_record_key", kind: "boolean", description: "Redistribute by record key (not supported here: false or unset)." },
  { name: "redistribute_num_keys", kind: "int32", description: "Number of redistribute keys (not supported here: 0 or unset)." },
  { name: "redistributed", kind: "boolean", description: "Redistribute the read (not supported here: false or unset)." },
  { name: "schema", kind: "string", description: SCHEMA_DESCRIPTION },
  { name: "topic", kind: "string", required: true, description: "The topic to read." },
];

interface ReadPlan {
  readonly spec: ReadSpec;
  readonly format: ValueFormat;
  readonly json: JsonObjectType | null;
  readonly errorOutput: string | null;
}

function jsonSchemaOf(config: SchemaTransformConfig): JsonObjectType {
  const text = config.get("schema") as string | undefined;
  if (text === undefined) throw invalidArgument("schema", "required with format JSON: a JSON-schema object schema");
  try {
    return parseJsonSchema(text);
  } catch (err) {
    if (err instanceof JsonFormatError) throw invalidArgument("schema", `not a usable JSON schema: ${err.message}`, err);
    throw err;
  }
}

/** Validates a kafka_read config into the read spec and the row mapping. */
export function kafkaReadPlan(config: SchemaTransformConfig): ReadPlan {
  refuse(config, "confluent_schema_registry_url", "Confluent Schema Registry is not supported by kafka-beam-ts (use format RAW or JSON)");
  refuse(config, "confluent_schema_registry_subject", "Confluent Schema Registry is not supported by kafka-beam-ts (use format RAW or JSON)");
  const format = valueFormat(config, "read");
  refuseProtoFields(config);
  let json: JsonObjectType | null = null;
  if (format === "RAW") refuse(config, "schema", "a RAW read takes no schema (its rows are {payload: BYTES})");
  else json = jsonSchemaOf(config);

  for (const field of ["redistributed", "allow_duplicates", "offset_deduplication", "redistribute_by_record_key"]) {
    if (config.get(field) === true) {
      throw invalidArgument(field, "redistributing the read is not supported by kafka-beam-ts (reads are split by partition): leave it unset or false");
    }
  }
  const numKeys = config.get("redistribute_num_keys") as number | undefined;
  if (numKeys !== undefined && numKeys !== 0) throw invalidArgument("redistribute_num_keys", `redistributing the read is not supported by kafka-beam-ts: leave it unset or 0, got ${numKeys}`);

  const reset = config.get("auto_offset_reset_config") as string | undefined;
  if (reset !== undefined && reset !== "earliest" && reset !== "latest") {
    throw invalidArgument("auto_offset_reset_config", `must be earliest or latest, got ${JSON.stringify(reset)}`);
  }
  const maxReadTime = config.get("max_read_time_seconds") as number | undefined;
  if (maxReadTime !== undefined && maxReadTime < 0) throw invalidArgument("max_read_time_seconds", `must be >= 0, got ${maxReadTime}`);

  const updates = (config.get("consumer_config_updates") ?? {}) as Readonly<Record<string, string>>;
  // As Beam Java: the config map wins for auto.offset.reset (the field is its default), the field wins for
  // bootstrap.servers.
  const consumerConfig: Record<string, string> = { ...updates, "bootstrap.servers": config.get("bootstrap_servers") as string };
  const fromFields = new Map<string, string>([["bootstrap.servers", "bootstrap_servers"], ["topics[0]", "topic"], ["topics", "topic"],
    ["maxReadTimeMs", "max_read_time_seconds"], ["commitOffsetsInFinalize", "consumer_config_updates['group.id']"]]);
  if (consumerConfig["auto.offset.reset"] === undefined) {
    consumerConfig["auto.offset.reset"] = reset ?? "latest";
    fromFields.set("auto.offset.reset", "auto_offset_reset_config");
  }
  // Java's provider reads with Kafka's auto-commit when there is a group; ours commits the offsets of finalized
  // bundles instead, which is what auto-commit approximates.
  const commit = updates["group.id"] !== undefined && updates["enable.auto.commit"]?.toLowerCase() !== "false";
  const topic = config.get("topic") as string;
  const spec = validated("consumer_config_updates", fromFields, () => readSpecFromOptions({
    consumerConfig,
    topics: [topic],
    keyDeserializer: "bytes",
    valueDeserializer: "bytes",
    withMetadata: true,
    commitOffsetsInFinalize: commit,
    ...(maxReadTime !== undefined ? { maxReadTimeMs: maxReadTime * 1000 } : {}),
  }));
  return { spec, format, json, errorOutput: errorOutputName(config, ["output"]) };
}

function expandKafkaRead(config: SchemaTransformConfig, ctx: ExpansionContext): ExpansionResult {
  const inputs = Object.keys(ctx.inputs);
  if (inputs.length > 0) throw invalidArgument("inputs", `kafka_read takes no input, got ${inputs.join(", ")}`);
  const plan = kafkaReadPlan(config);
  const b = ctx.builder;
  const bounded = isBoundedRead(plan.spec);
  const read = expandReadGraph(plan.spec, ctx);
  const rowSchema = plan.format === "RAW" ? rawRowSchema() : rowSchemaOf(plan.json!);
  const rows = b.pcollection("kafka_read/rows", { coder: rowCoder(rowSchema) as Coder<unknown>, bounded });
  const errors = plan.errorOutput === null ? null : b.pcollection("kafka_read/errors", { coder: rowCoder(readErrorSchema()) as Coder<unknown>, bounded });
  const toRows = b.transform(b.id("kafka_read/ToRows"), {
    uniqueName: `${ctx.uniqueName}/ToRows`,
    spec: parDoSpec({ doFn: doFnSpec(recordsToRowsPayload({ format: plan.format, json: plan.json, errorOutput: errors === null ? null : ERROR_OUTPUT })) }),
    inputs: { in: read.records },
    outputs: { [MAIN_OUTPUT]: rows, ...(errors === null ? {} : { [ERROR_OUTPUT]: errors }) },
  });
  return {
    outputs: { output: rows, ...(errors === null ? {} : { [plan.errorOutput!]: errors }) },
    subtransforms: [...read.subtransforms, toRows],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// kafka_write.

const WRITE_FIELDS: readonly ConfigField[] = [
  { name: "bootstrap_servers", kind: "string", required: true, description: BOOTSTRAP_DESCRIPTION },
  { name: "error_handling", kind: "error_handling", description: ERROR_HANDLING_DESCRIPTION },
  { name: "file_descriptor_path", kind: "string", description: "PROTO only; not supported by this service." },
  { name: "format", kind: "string", required: true, description: "The encoding format of the record values: RAW or JSON (AVRO and PROTO are not supported by this service)." },
  { name: "message_name", kind: "string", description: "PROTO only; not supported by this service." },
  { name: "producer_config_updates", kind: "string_map", description: "Kafka producer config keys and values (acks, compression.type, security.protocol, ...)." },
  { name: "schema", kind: "string", description: "Not needed for RAW and JSON writes (the input rows carry their schema)." },
  { name: "topic", kind: "string", required: true, description: "The topic to write to." },
];

interface WritePlan {
  readonly spec: WriteSpec;
  readonly format: ValueFormat;
  readonly errorOutput: string | null;
}

export function kafkaWritePlan(config: SchemaTransformConfig): WritePlan {
  const format = valueFormat(config, "write");
  refuseProtoFields(config);
  const updates = (config.get("producer_config_updates") ?? {}) as Readonly<Record<string, string>>;
  const fromFields = new Map([["bootstrap.servers", "bootstrap_servers"], ["topic", "topic"]]);
  const spec = validated("producer_config_updates", fromFields, () => writeSpecFromOptions({
    producerConfig: { ...updates, "bootstrap.servers": config.get("bootstrap_servers") as string },
    topic: config.get("topic") as string,
    keySerializer: "bytes",
    valueSerializer: "bytes",
  }));
  return { spec, format, errorOutput: errorOutputName(config, []) };
}

function typeName(type: FieldType): string {
  const kind = fieldTypeKind(type);
  const name = kind.kind === "atomic" ? Object.keys(AtomicType).find((k) => (AtomicType as Record<string, number>)[k] === kind.atomic) ?? "?"
    : kind.kind === "logical" ? kind.logical.urn : kind.kind.toUpperCase();
  return type.nullable ? `${name}?` : name;
}

/** RAW: the BYTES field whose value becomes the record value (the only field, as Java requires, or `payload`). */
function rawPayloadField(inputSchema: Schema): string {
  const isBytes = (f: Field) => { const k = fieldTypeKind(f.type); return k.kind === "atomic" && k.atomic === AtomicType.BYTES; };
  const fields = inputSchema.fields;
  if (fields.length === 1 && isBytes(fields[0]!)) return fields[0]!.name;
  const payload = fields.find((f) => f.name === "payload");
  if (payload && isBytes(payload)) return payload.name;
  throw invalidArgument("input", `a RAW write needs rows with one BYTES field (or a BYTES field named payload); the input has ` +
    `${fields.map((f) => `${f.name}: ${typeName(f.type)}`).join(", ") || "no fields"}`);
}

function inputRowSchema(ctx: ExpansionContext, tag: string, pcollectionId: string): Schema {
  const pc = ctx.requestComponents.pcollections?.[pcollectionId];
  const coder = pc ? ctx.requestComponents.coders?.[pc.coderId ?? ""] : undefined;
  const urn = coder?.spec?.urn ?? "";
  if (urn !== CoderUrns.ROW) {
    throw invalidArgument(`inputs[${tag}]`, `kafka_write takes a PCollection of Beam Rows (coder ${CoderUrns.ROW}), got ${urn || "no coder"}; ` +
      "in Python, map the elements to beam.Row(...) or give them a NamedTuple type");
  }
  try {
    return decodeSchema(coder!.spec!.payload ?? new Uint8Array(0));
  } catch (err) {
    throw invalidArgument(`inputs[${tag}]`, `the row coder's schema does not decode: ${(err as Error).message}`, err);
  }
}

function expandKafkaWrite(config: SchemaTransformConfig, ctx: ExpansionContext): ExpansionResult {
  const inputs = Object.entries(ctx.inputs);
  if (inputs.length !== 1) throw invalidArgument("inputs", `kafka_write takes one input (input), got ${inputs.length}`);
  const [tag, inputId] = inputs[0]!;
  const plan = kafkaWritePlan(config);
  const inputSchema = inputRowSchema(ctx, tag, inputId);
  const payloadField = plan.format === "RAW" ? rawPayloadField(inputSchema) : null;

  const b = ctx.builder;
  const inputPc = ctx.requestComponents.pcollections![inputId]!;
  const bounded = inputPc.isBounded !== runnerApi.IsBounded.Enum.UNBOUNDED;
  // Intermediate PCollections keep the caller's windowing: the mapping is element-wise.
  const windowing = inputPc.windowingStrategyId || undefined;
  const records = b.pcollection("kafka_write/records", { coder: kvCoder(nullableCoder(bytesCoder), bytesCoder) as Coder<unknown>, bounded }, windowing);
  const errors = plan.errorOutput === null ? null
    : b.pcollection("kafka_write/errors", { coder: rowCoder(writeErrorSchema(inputSchema)) as Coder<unknown>, bounded }, windowing);
  const toRecords = b.transform(b.id("kafka_write/ToRecords"), {
    uniqueName: `${ctx.uniqueName}/ToRecords`,
    spec: parDoSpec({ doFn: doFnSpec(rowsToRecordsPayload({ format: plan.format, payloadField, errorOutput: errors === null ? null : ERROR_OUTPUT })) }),
    inputs: { in: inputId },
    outputs: { [MAIN_OUTPUT]: records, ...(errors === null ? {} : { [ERROR_OUTPUT]: errors }) },
  });
  const write = expandWriteOn(plan.spec, "kv", records, ctx);
  return { outputs: errors === null ? {} : { [plan.errorOutput!]: errors }, subtransforms: [toRecords, write] };
}

// ---------------------------------------------------------------------------------------------------------------
// managed.

const MANAGED_FIELDS: readonly ConfigField[] = [
  { name: "config", kind: "string", description: "YAML string config used to build the underlying IO." },
  { name: "config_url", kind: "string", description: "Path of a local YAML config file used to build the underlying IO (no remote URLs)." },
  { name: "transform_identifier", kind: "string", required: true, description: "Identifier of the underlying IO to instantiate." },
];

const MAX_CONFIG_FILE_BYTES = 1 << 20;

/** The text of a config_url: a local path or file: URL; remote schemes are refused. */
function readConfigUrl(url: string): string {
  let path = url;
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(url)?.[1];
  if (scheme !== undefined) {
    if (scheme.toLowerCase() !== "file") {
      throw invalidArgument("config_url", `only local files can be read by kafka-beam-ts, got a ${scheme}:// URL; pass the YAML as config instead`);
    }
    try {
      path = fileURLToPath(url);
    } catch (err) {
      throw invalidArgument("config_url", `not a valid file URL: ${(err as Error).message}`, err);
    }
  }
  try {
    const size = statSync(path).size;
    if (size > MAX_CONFIG_FILE_BYTES) throw invalidArgument("config_url", `${path} is ${size} bytes; a config file may have at most ${MAX_CONFIG_FILE_BYTES}`);
    return readFileSync(path, "utf8");
  } catch (err) {
    if (err instanceof ExpansionError) throw err;
    throw invalidArgument("config_url", `cannot read ${path} on the expansion service's machine: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
  }
}

/** Parses YAML as Python's yaml.dump and Java's SnakeYAML write it (YAML 1.1); null (Python's `config=None`) → null. */
function parseConfigYaml(field: string, text: string): Record<string, unknown> | null {
  let parsed: unknown;
  try {
    parsed = parseYaml(text, { version: "1.1", intAsBigInt: true, uniqueKeys: true });
  } catch (err) {
    throw invalidArgument(field, `not valid YAML: ${(err as Error).message.split("\n")[0]}`, err);
  }
  if (parsed === null || parsed === undefined) return null;
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw invalidArgument(field, `expected a YAML mapping of config fields, got ${describe(parsed)}`);
  }
  return parsed as Record<string, unknown>;
}

function managedDefinition(underlying: readonly SchemaTransformDefinition[]): SchemaTransformDefinition {
  const byId = new Map(underlying.map((d) => [d.identifier, d]));
  return {
    identifier: SCHEMA_TRANSFORM_IDS.MANAGED,
    description: `Managed transform: expands one of ${[...byId.keys()].join(", ")} from a YAML config ` +
      "(Python's apache_beam.transforms.managed.Read/Write).",
    fields: MANAGED_FIELDS,
    inputs: [],
    outputs: [],
    expand(config, ctx) {
      const id = config.get("transform_identifier") as string;
      const target = byId.get(id);
      if (!target) throw invalidArgument("transform_identifier", `${JSON.stringify(id)} is not served here; supported: ${[...byId.keys()].join(", ")}`);
      const text = config.get("config") as string | undefined;
      const url = config.get("config_url") as string | undefined;
      let yaml = text !== undefined && text.trim() !== "" ? parseConfigYaml("config", text) : null;
      if (url !== undefined && url !== "") {
        if (yaml !== null) throw invalidArgument("config_url", "give config or config_url, not both");
        yaml = parseConfigYaml("config_url", readConfigUrl(url));
      }
      if (yaml === null) throw invalidArgument("config", `give the ${id} config as YAML (config) or a local file (config_url)`);
      return target.expand(readSchemaTransformConfig(target, Object.entries(yaml)), ctx);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The served set, discovery and the request.

const KAFKA_READ: SchemaTransformDefinition = {
  identifier: SCHEMA_TRANSFORM_IDS.KAFKA_READ,
  description: "Reads a Kafka topic into Rows: RAW ({payload: BYTES}) or JSON (a JSON-schema object schema). " +
    "With error_handling, records that do not parse go to that output as {failed_row: BYTES, error_message: STRING}.",
  fields: READ_FIELDS,
  inputs: [],
  outputs: ["output", "errors"],
  expand: expandKafkaRead,
};

const KAFKA_WRITE: SchemaTransformDefinition = {
  identifier: SCHEMA_TRANSFORM_IDS.KAFKA_WRITE,
  description: "Writes Rows to a Kafka topic as record values (no key): RAW (the row's BYTES field) or JSON (the row as a " +
    "JSON object). With error_handling, rows that cannot be written go to that output as {failed_row, error_message}.",
  fields: WRITE_FIELDS,
  inputs: ["input"],
  outputs: [],
  expand: expandKafkaWrite,
};

/** kafka_read, kafka_write and the managed transform over them. */
export function kafkaSchemaTransformDefinitions(): SchemaTransformDefinition[] {
  return [KAFKA_READ, KAFKA_WRITE, managedDefinition([KAFKA_READ, KAFKA_WRITE])];
}

/** DiscoverSchemaTransform's answer for these definitions. */
export function discoverSchemaTransforms(definitions: readonly SchemaTransformDefinition[]): Record<string, expansionApi.ISchemaTransformConfig> {
  const configs: Record<string, expansionApi.ISchemaTransformConfig> = {};
  for (const d of definitions) {
    configs[d.identifier] = {
      configSchema: runnerApi.Schema.decode(encodeSchema(schemaTransformConfigSchema(d))),
      inputPcollectionNames: [...d.inputs],
      outputPcollectionNames: [...d.outputs],
      description: d.description,
    };
  }
  return configs;
}

export interface PreparedSchemaTransform {
  readonly identifier: string;
  readonly config: SchemaTransformConfig;
  expand(ctx: ExpansionContext): ExpansionResult;
}

/** Decodes a SchemaTransformPayload, finds its transform and checks its config (before anything is built). */
export function prepareSchemaTransform(payload: Uint8Array, definitions: readonly SchemaTransformDefinition[]): PreparedSchemaTransform {
  let message: externalTransforms.SchemaTransformPayload;
  try {
    message = externalTransforms.SchemaTransformPayload.decode(payload);
  } catch (err) {
    throw invalidArgument("payload", `not a SchemaTransformPayload: ${(err as Error).message}`, err);
  }
  const identifier = message.identifier ?? "";
  const definition = definitions.find((d) => d.identifier === identifier);
  if (!definition) {
    throw new ExpansionError("UNIMPLEMENTED", `no SchemaTransform ${JSON.stringify(identifier)}; known: ${definitions.map((d) => d.identifier).join(", ")}`, "identifier");
  }
  if (!message.configurationSchema) throw invalidArgument("configuration_schema", "missing");
  let row: Record<string, unknown>;
  try {
    const schema = decodeSchema(runnerApi.Schema.encode(message.configurationSchema).finish());
    row = decodeFromBytes(rowCoder(schema), message.configurationRow ?? new Uint8Array(0)) as Record<string, unknown>;
  } catch (err) {
    throw invalidArgument("configuration_row", `does not decode with configuration_schema: ${(err as Error).message}`, err);
  }
  const config = readSchemaTransformConfig(definition, Object.entries(row));
  return { identifier, config, expand: (ctx) => definition.expand(config, ctx) };
}
