// Valid ExpansionRequests as Beam's SDKs send them to our service, each with the payload's schema and row kept
// apart so that fuzzers can change one and re-encode: Python's ReadFromKafka (with and without metadata) and
// WriteToKafka (Beam 2.77's payload schemas), our own URNs, and the SchemaTransform route (Beam YAML's kafka_read and
// kafka_write with the discovered config schemas, Python's managed.Read/Write with a YAML config).
import { encodeToBytes, rowCoder } from "../../src/model/coders/index.js";
import {
  array,
  decodeSchema,
  encodeSchema,
  map,
  nullable,
  schema,
  type FieldType,
  type Row,
  type RowDescription,
  type Schema,
} from "../../src/model/schema.js";
import { externalTransforms, expansionApi, runnerApi } from "../../src/model/proto/index.js";

/** How a seed's payload wraps its row: ExternalConfigurationPayload, or SchemaTransformPayload with an identifier. */
export type PayloadWrapper = { readonly kind: "external" } | { readonly kind: "schematransform"; identifier: string };

/** One valid request, in parts: `request(payload)` puts an (encoded, possibly changed) payload in place. */
export interface RequestSeed {
  readonly name: string;
  readonly urn: string;
  readonly wrapper: PayloadWrapper;
  readonly rowSchema: Schema;
  readonly row: Row;
  /** The request around a payload (transform name, inputs and the caller's components). */
  request(payload: Uint8Array, namespace?: string): expansionApi.IExpansionRequest;
  /** URNs of the subtransforms a valid expansion returns, in order. */
  readonly expectedLeaves: readonly string[];
}

export const URNS = Object.freeze({
  READ: "beam:transform:org.apache.beam:kafka_read_without_metadata:v1",
  READ_WITH_METADATA: "beam:transform:org.apache.beam:kafka_read_with_metadata:v1",
  WRITE: "beam:transform:org.apache.beam:kafka_write:v1",
  WRITE_WITH_HEADERS: "beam:transform:org.apache.beam:kafka_write_with_headers:v1",
  OUR_READ: "beam:transform:kafka_read:v1",
  OUR_WRITE: "beam:transform:kafka_write:v1",
  SCHEMA_TRANSFORM: "beam:expansion:payload:schematransform:v1",
  ST_KAFKA_READ: "beam:schematransform:org.apache.beam:kafka_read:v1",
  ST_KAFKA_WRITE: "beam:schematransform:org.apache.beam:kafka_write:v1",
  MANAGED: "beam:transform:managed:v1",
});

/**
 * A schema with a fixed id: the builder (and discovery) hand out a fresh UUID each time, which would make the
 * request bytes, and so any byte-level mutation of them, differ from run to run.
 */
function fixedSchema(id: string, fields: Parameters<typeof schema>[0]): Schema {
  return { ...schema(fields), id };
}

const IMPULSE = "beam:transform:impulse:v1";
const PARDO = "beam:transform:pardo:v1";
const BYTES_DESERIALIZER = "org.apache.kafka.common.serialization.ByteArrayDeserializer";
const BYTES_SERIALIZER = "org.apache.kafka.common.serialization.ByteArraySerializer";

/** Beam Python 2.77's ReadFromKafkaSchema, the field order and types Python sends. */
export const PYTHON_READ_FIELDS: RowDescription = Object.freeze({
  consumer_config: map("string", "string"),
  topics: array("string"),
  key_deserializer: "string",
  value_deserializer: "string",
  start_read_time: nullable("int64"),
  max_num_records: nullable("int64"),
  max_read_time: nullable("int64"),
  commit_offset_in_finalize: "boolean",
  timestamp_policy: "string",
  consumer_polling_timeout: nullable("int64"),
  redistribute: nullable("boolean"),
  redistribute_num_keys: nullable("int32"),
  allow_duplicates: nullable("boolean"),
  dynamic_read_poll_interval_seconds: nullable("int64"),
  consumer_factory_fn_class: nullable("string"),
  consumer_factory_fn_params: nullable(map("string", "string")),
});
export const PYTHON_READ_SCHEMA = fixedSchema("python-read-schema", PYTHON_READ_FIELDS);

export function pythonReadRow(bootstrap: string, topic: string, maxNumRecords: bigint | null = 1000n): Row {
  return {
    consumer_config: new Map([
      ["bootstrap.servers", bootstrap],
      ["auto.offset.reset", "earliest"],
    ]),
    topics: [topic],
    key_deserializer: BYTES_DESERIALIZER,
    value_deserializer: BYTES_DESERIALIZER,
    start_read_time: null,
    max_num_records: maxNumRecords,
    max_read_time: null,
    commit_offset_in_finalize: false,
    timestamp_policy: "ProcessingTime",
    consumer_polling_timeout: 2n,
    redistribute: false,
    redistribute_num_keys: 0,
    allow_duplicates: false,
    dynamic_read_poll_interval_seconds: null,
    consumer_factory_fn_class: null,
    consumer_factory_fn_params: null,
  };
}

/** Beam Python 2.77's WriteToKafkaSchema. */
export const PYTHON_WRITE_SCHEMA = fixedSchema("python-write-schema", {
  producer_config: map("string", "string"),
  topic: "string",
  key_serializer: "string",
  value_serializer: "string",
});

export function pythonWriteRow(bootstrap: string, topic: string): Row {
  return {
    producer_config: new Map([["bootstrap.servers", bootstrap]]),
    topic,
    key_serializer: BYTES_SERIALIZER,
    value_serializer: BYTES_SERIALIZER,
  };
}

/** The payload bytes of a row under a wrapper. */
export function encodePayload(wrapper: PayloadWrapper, rowSchema: Schema, row: Row): Uint8Array {
  const schemaProto = runnerApi.Schema.decode(encodeSchema(rowSchema));
  const rowBytes = encodeToBytes(rowCoder(rowSchema), row);
  return wrapper.kind === "external"
    ? externalTransforms.ExternalConfigurationPayload.encode({ schema: schemaProto, payload: rowBytes }).finish()
    : externalTransforms.SchemaTransformPayload.encode({
        identifier: wrapper.identifier,
        configurationSchema: schemaProto,
        configurationRow: rowBytes,
      }).finish();
}

export function encodeRequest(request: expansionApi.IExpansionRequest): Uint8Array {
  return expansionApi.ExpansionRequest.encode(request).finish();
}

/** The caller's input PCollection as Python declares it: bounded, global window, with the given element coder. */
function pythonInput(elementCoder: runnerApi.ICoder, extraCoders: Record<string, runnerApi.ICoder> = {}) {
  const components: runnerApi.IComponents = {
    pcollections: {
      ref_PCollection_PCollection_1: {
        uniqueName: "Create/Map(decode).None",
        coderId: "ref_Coder_Element_1",
        isBounded: runnerApi.IsBounded.Enum.BOUNDED,
        windowingStrategyId: "ref_Windowing_Windowing_1",
      },
    },
    coders: {
      ref_Coder_Element_1: elementCoder,
      ref_Coder_BytesCoder_1: { spec: { urn: "beam:coder:bytes:v1" } },
      ref_Coder_GlobalWindowCoder_1: { spec: { urn: "beam:coder:global_window:v1" } },
      ...extraCoders,
    },
    windowingStrategies: {
      ref_Windowing_Windowing_1: {
        windowFn: { urn: "beam:window_fn:global_windows:v1" },
        mergeStatus: runnerApi.MergeStatus.Enum.NON_MERGING,
        windowCoderId: "ref_Coder_GlobalWindowCoder_1",
        trigger: { default: {} },
        accumulationMode: runnerApi.AccumulationMode.Enum.DISCARDING,
        outputTime: runnerApi.OutputTime.Enum.END_OF_WINDOW,
        closingBehavior: runnerApi.ClosingBehavior.Enum.EMIT_IF_NONEMPTY,
        onTimeBehavior: runnerApi.OnTimeBehavior.Enum.FIRE_IF_NONEMPTY,
        environmentId: "ref_Environment_default_environment_1",
      },
    },
    environments: { ref_Environment_default_environment_1: { urn: "beam:env:docker:v1" } },
  };
  return { inputs: { "0": "ref_PCollection_PCollection_1" }, components };
}

function requestBuilder(
  urn: string,
  uniqueName: string,
  input?: ReturnType<typeof pythonInput>,
): RequestSeed["request"] {
  return (payload, namespace = "external_1") => ({
    namespace,
    transform: { uniqueName, spec: { urn, payload }, ...(input ? { inputs: input.inputs } : {}) },
    components: input?.components ?? {},
  });
}

/** A discovered SchemaTransform config schema (DiscoverSchemaTransform's `config_schema`), as a Schema. */
export type DiscoveredSchemas = ReadonlyMap<string, Schema>;

/** A row of a discovered schema: every field present, null unless given (Python's rearranged payload builder). */
function discoveredRow(sch: Schema, values: Row): Row {
  return Object.fromEntries(sch.fields.map((f) => [f.name, values[f.name] ?? null]));
}

/** Every seed; the SchemaTransform ones use the schemas `serve` reported in discovery. */
export function expansionSeeds(bootstrap: string, discovered: DiscoveredSchemas): RequestSeed[] {
  const external = { kind: "external" } as const;
  const kv = pythonInput({
    spec: { urn: "beam:coder:kv:v1" },
    componentCoderIds: ["ref_Coder_BytesCoder_1", "ref_Coder_BytesCoder_1"],
  });
  const headersRow = fixedSchema("headers-row", {
    key: "bytes",
    value: "bytes",
    topic: nullable("string"),
    partition: nullable("int32"),
  });
  const rows = pythonInput({ spec: { urn: "beam:coder:row:v1", payload: encodeSchema(headersRow) } });
  const rawRows = pythonInput({
    spec: { urn: "beam:coder:row:v1", payload: encodeSchema(fixedSchema("raw-row", { payload: "bytes" })) },
  });
  const readLeaves = [IMPULSE, PARDO, PARDO];
  const seeds: RequestSeed[] = [
    {
      name: "python ReadFromKafka",
      urn: URNS.READ,
      wrapper: external,
      rowSchema: PYTHON_READ_SCHEMA,
      row: pythonReadRow(bootstrap, "events"),
      request: requestBuilder(URNS.READ, "ReadFromKafka"),
      expectedLeaves: readLeaves,
    },
    {
      name: "python ReadFromKafka(with_metadata=True)",
      urn: URNS.READ_WITH_METADATA,
      wrapper: external,
      rowSchema: PYTHON_READ_SCHEMA,
      row: { ...pythonReadRow(bootstrap, "events", null), timestamp_policy: "CreateTime" },
      request: requestBuilder(URNS.READ_WITH_METADATA, "ReadFromKafka"),
      expectedLeaves: readLeaves,
    },
    {
      name: "our kafka_read (topic_partitions, stop_at_end_offsets)",
      urn: URNS.OUR_READ,
      wrapper: external,
      rowSchema: fixedSchema("our-read-schema", {
        consumer_config: map("string", "string"),
        topic_partitions: array("string"),
        stop_at_end_offsets: "boolean",
        with_metadata: "boolean",
      }),
      row: {
        consumer_config: new Map([["bootstrap.servers", bootstrap]]),
        topic_partitions: ["events:0", "events:1"],
        stop_at_end_offsets: true,
        with_metadata: false,
      },
      request: requestBuilder(URNS.OUR_READ, "ReadFromKafka"),
      expectedLeaves: readLeaves,
    },
    {
      name: "python WriteToKafka",
      urn: URNS.WRITE,
      wrapper: external,
      rowSchema: PYTHON_WRITE_SCHEMA,
      row: pythonWriteRow(bootstrap, "out"),
      request: requestBuilder(URNS.WRITE, "WriteToKafka", kv),
      expectedLeaves: [PARDO],
    },
    {
      name: "python WriteToKafka with headers",
      urn: URNS.WRITE_WITH_HEADERS,
      wrapper: external,
      rowSchema: PYTHON_WRITE_SCHEMA,
      row: pythonWriteRow(bootstrap, "out"),
      request: requestBuilder(URNS.WRITE_WITH_HEADERS, "WriteToKafka", rows),
      expectedLeaves: [PARDO],
    },
    {
      name: "our kafka_write, exactly once",
      urn: URNS.OUR_WRITE,
      wrapper: external,
      rowSchema: fixedSchema("our-write-schema", {
        producer_config: map("string", "string"),
        topic: "string",
        exactly_once_shards: "int64",
        sink_group_id: "string",
      }),
      row: {
        producer_config: new Map([
          ["bootstrap.servers", bootstrap],
          ["transactional.id", "fuzz-tx"],
        ]),
        topic: "out",
        exactly_once_shards: 4n,
        sink_group_id: "fuzz-sink",
      },
      request: requestBuilder(URNS.OUR_WRITE, "WriteToKafka", kv),
      expectedLeaves: [PARDO, "beam:transform:group_by_key:v1", PARDO],
    },
  ];
  const stRead = discovered.get(URNS.ST_KAFKA_READ);
  const stWrite = discovered.get(URNS.ST_KAFKA_WRITE);
  const managed = discovered.get(URNS.MANAGED);
  if (!stRead || !stWrite || !managed)
    throw new Error(`discovery lacks a Kafka SchemaTransform: ${[...discovered.keys()]}`);
  seeds.push(
    {
      name: "YAML kafka_read",
      urn: URNS.SCHEMA_TRANSFORM,
      wrapper: { kind: "schematransform", identifier: URNS.ST_KAFKA_READ },
      rowSchema: stRead,
      row: discoveredRow(stRead, { bootstrap_servers: bootstrap, topic: "events", format: "RAW" }),
      request: requestBuilder(URNS.SCHEMA_TRANSFORM, "ReadFromKafka"),
      expectedLeaves: [IMPULSE, PARDO, PARDO, PARDO],
    },
    {
      name: "YAML kafka_write",
      urn: URNS.SCHEMA_TRANSFORM,
      wrapper: { kind: "schematransform", identifier: URNS.ST_KAFKA_WRITE },
      rowSchema: stWrite,
      row: discoveredRow(stWrite, { bootstrap_servers: bootstrap, topic: "out", format: "RAW" }),
      request: (payload, namespace) => {
        const base = requestBuilder(URNS.SCHEMA_TRANSFORM, "WriteToKafka", rawRows)(payload, namespace);
        return { ...base, transform: { ...base.transform, inputs: { input: "ref_PCollection_PCollection_1" } } };
      },
      expectedLeaves: [PARDO, PARDO],
    },
    {
      name: "python managed.Read(KAFKA)",
      urn: URNS.SCHEMA_TRANSFORM,
      wrapper: { kind: "schematransform", identifier: URNS.MANAGED },
      rowSchema: managed,
      row: discoveredRow(managed, {
        transform_identifier: URNS.ST_KAFKA_READ,
        config: `bootstrap_servers: ${bootstrap}\nformat: RAW\ntopic: events\n`,
      }),
      request: requestBuilder(URNS.SCHEMA_TRANSFORM, "Managed"),
      expectedLeaves: [IMPULSE, PARDO, PARDO, PARDO],
    },
  );
  return seeds;
}

/** The seed's request, encoded, with its own payload. */
export function seedRequest(seed: RequestSeed, namespace?: string): expansionApi.IExpansionRequest {
  return seed.request(encodePayload(seed.wrapper, seed.rowSchema, seed.row), namespace);
}

/** The discovered config schemas in a DiscoverSchemaTransformResponse. */
export function discoveredSchemas(response: expansionApi.DiscoverSchemaTransformResponse): DiscoveredSchemas {
  const out = new Map<string, Schema>();
  for (const [id, config] of Object.entries(response.schemaTransformConfigs ?? {})) {
    // Discovery gives each schema (and row type inside) a fresh id: fixed ones keep the seeds' bytes the same
    // from run to run.
    if (config.configSchema)
      out.set(id, withFixedIds(decodeSchema(runnerApi.Schema.encode(config.configSchema).finish()), id));
  }
  return out;
}

/** The schema with ids derived from `id` and the field path, at every level. */
function withFixedIds(sch: Schema, id: string): Schema {
  const fixType = (type: FieldType, path: string): FieldType => {
    if (type.rowType) return { ...type, rowType: { schema: withFixedIds(type.rowType.schema, path) } };
    if (type.arrayType) return { ...type, arrayType: { elementType: fixType(type.arrayType.elementType, path) } };
    if (type.iterableType)
      return { ...type, iterableType: { elementType: fixType(type.iterableType.elementType, path) } };
    if (type.mapType)
      return {
        ...type,
        mapType: { keyType: fixType(type.mapType.keyType, path), valueType: fixType(type.mapType.valueType, path) },
      };
    return type;
  };
  return { ...sch, id, fields: sch.fields.map((f) => ({ ...f, type: fixType(f.type, `${id}/${f.name}`) })) };
}

/** The URNs of a response's subtransforms, in order: what a valid expansion is checked by. */
export function leafUrns(response: expansionApi.ExpansionResponse): string[] {
  const transforms = response.components?.transforms ?? {};
  return (response.transform?.subtransforms ?? []).map((id) => transforms[id]?.spec?.urn ?? `(missing ${id})`);
}
