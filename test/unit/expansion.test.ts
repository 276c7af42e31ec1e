// The expansion service's logic without gRPC: payload decoding, field spellings, validation, the expanded graph.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { expand, kafkaTransformDefinitions, TransformRegistry, ExpansionError, canonicalFieldName } from "../../src/expansion/index.js";
import { encodeToBytes, rowCoder } from "../../src/model/coders/index.js";
import { schema, nullable, array, map, type RowDescription } from "../../src/model/schema.js";
import { encodeSchema } from "../../src/model/schema.js";
import { externalTransforms, runnerApi, type expansionApi } from "../../src/model/proto/index.js";
import { decodeDoFnPayload } from "../../src/model/dofn-payload.js";

const s = suite("expansion");
const registry = new TransformRegistry(kafkaTransformDefinitions());
const environment = { kind: "process", command: "/opt/kbt/bin/kafka-beam-ts-worker" } as const;

/** A payload as Beam's Python SDK builds it: a schema of the given fields and a row of values. */
function payload(fields: RowDescription, values: Record<string, unknown>): Uint8Array {
  const sch = schema(fields);
  return externalTransforms.ExternalConfigurationPayload.encode({
    schema: runnerApi.Schema.decode(encodeSchema(sch)),
    payload: encodeToBytes(rowCoder(sch), values),
  }).finish();
}

const pythonReadFields: RowDescription = {
  consumer_config: map("string", "string"), topics: array("string"), key_deserializer: "string", value_deserializer: "string",
  start_read_time: nullable("int64"), max_num_records: nullable("int64"), max_read_time: nullable("int64"),
  commit_offset_in_finalize: "boolean", timestamp_policy: "string", consumer_polling_timeout: nullable("int64"),
  redistribute: nullable("boolean"), redistribute_num_keys: nullable("int32"), allow_duplicates: nullable("boolean"),
  dynamic_read_poll_interval_seconds: nullable("int64"), consumer_factory_fn_class: nullable("string"),
  consumer_factory_fn_params: nullable(map("string", "string")),
};
const BYTES = "org.apache.kafka.common.serialization.ByteArrayDeserializer";
const pythonReadValues = {
  consumer_config: new Map([["bootstrap.servers", "127.0.0.1:9092"]]), topics: ["events"], key_deserializer: BYTES,
  value_deserializer: BYTES, start_read_time: null, max_num_records: 10n, max_read_time: null,
  commit_offset_in_finalize: false, timestamp_policy: "ProcessingTime", consumer_polling_timeout: 2n,
  redistribute: false, redistribute_num_keys: 0, allow_duplicates: false, dynamic_read_poll_interval_seconds: null,
  consumer_factory_fn_class: null, consumer_factory_fn_params: null,
};

function request(urn: string, bytes: Uint8Array, extra: Partial<expansionApi.IExpansionRequest> = {}): expansionApi.IExpansionRequest {
  return { namespace: "external_7", transform: { uniqueName: "ReadFromKafka", spec: { urn, payload: bytes } }, components: {}, ...extra };
}

function expectError(fn: () => unknown, code: string, pattern: RegExp): void {
  try {
    fn();
  } catch (err) {
    assert.instance(err, ExpansionError);
    assert.is((err as ExpansionError).code, code);
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable("expected an ExpansionError");
}

s.test("canonical field names: snake, lowerCamel and Pascal spellings meet", () => {
  for (const name of ["consumer_config", "consumerConfig", "ConsumerConfig"]) assert.is(canonicalFieldName(name), "consumer_config");
  assert.is(canonicalFieldName("MaxNumRecords"), "max_num_records");
  assert.is(canonicalFieldName("dynamicReadPollIntervalSeconds"), "dynamic_read_poll_interval_seconds");
});

s.test("Python's read payload expands to Impulse → descriptors → SDF read, every id in the namespace", () => {
  const { response } = expand(request("beam:transform:org.apache.beam:kafka_read_without_metadata:v1", payload(pythonReadFields, pythonReadValues)), { registry, environment });
  const c = response.components!;
  const ids = [...Object.keys(c.transforms!), ...Object.keys(c.pcollections!), ...Object.keys(c.coders!),
    ...Object.keys(c.windowingStrategies!), ...Object.keys(c.environments!)];
  for (const id of ids) assert.ok(id.startsWith("external_7"), `${id} is in the namespace`);
  const leaves = response.transform!.subtransforms!.map((id) => c.transforms![id]!);
  assert.equal(leaves.map((t) => t.spec!.urn), ["beam:transform:impulse:v1", "beam:transform:pardo:v1", "beam:transform:pardo:v1"]);
  assert.is(leaves[0]!.environmentId, "");
  assert.is(leaves[1]!.environmentId, "external_7kafka-beam-ts");
  const read = runnerApi.ParDoPayload.decode(leaves[2]!.spec!.payload!);
  assert.ok(read.restrictionCoderId.startsWith("external_7"), "the read is splittable");
  const fn = decodeDoFnPayload(read.doFn!.payload!);
  assert.is(fn.fn, "kafka_read");
  assert.equal((fn.read as { maxNumRecords: string }).maxNumRecords, "10");
  assert.equal((fn.read as { topics: string[] }).topics, ["events"]);
  assert.equal(response.requirements, ["beam:requirement:pardo:splittable_dofn:v1"]);
  const out = c.pcollections![response.transform!.outputs!.out!]!;
  const outCoder = c.coders![out.coderId!]!;
  assert.is(outCoder.spec!.urn, "beam:coder:kv:v1");
  assert.equal(outCoder.componentCoderIds!.map((id) => c.coders![id]!.spec!.urn), ["beam:coder:nullable:v1", "beam:coder:nullable:v1"]);
  const env = c.environments!["external_7kafka-beam-ts"]!;
  assert.is(env.urn, "beam:env:process:v1");
  assert.is(runnerApi.ProcessPayload.decode(env.payload!).command, "/opt/kbt/bin/kafka-beam-ts-worker");
});

s.test("Go's Pascal-case field names are accepted", () => {
  const go = payload({ ConsumerConfig: map("string", "string"), Topics: array("string"), KeyDeserializer: "string", ValueDeserializer: "string", MaxNumRecords: nullable("int64") },
    { ConsumerConfig: new Map([["bootstrap.servers", "h:1"]]), Topics: ["t"], KeyDeserializer: BYTES, ValueDeserializer: BYTES, MaxNumRecords: 5n });
  const { response } = expand(request("beam:transform:org.apache.beam:kafka_read_without_metadata:v1", go), { registry, environment });
  assert.ok(response.transform!.outputs!.out);
});

s.test("bad input names the field: deserializer, empty topics, bootstrap, Java factory classes, unknown fields", () => {
  const urn = "beam:transform:org.apache.beam:kafka_read_without_metadata:v1";
  const bad = (changes: Record<string, unknown>) => () => expand(request(urn, payload(pythonReadFields, { ...pythonReadValues, ...changes })), { registry, environment });
  expectError(bad({ key_deserializer: "com.example.Nope" }), "INVALID_ARGUMENT", /^key_deserializer: unsupported deserializer "com\.example\.Nope"/);
  expectError(bad({ topics: [] }), "INVALID_ARGUMENT", /^topics: must name at least one topic/);
  expectError(bad({ consumer_config: new Map([["bootstrap.servers", "no-port"]]) }), "INVALID_ARGUMENT", /^consumer_config\['bootstrap\.servers'\]/);
  expectError(bad({ consumer_factory_fn_class: "com.example.Factory" }), "INVALID_ARGUMENT", /^consumer_factory_fn_class: names a Java class/);
  expectError(bad({ timestamp_policy: "EventTime" }), "INVALID_ARGUMENT", /^timestamp_policy: must be one of/);
  expectError(bad({ redistribute: true }), "INVALID_ARGUMENT", /^redistribute: only false is supported/);
  const unknown = payload({ ...pythonReadFields, surprise: "string" }, { ...pythonReadValues, surprise: "x" });
  expectError(() => expand(request(urn, unknown), { registry, environment }), "INVALID_ARGUMENT", /^surprise: unknown field/);
  const unknownNull = payload({ ...pythonReadFields, newer_option: nullable("string") }, { ...pythonReadValues, newer_option: null });
  assert.ok(expand(request(urn, unknownNull), { registry, environment }).response.transform, "an unknown null field is tolerated");
  expectError(() => expand(request(urn, new Uint8Array([0xff, 0xff, 0xff])), { registry, environment }), "INVALID_ARGUMENT", /^payload/);
  expectError(() => expand(request("beam:transform:nope:v1", new Uint8Array()), { registry, environment }), "UNIMPLEMENTED", /known: .*kafka_read_with_metadata/);
});

s.test("secrets in a bad config never reach the error text", () => {
  const config = new Map([["bootstrap.servers", "h:1"], ["security.protocol", "SASL_SSL"], ["sasl.mechanism", "PLAIN"],
    ["sasl.jaas.config", 'org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="hunter2-secret"'],
    ["ssl.truststore.type", "NOPE"]]);
  try {
    expand(request("beam:transform:org.apache.beam:kafka_read_without_metadata:v1", payload(pythonReadFields, { ...pythonReadValues, consumer_config: config })), { registry, environment });
    assert.unreachable("a bad truststore type must fail");
  } catch (err) {
    assert.instance(err, ExpansionError);
    assert.not.match((err as Error).message, /hunter2/);
  }
});

s.test("a write takes the caller's input PCollection and adds no outputs", () => {
  const write = payload({ producer_config: map("string", "string"), topic: "string", key_serializer: "string", value_serializer: "string" },
    { producer_config: new Map([["bootstrap.servers", "h:1"]]), topic: "out", key_serializer: "org.apache.kafka.common.serialization.ByteArraySerializer",
      value_serializer: "org.apache.kafka.common.serialization.StringSerializer" });
  const { response } = expand(request("beam:transform:org.apache.beam:kafka_write:v1", write, {
    transform: { uniqueName: "WriteToKafka", spec: { urn: "beam:transform:org.apache.beam:kafka_write:v1", payload: write }, inputs: { "0": "ref_PCollection_1" } },
    components: { pcollections: { ref_PCollection_1: { uniqueName: "in", coderId: "c1" } } },
  }), { registry, environment });
  const leaf = response.components!.transforms![response.transform!.subtransforms![0]!]!;
  assert.equal(leaf.inputs, { in: "ref_PCollection_1" });
  assert.equal(response.transform!.outputs, {});
  const fn = decodeDoFnPayload(runnerApi.ParDoPayload.decode(leaf.spec!.payload!).doFn!.payload!);
  assert.equal([fn.fn, (fn.write as { topic: string }).topic, (fn.write as { valueFormat: string }).valueFormat], ["kafka_write", "out", "string"]);
});

s.run();
