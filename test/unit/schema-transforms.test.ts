// SchemaTransforms (Beam YAML, Python's managed.Read/Write(KAFKA)): discovery schemas, payload decoding, the
// expanded graphs, the JSON-schema mapping, the format DoFns, and errors that name the field.
import * as assert from "uvu/assert";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { pathToFileURL } from "node:url";
import { suite } from "../harness.js";
import { expand, kafkaTransformDefinitions, TransformRegistry, ExpansionError } from "../../src/expansion/index.js";
import {
  discoverSchemaTransforms,
  kafkaSchemaTransformDefinitions,
  SCHEMA_TRANSFORM_IDS,
  SCHEMA_TRANSFORM_PAYLOAD_URN,
} from "../../src/expansion/schematransform/index.js";
import { decodeFromBytes, encodeToBytes, rowCoder } from "../../src/model/coders/index.js";
import {
  decodeSchema,
  encodeSchema,
  fieldTypeKind,
  map,
  schema,
  type FieldType,
  type Schema,
} from "../../src/model/schema.js";
import { externalTransforms, runnerApi, type expansionApi } from "../../src/model/proto/index.js";
import { decodeDoFnPayload, type DoFnPayload } from "../../src/model/dofn-payload.js";
import {
  avroRowSchema,
  parseAvroSchema,
  rowToAvroBytes,
  parseJsonSchema,
  rowSchemaOf,
  jsonBytesToRow,
  rowToJsonBytes,
  schemaTransformDoFnFactories,
  SCHEMATRANSFORM_DOFN_NAMES,
  JsonFormatError,
} from "../../src/kafka/schematransform/index.js";

const s = suite("schema transforms");
const registry = new TransformRegistry(kafkaTransformDefinitions());
const environment = { kind: "process", command: "/opt/kbt/bin/kafka-beam-ts-worker" } as const;
const options = { registry, environment };
const discovered = discoverSchemaTransforms(kafkaSchemaTransformDefinitions());

const ATOMIC_NAMES = [
  "UNSPECIFIED",
  "BYTE",
  "INT16",
  "INT32",
  "INT64",
  "FLOAT",
  "DOUBLE",
  "STRING",
  "BOOLEAN",
  "BYTES",
];

/** A field type as compact text: STRING, INT32?, MAP<STRING,STRING>?, ROW(output STRING)?, ARRAY<INT64>. */
function typeText(type: FieldType): string {
  const k = fieldTypeKind(type);
  const base =
    k.kind === "atomic"
      ? ATOMIC_NAMES[k.atomic]!
      : k.kind === "map"
        ? `MAP<${typeText(k.key)},${typeText(k.value)}>`
        : k.kind === "array" || k.kind === "iterable"
          ? `ARRAY<${typeText(k.element)}>`
          : k.kind === "row"
            ? `ROW(${k.schema.fields.map((f) => `${f.name} ${typeText(f.type)}`).join(", ")})`
            : `LOGICAL(${(k as { logical: { urn: string } }).logical.urn})`;
  return type.nullable ? `${base}?` : base;
}

function fieldsText(sch: Schema): string[] {
  return sch.fields.map((f) => `${f.name} ${typeText(f.type)}`);
}

function discoveredSchema(id: string): Schema {
  return decodeSchema(runnerApi.Schema.encode(discovered[id]!.configSchema!).finish());
}

/** A SchemaTransformPayload as Python's rearranged payload builder sends it: the discovered schema, all fields. */
function stPayload(id: string, values: Record<string, unknown>): Uint8Array {
  const sch = discoveredSchema(id);
  const row = Object.fromEntries(sch.fields.map((f) => [f.name, values[f.name] ?? null]));
  return externalTransforms.SchemaTransformPayload.encode({
    identifier: id,
    configurationSchema: runnerApi.Schema.decode(encodeSchema(sch)),
    configurationRow: encodeToBytes(rowCoder(sch), row),
  }).finish();
}

/** A Python-built payload: schema inferred from the kwargs (ints as INT64, no nullability), not rearranged. */
function inferredPayload(
  id: string,
  fields: Parameters<typeof schema>[0],
  values: Record<string, unknown>,
): Uint8Array {
  const sch = schema(fields);
  return externalTransforms.SchemaTransformPayload.encode({
    identifier: id,
    configurationSchema: runnerApi.Schema.decode(encodeSchema(sch)),
    configurationRow: encodeToBytes(rowCoder(sch), values),
  }).finish();
}

const INPUT_SCHEMA = schema({ payload: "bytes" });
const JSON_INPUT_SCHEMA = schema({ name: "string", n: "int64", score: "double", ok: "boolean" });

function request(payload: Uint8Array, input?: Schema, coderUrn = "beam:coder:row:v1"): expansionApi.IExpansionRequest {
  const transform: runnerApi.IPTransform = {
    uniqueName: "Managed",
    spec: { urn: SCHEMA_TRANSFORM_PAYLOAD_URN, payload },
  };
  if (!input) return { namespace: "external_3", transform, components: {} };
  return {
    namespace: "external_3",
    transform: { ...transform, inputs: { input: "ref_PCollection_7" } },
    components: {
      pcollections: {
        ref_PCollection_7: {
          uniqueName: "rows",
          coderId: "ref_Coder_RowCoder_1",
          isBounded: runnerApi.IsBounded.Enum.BOUNDED,
          windowingStrategyId: "ref_Windowing_1",
        },
      },
      coders: { ref_Coder_RowCoder_1: { spec: { urn: coderUrn, payload: encodeSchema(input) } } },
      windowingStrategies: { ref_Windowing_1: {} },
    },
  };
}

function expectError(fn: () => unknown, code: string, pattern: RegExp): void {
  try {
    fn();
  } catch (err) {
    assert.instance(err, ExpansionError, `expected an ExpansionError, got ${String(err)}`);
    assert.is((err as ExpansionError).code, code, (err as Error).message);
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable("expected an ExpansionError");
}

const BASE_READ = { bootstrap_servers: "127.0.0.1:9092", topic: "events", format: "RAW" };

interface Expanded {
  response: expansionApi.IExpansionResponse;
  leaves: runnerApi.IPTransform[];
  fn(i: number): DoFnPayload;
  outputSchema(tag: string): Schema;
}

function expanded(req: expansionApi.IExpansionRequest): Expanded {
  const { response } = expand(req, options);
  const c = response.components!;
  const leaves = response.transform!.subtransforms!.map((id) => c.transforms![id]!);
  return {
    response,
    leaves,
    fn: (i) => decodeDoFnPayload(runnerApi.ParDoPayload.decode(leaves[i]!.spec!.payload!).doFn!.payload!),
    outputSchema: (tag) => {
      const coder = c.coders![c.pcollections![response.transform!.outputs![tag]!]!.coderId!]!;
      assert.is(coder.spec!.urn, "beam:coder:row:v1");
      return decodeSchema(coder.spec!.payload!);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------

s.test("discovery: kafka_read, kafka_write and managed, with Java's field names, types and nullability", () => {
  assert.equal(Object.keys(discovered).sort(), [
    "beam:schematransform:org.apache.beam:kafka_read:v1",
    "beam:schematransform:org.apache.beam:kafka_write:v1",
    "beam:transform:managed:v1",
  ]);
  assert.equal(fieldsText(discoveredSchema(SCHEMA_TRANSFORM_IDS.KAFKA_READ)), [
    "allow_duplicates BOOLEAN?",
    "auto_offset_reset_config STRING?",
    "bootstrap_servers STRING",
    "confluent_schema_registry_subject STRING?",
    "confluent_schema_registry_url STRING?",
    "consumer_config_updates MAP<STRING,STRING>?",
    "error_handling ROW(output STRING)?",
    "file_descriptor_path STRING?",
    "format STRING?",
    "max_read_time_seconds INT32?",
    "message_name STRING?",
    "offset_deduplication BOOLEAN?",
    "redistribute_by_record_key BOOLEAN?",
    "redistribute_num_keys INT32?",
    "redistributed BOOLEAN?",
    "schema STRING?",
    "topic STRING",
  ]);
  assert.equal(fieldsText(discoveredSchema(SCHEMA_TRANSFORM_IDS.KAFKA_WRITE)), [
    "bootstrap_servers STRING",
    "error_handling ROW(output STRING)?",
    "file_descriptor_path STRING?",
    "format STRING",
    "message_name STRING?",
    "producer_config_updates MAP<STRING,STRING>?",
    "schema STRING?",
    "topic STRING",
  ]);
  assert.equal(fieldsText(discoveredSchema(SCHEMA_TRANSFORM_IDS.MANAGED)), [
    "config STRING?",
    "config_url STRING?",
    "transform_identifier STRING",
  ]);
  const read = discovered[SCHEMA_TRANSFORM_IDS.KAFKA_READ]!;
  assert.equal([read.inputPcollectionNames, read.outputPcollectionNames], [[], ["output", "errors"]]);
  const write = discovered[SCHEMA_TRANSFORM_IDS.KAFKA_WRITE]!;
  assert.equal([write.inputPcollectionNames, write.outputPcollectionNames], [["input"], []]);
  assert.ok(read.description && write.description && discovered[SCHEMA_TRANSFORM_IDS.MANAGED]!.description);
  assert.ok(
    discoveredSchema(SCHEMA_TRANSFORM_IDS.KAFKA_READ).fields.every((f) => f.description),
    "every field is described",
  );
  const again = discoverSchemaTransforms(kafkaSchemaTransformDefinitions());
  assert.is.not(
    again[SCHEMA_TRANSFORM_IDS.KAFKA_READ]!.configSchema!.id,
    read.configSchema!.id,
    "fresh schema ids per discovery",
  );
});

s.test(
  "kafka_read RAW: Impulse → descriptors → SDF read (with metadata) → ToRows; one output `output` of {payload: BYTES}",
  () => {
    const e = expanded(request(stPayload(SCHEMA_TRANSFORM_IDS.KAFKA_READ, BASE_READ)));
    const c = e.response.components!;
    for (const id of [
      ...Object.keys(c.transforms!),
      ...Object.keys(c.pcollections!),
      ...Object.keys(c.coders!),
      ...Object.keys(c.environments!),
    ]) {
      assert.ok(id.startsWith("external_3"), `${id} is in the namespace`);
    }
    assert.equal(
      e.leaves.map((t) => t.spec!.urn),
      ["beam:transform:impulse:v1", "beam:transform:pardo:v1", "beam:transform:pardo:v1", "beam:transform:pardo:v1"],
    );
    assert.equal(Object.keys(e.response.transform!.outputs!), ["output"]);
    assert.equal(fieldsText(e.outputSchema("output")), ["payload BYTES"]);
    const read = e.fn(2).read as {
      consumerConfig: Record<string, string>;
      topics: string[];
      withMetadata: boolean;
      commitOffsetsInFinalize: boolean;
      maxReadTimeMs: number | null;
    };
    assert.equal(read.consumerConfig, { "bootstrap.servers": "127.0.0.1:9092", "auto.offset.reset": "latest" });
    assert.equal(
      [read.topics, read.withMetadata, read.commitOffsetsInFinalize, read.maxReadTimeMs],
      [["events"], true, false, null],
    );
    const toRows = e.fn(3);
    assert.equal(toRows, {
      fn: SCHEMATRANSFORM_DOFN_NAMES.RECORDS_TO_ROWS,
      format: "RAW",
      json: null,
      errorOutput: null,
      mainOutput: "out",
    });
    assert.equal(e.leaves[3]!.inputs, { in: e.leaves[2]!.outputs!.out });
    assert.is(c.pcollections![e.response.transform!.outputs!.output!]!.isBounded, runnerApi.IsBounded.Enum.UNBOUNDED);
    assert.equal(e.response.requirements, ["beam:requirement:pardo:splittable_dofn:v1"]);
  },
);

s.test(
  "kafka_read: max_read_time_seconds bounds the read; auto_offset_reset_config and a group map onto the consumer",
  () => {
    const e = expanded(
      request(
        stPayload(SCHEMA_TRANSFORM_IDS.KAFKA_READ, {
          ...BASE_READ,
          max_read_time_seconds: 30,
          auto_offset_reset_config: "earliest",
          consumer_config_updates: new Map([
            ["group.id", "g1"],
            ["fetch.max.bytes", "1048576"],
          ]),
        }),
      ),
    );
    const read = e.fn(2).read as {
      consumerConfig: Record<string, string>;
      commitOffsetsInFinalize: boolean;
      maxReadTimeMs: number;
    };
    assert.equal(read.consumerConfig, {
      "group.id": "g1",
      "fetch.max.bytes": "1048576",
      "bootstrap.servers": "127.0.0.1:9092",
      "auto.offset.reset": "earliest",
    });
    assert.is(read.maxReadTimeMs, 30_000);
    assert.is(read.commitOffsetsInFinalize, true, "a group's offsets are committed, as Java's auto-commit would");
    assert.is(
      e.response.components!.pcollections![e.response.transform!.outputs!.output!]!.isBounded,
      runnerApi.IsBounded.Enum.BOUNDED,
    );
    assert.ok(e.response.requirements!.includes("beam:requirement:pardo:finalization:v1"));
  },
);

s.test(
  "kafka_read JSON with error_handling: the row schema from JSON-schema, and a second output of dead letters",
  () => {
    const jsonSchema = JSON.stringify({
      type: "object",
      required: ["id", "name"],
      properties: {
        id: { type: "integer" },
        name: { type: "string" },
        score: { type: "number" },
        active: { type: "boolean" },
        tags: { type: "array", items: { type: "string" } },
        address: {
          type: "object",
          required: ["city"],
          properties: { city: { type: "string" }, zip: { type: ["string", "null"] } },
        },
      },
    });
    const e = expanded(
      request(
        stPayload(SCHEMA_TRANSFORM_IDS.KAFKA_READ, {
          ...BASE_READ,
          format: "JSON",
          schema: jsonSchema,
          error_handling: { output: "bad" },
        }),
      ),
    );
    assert.equal(Object.keys(e.response.transform!.outputs!), ["output", "bad"]);
    assert.equal(fieldsText(e.outputSchema("output")), [
      "id INT64",
      "name STRING",
      "score DOUBLE?",
      "active BOOLEAN?",
      "tags ARRAY<STRING>?",
      "address ROW(city STRING, zip STRING?)?",
    ]);
    assert.equal(fieldsText(e.outputSchema("bad")), ["failed_row BYTES", "error_message STRING"]);
    const toRows = e.fn(3);
    assert.is(toRows.errorOutput, "errors");
    assert.equal(Object.keys(e.leaves[3]!.outputs!), ["out", "errors"]);
    assert.is(e.leaves[3]!.outputs!.errors, e.response.transform!.outputs!.bad);
  },
);

s.test("kafka_read redistributed: the records cross the redistribute composite before ToRows", () => {
  const e = expanded(
    request(
      stPayload(SCHEMA_TRANSFORM_IDS.KAFKA_READ, {
        ...BASE_READ,
        redistributed: true,
        redistribute_num_keys: 6,
        redistribute_by_record_key: true,
        allow_duplicates: true,
      }),
    ),
  );
  const c = e.response.components!;
  assert.equal(
    e.leaves.map((t) => t.spec!.urn),
    [
      "beam:transform:impulse:v1",
      "beam:transform:pardo:v1",
      "beam:transform:pardo:v1",
      "beam:transform:redistribute_arbitrarily:v1",
      "beam:transform:pardo:v1",
    ],
  );
  const composite = e.leaves[3]!;
  assert.equal(composite.inputs, { in: e.leaves[2]!.outputs!.out });
  assert.equal(e.leaves[4]!.inputs, { in: composite.outputs!.out }, "ToRows takes the redistributed records");
  const assign = c.transforms![composite.subtransforms![0]!]!;
  assert.equal(decodeDoFnPayload(runnerApi.ParDoPayload.decode(assign.spec!.payload!).doFn!.payload!), {
    fn: "kafka_read_redistribute_key",
    redistribute: { numKeys: 6, byRecordKey: true },
  });
});

s.test("kafka_read AVRO (also the default format): the Avro schema's row type, the record in the DoFn payload", () => {
  const avro = JSON.stringify({
    type: "record",
    name: "Event",
    fields: [
      { name: "id", type: "long" },
      { name: "name", type: ["null", "string"] },
    ],
  });
  for (const format of ["AVRO", null]) {
    const e = expanded(request(stPayload(SCHEMA_TRANSFORM_IDS.KAFKA_READ, { ...BASE_READ, format, schema: avro })));
    assert.equal(fieldsText(e.outputSchema("output")), ["id INT64", "name STRING?"]);
    const toRows = e.fn(3);
    assert.is(toRows.format, "AVRO");
    assert.equal(toRows.avro, {
      kind: "record",
      name: "Event",
      fields: [
        { name: "id", type: { kind: "long" } },
        { name: "name", type: { kind: "nullable", type: { kind: "string" }, nullIndex: 0 } },
      ],
    });
    // The worker builds it from that payload and decodes Avro values: id 5 (0a), name "ab" (02 04 61 62).
    const out: unknown[] = [];
    build(toRows).process({ value: Buffer.from("0a02046162", "hex") }, {
      output: (row: unknown) => void out.push(row),
    } as never);
    assert.equal(out, [{ id: 5n, name: "ab" }]);
  }
});

s.test("kafka_write AVRO: the Avro record derived from the input rows goes to the write step", () => {
  const e = expanded(
    request(
      stPayload(SCHEMA_TRANSFORM_IDS.KAFKA_WRITE, { bootstrap_servers: "h:1", topic: "out", format: "AVRO" }),
      JSON_INPUT_SCHEMA,
    ),
  );
  const toRecords = e.fn(0);
  assert.is(toRecords.format, "AVRO");
  assert.is((toRecords.avro as { name: string }).name, "topLevelRecord");
  const out: { key: null; value: Uint8Array }[] = [];
  build(toRecords).process({ name: "x", n: 3n, score: 0.5, ok: true }, {
    output: (record: { key: null; value: Uint8Array }) => void out.push(record),
  } as never);
  // name "x" (02 78), n 3 (06), score 0.5 (LE double), ok true (01).
  assert.equal(
    out.map((r) => [r.key, Buffer.from(r.value).toString("hex")]),
    [[null, "027806000000000000e03f01"]],
  );
});

s.test("kafka_read: a payload built from Python kwargs (INT64 ints, other spellings) is accepted", () => {
  const e = expanded(
    request(
      inferredPayload(
        SCHEMA_TRANSFORM_IDS.KAFKA_READ,
        { bootstrapServers: "string", topic: "string", format: "string", max_read_time_seconds: "int64" },
        { bootstrapServers: "h:1", topic: "t", format: "RAW", max_read_time_seconds: 5n },
      ),
    ),
  );
  assert.is((e.fn(2).read as { maxReadTimeMs: number }).maxReadTimeMs, 5000);
});

s.test("kafka_read: bad values are INVALID_ARGUMENT naming the field", () => {
  const bad = (values: Record<string, unknown>) => () =>
    expand(request(stPayload(SCHEMA_TRANSFORM_IDS.KAFKA_READ, { ...BASE_READ, ...values })), options);
  expectError(
    bad({ format: "AVRO", schema: "{}" }),
    "INVALID_ARGUMENT",
    /^schema: not a usable Avro schema: \$: has no "type"/,
  );
  expectError(
    bad({ format: null }),
    "INVALID_ARGUMENT",
    /^schema: required with format AVRO \(the read's default format, as in Beam Java\)/,
  );
  expectError(
    bad({ format: "PROTO" }),
    "INVALID_ARGUMENT",
    /^format: PROTO is not supported by kafka-beam-ts \(supported: RAW, JSON, AVRO\)/,
  );
  expectError(bad({ format: "XML" }), "INVALID_ARGUMENT", /^format: must be one of RAW, JSON, AVRO, PROTO/);
  expectError(bad({ format: "JSON" }), "INVALID_ARGUMENT", /^schema: required with format JSON/);
  expectError(
    bad({ format: "JSON", schema: "{not json" }),
    "INVALID_ARGUMENT",
    /^schema: not a usable JSON schema: \$: not valid JSON/,
  );
  expectError(
    bad({
      format: "JSON",
      schema: '{"type":"object","properties":{"a":{"type":"string","format":"x"},"b":{"$ref":"#/x"}}}',
    }),
    "INVALID_ARGUMENT",
    /^schema: not a usable JSON schema: \$\.b: "\$ref" is not supported/,
  );
  expectError(
    bad({ format: "JSON", schema: '{"type":"array","items":{"type":"string"}}' }),
    "INVALID_ARGUMENT",
    /^schema: .*the root must be an object schema/,
  );
  expectError(bad({ schema: '{"type":"object"}' }), "INVALID_ARGUMENT", /^schema: a RAW read takes no schema/);
  expectError(
    bad({ confluent_schema_registry_url: "http://sr:8081" }),
    "INVALID_ARGUMENT",
    /^confluent_schema_registry_url: Confluent Schema Registry is not supported/,
  );
  expectError(bad({ message_name: "M" }), "INVALID_ARGUMENT", /^message_name: is only used with format PROTO/);
  expectError(
    bad({ offset_deduplication: true }),
    "INVALID_ARGUMENT",
    /^offset_deduplication: offset deduplication is Dataflow's/,
  );
  expectError(
    bad({ redistribute_num_keys: 8 }),
    "INVALID_ARGUMENT",
    /^redistribute_num_keys: takes effect only with redistributed=true/,
  );
  expectError(
    bad({ redistribute_by_record_key: true }),
    "INVALID_ARGUMENT",
    /^redistribute_by_record_key: takes effect only with redistributed=true/,
  );
  expectError(
    bad({ auto_offset_reset_config: "smallest" }),
    "INVALID_ARGUMENT",
    /^auto_offset_reset_config: must be earliest or latest/,
  );
  expectError(bad({ max_read_time_seconds: -1 }), "INVALID_ARGUMENT", /^max_read_time_seconds: must be >= 0/);
  expectError(bad({ bootstrap_servers: "no-port" }), "INVALID_ARGUMENT", /^bootstrap_servers: /);
  expectError(
    bad({ consumer_config_updates: new Map([["isolation.level", "dirty"]]) }),
    "INVALID_ARGUMENT",
    /^consumer_config_updates\['isolation\.level'\]: /,
  );
  expectError(bad({ topic: "" }), "INVALID_ARGUMENT", /^topic: /);
  expectError(bad({ error_handling: { output: "" } }), "INVALID_ARGUMENT", /^error_handling\.output: /);
  expectError(
    bad({ error_handling: { output: "output" } }),
    "INVALID_ARGUMENT",
    /^error_handling\.output: "output" is already the name of the main output/,
  );
  const unknown = inferredPayload(
    SCHEMA_TRANSFORM_IDS.KAFKA_READ,
    { bootstrap_servers: "string", topic: "string", format: "string", topics: "string" },
    { bootstrap_servers: "h:1", topic: "t", format: "RAW", topics: "x" },
  );
  expectError(
    () => expand(request(unknown), options),
    "INVALID_ARGUMENT",
    /^topics: unknown field of beam:schematransform:org\.apache\.beam:kafka_read:v1; known fields: allow_duplicates, /,
  );
  const wrongType = inferredPayload(
    SCHEMA_TRANSFORM_IDS.KAFKA_READ,
    { bootstrap_servers: "string", topic: "string", format: "string", max_read_time_seconds: "string" },
    { bootstrap_servers: "h:1", topic: "t", format: "RAW", max_read_time_seconds: "10" },
  );
  expectError(
    () => expand(request(wrongType), options),
    "INVALID_ARGUMENT",
    /^max_read_time_seconds: expected an integer, got a string/,
  );
  const tooBig = inferredPayload(
    SCHEMA_TRANSFORM_IDS.KAFKA_READ,
    { bootstrap_servers: "string", topic: "string", format: "string", max_read_time_seconds: "int64" },
    { bootstrap_servers: "h:1", topic: "t", format: "RAW", max_read_time_seconds: 1n << 40n },
  );
  expectError(
    () => expand(request(tooBig), options),
    "INVALID_ARGUMENT",
    /^max_read_time_seconds: 1099511627776 is out of the INT32 range/,
  );
  const missing = inferredPayload(
    SCHEMA_TRANSFORM_IDS.KAFKA_READ,
    { topic: "string", format: "string" },
    { topic: "t", format: "RAW" },
  );
  expectError(() => expand(request(missing), options), "INVALID_ARGUMENT", /^bootstrap_servers: required field/);
  expectError(
    () => expand(request(new Uint8Array([0x0a, 0xff])), options),
    "INVALID_ARGUMENT",
    /^payload: not a SchemaTransformPayload/,
  );
  const unknownId = externalTransforms.SchemaTransformPayload.encode({
    identifier: "beam:schematransform:org.apache.beam:iceberg_read:v1",
  }).finish();
  expectError(
    () => expand(request(unknownId), options),
    "UNIMPLEMENTED",
    /no SchemaTransform "beam:schematransform:org\.apache\.beam:iceberg_read:v1"; known: .*kafka_read/,
  );
});

s.test("kafka_read: secrets in consumer_config_updates never reach the error text", () => {
  const config = new Map([
    ["security.protocol", "SASL_SSL"],
    ["sasl.mechanism", "PLAIN"],
    [
      "sasl.jaas.config",
      'org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="hunter2-secret";',
    ],
    ["ssl.truststore.type", "NOPE"],
  ]);
  try {
    expand(
      request(stPayload(SCHEMA_TRANSFORM_IDS.KAFKA_READ, { ...BASE_READ, consumer_config_updates: config })),
      options,
    );
    assert.unreachable("a bad truststore type must fail");
  } catch (err) {
    assert.instance(err, ExpansionError);
    assert.match((err as Error).message, /^consumer_config_updates\['ssl\.truststore\.type'\]/);
    assert.not.match((err as Error).message, /hunter2/);
  }
});

s.test("kafka_write RAW: caller's rows → ToRecords → kafka_write; no outputs without error_handling", () => {
  const e = expanded(
    request(
      stPayload(SCHEMA_TRANSFORM_IDS.KAFKA_WRITE, {
        bootstrap_servers: "h:1",
        topic: "out",
        format: "RAW",
        producer_config_updates: new Map([["acks", "1"]]),
      }),
      INPUT_SCHEMA,
    ),
  );
  assert.equal(
    e.leaves.map((t) => t.spec!.urn),
    ["beam:transform:pardo:v1", "beam:transform:pardo:v1"],
  );
  assert.equal(e.leaves[0]!.inputs, { in: "ref_PCollection_7" });
  assert.equal(e.fn(0), {
    fn: SCHEMATRANSFORM_DOFN_NAMES.ROWS_TO_RECORDS,
    format: "RAW",
    payloadField: "payload",
    errorOutput: null,
    mainOutput: "out",
  });
  const write = e.fn(1) as DoFnPayload & {
    write: { producerConfig: Record<string, string>; topic: string; valueFormat: string };
    input: string;
  };
  assert.equal(
    [write.fn, write.input, write.write.topic, write.write.valueFormat],
    ["kafka_write", "kv", "out", "bytes"],
  );
  assert.equal(write.write.producerConfig, { acks: "1", "bootstrap.servers": "h:1" });
  assert.equal(e.leaves[1]!.inputs, { in: e.leaves[0]!.outputs!.out });
  assert.equal(e.response.transform!.outputs, {});
  assert.equal(e.response.transform!.inputs, { input: "ref_PCollection_7" });
  const records = e.response.components!.pcollections![e.leaves[0]!.outputs!.out!]!;
  assert.is(records.windowingStrategyId, "ref_Windowing_1", "the mapping keeps the caller's windowing");
});

s.test("kafka_write JSON with error_handling: dead letters carry the input row", () => {
  const e = expanded(
    request(
      stPayload(SCHEMA_TRANSFORM_IDS.KAFKA_WRITE, {
        bootstrap_servers: "h:1",
        topic: "out",
        format: "JSON",
        error_handling: { output: "failed" },
      }),
      JSON_INPUT_SCHEMA,
    ),
  );
  assert.equal(Object.keys(e.response.transform!.outputs!), ["failed"]);
  assert.equal(fieldsText(e.outputSchema("failed")), [
    "failed_row ROW(name STRING, n INT64, score DOUBLE, ok BOOLEAN)",
    "error_message STRING",
  ]);
  assert.equal(e.fn(0), {
    fn: SCHEMATRANSFORM_DOFN_NAMES.ROWS_TO_RECORDS,
    format: "JSON",
    payloadField: null,
    errorOutput: "errors",
    mainOutput: "out",
  });
});

s.test("kafka_write: bad values and inputs name the field", () => {
  const base = { bootstrap_servers: "h:1", topic: "out", format: "RAW" };
  const bad =
    (values: Record<string, unknown>, input: Schema | undefined = INPUT_SCHEMA, coder?: string) =>
    () =>
      expand(request(stPayload(SCHEMA_TRANSFORM_IDS.KAFKA_WRITE, { ...base, ...values }), input, coder), options);
  expectError(bad({ format: "PROTO" }), "INVALID_ARGUMENT", /^format: PROTO is not supported by kafka-beam-ts/);
  expectError(
    bad({ format: "AVRO" }, schema({ m: map("int64", "string") })),
    "INVALID_ARGUMENT",
    /^inputs\[input\]: the rows have no Avro form: \$\.m: an Avro map has string keys/,
  );
  expectError(
    bad({}, JSON_INPUT_SCHEMA),
    "INVALID_ARGUMENT",
    /^input: a RAW write needs rows with one BYTES field .*the input has name: STRING, n: INT64, score: DOUBLE, ok: BOOLEAN/,
  );
  expectError(
    bad({}, INPUT_SCHEMA, "beam:coder:kv:v1"),
    "INVALID_ARGUMENT",
    /^inputs\[input\]: kafka_write takes a PCollection of Beam Rows/,
  );
  expectError(
    () => expand(request(stPayload(SCHEMA_TRANSFORM_IDS.KAFKA_WRITE, base)), options),
    "INVALID_ARGUMENT",
    /^inputs: kafka_write takes one input \(input\), got 0/,
  );
  expectError(
    bad({ producer_config_updates: new Map([["acks", "most"]]) }),
    "INVALID_ARGUMENT",
    /^producer_config_updates\['acks'\]: /,
  );
  expectError(bad({ bootstrap_servers: "" }), "INVALID_ARGUMENT", /^bootstrap_servers: /);
  expectError(
    bad({ file_descriptor_path: "/x.pb" }),
    "INVALID_ARGUMENT",
    /^file_descriptor_path: is only used with format PROTO/,
  );
});

s.test("managed: YAML config (as Python's yaml.dump writes it) dispatches to kafka_read / kafka_write", () => {
  const config =
    "auto_offset_reset_config: earliest\nbootstrap_servers: 127.0.0.1:9092\nconsumer_config_updates:\n  max.poll.records: 500\n" +
    "error_handling:\n  output: errs\nformat: RAW\nmax_read_time_seconds: 10\ntopic: events\n";
  const e = expanded(
    request(stPayload(SCHEMA_TRANSFORM_IDS.MANAGED, { transform_identifier: SCHEMA_TRANSFORM_IDS.KAFKA_READ, config })),
  );
  assert.equal(Object.keys(e.response.transform!.outputs!), ["output", "errs"]);
  const read = e.fn(2).read as { consumerConfig: Record<string, string>; maxReadTimeMs: number };
  assert.equal(read.consumerConfig, {
    "max.poll.records": "500",
    "bootstrap.servers": "127.0.0.1:9092",
    "auto.offset.reset": "earliest",
  });
  assert.is(read.maxReadTimeMs, 10_000);
  const w = expanded(
    request(
      stPayload(SCHEMA_TRANSFORM_IDS.MANAGED, {
        transform_identifier: SCHEMA_TRANSFORM_IDS.KAFKA_WRITE,
        config: "bootstrap_servers: h:1\nformat: JSON\ntopic: out\n",
      }),
      JSON_INPUT_SCHEMA,
    ),
  );
  assert.equal(w.fn(0).format, "JSON");
});

s.test("managed: config_url reads a local file (path or file: URL); remote URLs and bad configs name the field", () => {
  const dir = mkdtempSync(join(tmpdir(), "kbt-managed-"));
  try {
    const file = join(dir, "read.yaml");
    writeFileSync(file, "bootstrap_servers: h:1\nformat: RAW\ntopic: from-file\n");
    for (const url of [file, pathToFileURL(file).href]) {
      // Python's managed.Read(config_url=...) sends config=yaml.dump(None) beside it.
      const e = expanded(
        request(
          stPayload(SCHEMA_TRANSFORM_IDS.MANAGED, {
            transform_identifier: SCHEMA_TRANSFORM_IDS.KAFKA_READ,
            config: "null\n...\n",
            config_url: url,
          }),
        ),
      );
      assert.equal((e.fn(2).read as { topics: string[] }).topics, ["from-file"]);
    }
    const bad = (values: Record<string, unknown>) => () =>
      expand(
        request(
          stPayload(SCHEMA_TRANSFORM_IDS.MANAGED, { transform_identifier: SCHEMA_TRANSFORM_IDS.KAFKA_READ, ...values }),
        ),
        options,
      );
    expectError(
      bad({ config_url: "gs://bucket/read.yaml" }),
      "INVALID_ARGUMENT",
      /^config_url: only local files can be read by kafka-beam-ts, got a gs:\/\/ URL/,
    );
    expectError(
      bad({ config_url: join(dir, "missing.yaml") }),
      "INVALID_ARGUMENT",
      /^config_url: cannot read .*missing\.yaml on the expansion service's machine: ENOENT/,
    );
    expectError(
      bad({ config: "topic: t\n", config_url: file }),
      "INVALID_ARGUMENT",
      /^config_url: give config or config_url, not both/,
    );
    expectError(bad({ config: "null\n...\n" }), "INVALID_ARGUMENT", /^config: give the .*kafka_read:v1 config as YAML/);
    expectError(bad({ config: "topic: [unclosed\n" }), "INVALID_ARGUMENT", /^config: not valid YAML/);
    expectError(bad({ config: "- a\n- b\n" }), "INVALID_ARGUMENT", /^config: expected a YAML mapping/);
    expectError(
      bad({ config: "bootstrap_servers: h:1\nformat: PROTO\ntopic: t\n" }),
      "INVALID_ARGUMENT",
      /^format: PROTO is not supported/,
    );
    expectError(
      bad({ config: "bootstrap_servers: h:1\nformat: RAW\ntopic: t\ntopics: [a]\n" }),
      "INVALID_ARGUMENT",
      /^topics: unknown field/,
    );
    expectError(
      bad({ config: "bootstrap_servers: h:1\nformat: RAW\ntopic: t\nmax_read_time_seconds: soon\n" }),
      "INVALID_ARGUMENT",
      /^max_read_time_seconds: expected an integer, got a string/,
    );
    expectError(bad({ config: "format: RAW\ntopic: t\n" }), "INVALID_ARGUMENT", /^bootstrap_servers: required field/);
    expectError(
      () =>
        expand(
          request(
            stPayload(SCHEMA_TRANSFORM_IDS.MANAGED, {
              transform_identifier: "beam:schematransform:org.apache.beam:iceberg_read:v1",
              config: "table: t\n",
            }),
          ),
          options,
        ),
      "INVALID_ARGUMENT",
      /^transform_identifier: "beam:schematransform:org\.apache\.beam:iceberg_read:v1" is not served here; supported: .*kafka_read:v1, .*kafka_write:v1$/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// JSON mapping and DoFns.

s.test(
  "JSON-schema → Row schema: types, required vs nullable, nested objects and arrays; refusals name the path",
  () => {
    const type = parseJsonSchema(
      JSON.stringify({
        type: "object",
        required: ["a", "list"],
        properties: {
          a: { type: "integer" },
          list: { type: "array", items: { type: "object", required: ["x"], properties: { x: { type: "number" } } } },
          maybe: { type: ["boolean", "null"] },
          nested: { properties: { deep: { type: "array", items: { type: ["string", "null"] } } } },
        },
      }),
    );
    assert.equal(fieldsText(rowSchemaOf(type)), [
      "a INT64",
      "list ARRAY<ROW(x DOUBLE)>",
      "maybe BOOLEAN?",
      "nested ROW(deep ARRAY<STRING?>?)?",
    ]);
    const refuse = (schemaText: unknown, pattern: RegExp) => {
      try {
        parseJsonSchema(typeof schemaText === "string" ? schemaText : JSON.stringify(schemaText));
        assert.unreachable(`expected a JsonFormatError for ${JSON.stringify(schemaText)}`);
      } catch (err) {
        assert.instance(err, JsonFormatError);
        assert.match((err as Error).message, pattern);
      }
    };
    refuse(
      { type: "object", properties: { a: { type: "array" } } },
      /^\$\.a\.items: an array needs one "items" schema/,
    );
    refuse({ type: "object", properties: { a: { type: ["string", "integer"] } } }, /^\$\.a: "type" must name one type/);
    refuse({ type: "object", properties: { a: { type: "date" } } }, /^\$\.a: type "date" is not supported/);
    refuse({ type: "object", properties: { a: { anyOf: [] } } }, /^\$\.a: "anyOf" is not supported/);
    refuse({ type: "object", properties: {} }, /^\$: an object schema needs at least one property/);
    refuse(
      { type: "object", required: ["b"], properties: { a: { type: "string" } } },
      /^\$\.required: names "b", which is not a property/,
    );
  },
);

const enc = (text: string) => new TextEncoder().encode(text);
const dec = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

interface Emitted {
  main: unknown[];
  tagged: [string, unknown][];
  counters: Record<string, number>;
}

function fakeContext(): { ctx: never; out: Emitted } {
  const out: Emitted = { main: [], tagged: [], counters: {} };
  const ctx = {
    timestamp: 0n,
    output: (v: unknown) => {
      out.main.push(v);
    },
    outputTagged: (tag: string, v: unknown) => {
      out.tagged.push([tag, v]);
    },
    metrics: {
      counter: (name: string) => ({
        inc: (n = 1) => {
          out.counters[name] = (out.counters[name] ?? 0) + n;
        },
      }),
    },
  };
  return { ctx: ctx as never, out };
}

function build(payload: DoFnPayload) {
  return schemaTransformDoFnFactories[payload.fn]!(payload);
}

s.test(
  "records → rows: RAW and JSON; values that do not parse go to the error output with topic-partition@offset",
  async () => {
    const raw = build({
      fn: SCHEMATRANSFORM_DOFN_NAMES.RECORDS_TO_ROWS,
      format: "RAW",
      json: null,
      errorOutput: "errors",
      mainOutput: "out",
    });
    const r = fakeContext();
    await raw.process({ topic: "t", partition: 1, offset: 7n, key: null, value: enc("abc") }, r.ctx);
    await raw.process({ topic: "t", partition: 1, offset: 8n, key: null, value: null }, r.ctx);
    assert.equal(r.out.main, [{ payload: enc("abc") }]);
    assert.equal(r.out.tagged, [
      ["errors", { failed_row: new Uint8Array(0), error_message: "t-1@8: the record has no value (a tombstone)" }],
    ]);

    const schemaText = JSON.stringify({
      type: "object",
      required: ["id"],
      properties: {
        id: { type: "integer" },
        name: { type: "string" },
        tags: { type: "array", items: { type: "string" } },
        where: { type: "object", properties: { lat: { type: "number" } } },
      },
    });
    const json = parseJsonSchema(schemaText);
    const fn = build({
      fn: SCHEMATRANSFORM_DOFN_NAMES.RECORDS_TO_ROWS,
      format: "JSON",
      json,
      errorOutput: "errors",
      mainOutput: "out",
    });
    const j = fakeContext();
    const values = [
      '{"id": 9007199254740991, "name": "a", "tags": ["x"], "where": {"lat": 1.5}, "extra": true}',
      '{"id": 2}',
      '{"name": "no id"}',
      '{"id": 1.5}',
      '{"id": 9007199254740993}',
      "not json",
      '{"id": 3, "tags": [1]}',
    ];
    for (const [i, v] of values.entries())
      await fn.process({ topic: "t", partition: 0, offset: BigInt(i), value: enc(v) }, j.ctx);
    assert.equal(j.out.main, [
      { id: 9007199254740991n, name: "a", tags: ["x"], where: { lat: 1.5 } },
      { id: 2n, name: null, tags: null, where: null },
    ]);
    assert.equal(
      j.out.tagged.map(([tag, row]) => [tag, (row as { error_message: string }).error_message]),
      [
        ["errors", "t-0@2: $.id: required property is missing"],
        ["errors", "t-0@3: $.id: expected an integer, got the number 1.5"],
        ["errors", "t-0@4: $.id: integer 9007199254740992 is beyond ±2^53 and cannot be read exactly"],
        [
          "errors",
          `t-0@5: $: the value is not JSON: ${(() => {
            try {
              JSON.parse("not json");
            } catch (e) {
              return (e as Error).message;
            }
            return "";
          })()}`,
        ],
        ["errors", "t-0@6: $.tags[0]: expected a string, got the integer 1"],
      ],
    );
    assert.equal(dec((j.out.tagged[0]![1] as { failed_row: Uint8Array }).failed_row), '{"name": "no id"}');
    assert.equal(j.out.counters, { "Kafka-read-error-counter": 5 });
    // Every emitted row encodes with the coders the expansion puts on the PCollections.
    const rowsCoder = rowCoder(rowSchemaOf(json));
    for (const row of j.out.main)
      assert.equal(decodeFromBytes(rowsCoder, encodeToBytes(rowsCoder, row as Record<string, unknown>)), row);
  },
);

s.test(
  "records → rows AVRO: rows the row coder carries (logical types, maps, nested rows); bad values to the error output",
  async () => {
    const record = parseAvroSchema(
      JSON.stringify({
        type: "record",
        name: "R",
        fields: [
          { name: "at", type: { type: "long", logicalType: "timestamp-millis" } },
          { name: "price", type: { type: "bytes", logicalType: "decimal", precision: 6, scale: 2 } },
          { name: "attrs", type: { type: "map", values: "int" } },
          { name: "inner", type: ["null", { type: "record", name: "I", fields: [{ name: "f", type: "float" }] }] },
        ],
      }),
    );
    const fn = build({
      fn: SCHEMATRANSFORM_DOFN_NAMES.RECORDS_TO_ROWS,
      format: "AVRO",
      json: null,
      avro: record,
      errorOutput: "errors",
      mainOutput: "out",
    });
    const good = {
      at: 1_764_000_000_000n,
      price: { unscaled: 1999n, scale: 2 },
      attrs: new Map([["a", 1]]),
      inner: { f: 0.25 },
    };
    const c = fakeContext();
    await fn.process({ topic: "t", partition: 0, offset: 0n, value: rowToAvroBytes(good, record) }, c.ctx);
    await fn.process({ topic: "t", partition: 0, offset: 1n, value: enc("\u0002") }, c.ctx);
    assert.equal(c.out.main, [good]);
    assert.equal(c.out.tagged, [
      [
        "errors",
        { failed_row: enc("\u0002"), error_message: "t-0@1: $.price: the value ends early (1 more bytes needed)" },
      ],
    ]);
    const rowsCoder = rowCoder(avroRowSchema(record));
    assert.equal(decodeFromBytes(rowsCoder, encodeToBytes(rowsCoder, good)), good);
  },
);

s.test("records → rows without an error output: a bad record fails the bundle, naming where it is", async () => {
  const fn = build({
    fn: SCHEMATRANSFORM_DOFN_NAMES.RECORDS_TO_ROWS,
    format: "JSON",
    json: parseJsonSchema('{"type":"object","properties":{"a":{"type":"string"}}}'),
    errorOutput: null,
    mainOutput: "out",
  });
  const c = fakeContext();
  try {
    await fn.process({ topic: "orders", partition: 2, offset: 41n, value: enc("[1]") }, c.ctx);
    assert.unreachable("must throw");
  } catch (err) {
    assert.match((err as Error).message, /^orders-2@41: \$: expected an object, got an array \(set error_handling/);
  }
});

s.test(
  "rows → records: RAW takes the bytes field, JSON serializes exactly (INT64 digits, bytes as base64, maps, nested rows)",
  async () => {
    const raw = build({
      fn: SCHEMATRANSFORM_DOFN_NAMES.ROWS_TO_RECORDS,
      format: "RAW",
      payloadField: "payload",
      errorOutput: "errors",
      mainOutput: "out",
    });
    const r = fakeContext();
    await raw.process({ payload: enc("v1") }, r.ctx);
    await raw.process({ payload: null }, r.ctx);
    assert.equal(r.out.main, [{ key: null, value: enc("v1") }]);
    assert.equal(r.out.tagged, [["errors", { failed_row: { payload: null }, error_message: "field payload is null" }]]);

    const json = build({
      fn: SCHEMATRANSFORM_DOFN_NAMES.ROWS_TO_RECORDS,
      format: "JSON",
      payloadField: null,
      errorOutput: null,
      mainOutput: "out",
    });
    const j = fakeContext();
    await json.process(
      {
        name: 'a"b',
        n: 12345678901234567890n,
        score: 0.5,
        ok: true,
        raw: enc("hi"),
        m: new Map([["k", 1]]),
        inner: { x: null },
        list: [1n, 2n],
      },
      j.ctx,
    );
    assert.is(
      dec((j.out.main[0] as { value: Uint8Array }).value),
      '{"name":"a\\"b","n":12345678901234567890,"score":0.5,"ok":true,"raw":"aGk=","m":{"k":1},"inner":{"x":null},"list":[1,2]}',
    );
    try {
      await json.process({ bad: Number.NaN }, j.ctx);
      assert.unreachable("NaN has no JSON form");
    } catch (err) {
      assert.match((err as Error).message, /^\$\.bad: NaN has no JSON form/);
    }
    assert.equal(
      jsonBytesToRow(
        rowToJsonBytes({ id: 5n, name: "x" }),
        parseJsonSchema('{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"}}}'),
      ),
      { id: 5n, name: "x" },
    );
  },
);

s.test("DoFn payloads are checked when a worker builds them", () => {
  assert.throws(
    () => build({ fn: SCHEMATRANSFORM_DOFN_NAMES.RECORDS_TO_ROWS, format: "PROTO" }),
    /format must be RAW, JSON, AVRO/,
  );
  assert.throws(
    () => build({ fn: SCHEMATRANSFORM_DOFN_NAMES.RECORDS_TO_ROWS, format: "AVRO" }),
    /an AVRO format step needs the Avro record/,
  );
  assert.throws(
    () => build({ fn: SCHEMATRANSFORM_DOFN_NAMES.RECORDS_TO_ROWS, format: "JSON", json: null }),
    /a JSON read needs the row type/,
  );
  assert.throws(
    () => build({ fn: SCHEMATRANSFORM_DOFN_NAMES.ROWS_TO_RECORDS, format: "RAW" }),
    /a RAW write needs the name of the bytes field/,
  );
  assert.throws(
    () => build({ fn: SCHEMATRANSFORM_DOFN_NAMES.ROWS_TO_RECORDS, format: "JSON", errorOutput: "" }),
    /errorOutput must be a non-empty string/,
  );
});

s.run();
