// The expansion service's logic without gRPC: payload decoding, field spellings, validation, the expanded graph.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { externalPayload as payload } from "../infra/expansion-payload.js";
import {
  expand,
  expandEncoded,
  kafkaTransformDefinitions,
  TransformRegistry,
  ExpansionError,
  canonicalFieldName,
  type TransformDefinition,
} from "../../src/expansion/index.js";
import { makeTemplate, renderTemplate } from "../../src/expansion/response-template.js";
import { BoundedCache } from "../../src/expansion/bounded-cache.js";
import { bytesCoder } from "../../src/model/coders/index.js";
import { nullable, array, map, row, schema, encodeSchema, type RowDescription } from "../../src/model/schema.js";
import { expansionApi, fromBigInt, runnerApi } from "../../src/model/proto/index.js";
import { decodeDoFnPayload } from "../../src/model/dofn-payload.js";
import { kafkaDoFnFactories } from "../../src/kafka/index.js";
import { KafkaShardDoFn, KafkaTransactionalWriteDoFn } from "../../src/kafka/write/index.js";
import { PYTHON_READ_FIELDS, pythonReadRow } from "../infra/expansion-requests.js";

const s = suite("expansion");
const registry = new TransformRegistry(kafkaTransformDefinitions());
const environment = { kind: "process", command: "/opt/kbt/bin/kafka-beam-ts-worker" } as const;

const pythonReadFields = PYTHON_READ_FIELDS;
const BYTES = "org.apache.kafka.common.serialization.ByteArrayDeserializer";
// Python's read row, with only the bootstrap servers in its consumer config.
const pythonReadValues = {
  ...pythonReadRow("127.0.0.1:9092", "events", 10n),
  consumer_config: new Map([["bootstrap.servers", "127.0.0.1:9092"]]),
};

function request(
  urn: string,
  bytes: Uint8Array,
  extra: Partial<expansionApi.IExpansionRequest> = {},
): expansionApi.IExpansionRequest {
  return {
    namespace: "external_7",
    transform: { uniqueName: "ReadFromKafka", spec: { urn, payload: bytes } },
    components: {},
    ...extra,
  };
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
  for (const name of ["consumer_config", "consumerConfig", "ConsumerConfig"])
    assert.is(canonicalFieldName(name), "consumer_config");
  assert.is(canonicalFieldName("MaxNumRecords"), "max_num_records");
  assert.is(canonicalFieldName("dynamicReadPollIntervalSeconds"), "dynamic_read_poll_interval_seconds");
});

s.test("Python's read payload expands to Impulse → descriptors → SDF read, every id in the namespace", () => {
  const { response } = expand(
    request(
      "beam:transform:org.apache.beam:kafka_read_without_metadata:v1",
      payload(pythonReadFields, pythonReadValues),
    ),
    { registry, environment },
  );
  const c = response.components!;
  const ids = [
    ...Object.keys(c.transforms!),
    ...Object.keys(c.pcollections!),
    ...Object.keys(c.coders!),
    ...Object.keys(c.windowingStrategies!),
    ...Object.keys(c.environments!),
  ];
  for (const id of ids) assert.ok(id.startsWith("external_7"), `${id} is in the namespace`);
  const leaves = response.transform!.subtransforms!.map((id) => c.transforms![id]!);
  assert.equal(
    leaves.map((t) => t.spec!.urn),
    ["beam:transform:impulse:v1", "beam:transform:pardo:v1", "beam:transform:pardo:v1"],
  );
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
  assert.equal(
    outCoder.componentCoderIds!.map((id) => c.coders![id]!.spec!.urn),
    ["beam:coder:nullable:v1", "beam:coder:nullable:v1"],
  );
  const env = c.environments!["external_7kafka-beam-ts"]!;
  assert.is(env.urn, "beam:env:process:v1");
  assert.is(runnerApi.ProcessPayload.decode(env.payload!).command, "/opt/kbt/bin/kafka-beam-ts-worker");
});

s.test(
  "redistribute=True: the read's records go through a redistribute_arbitrarily composite (AssignKey → GroupByKey → Values)",
  () => {
    const { response } = expand(
      request(
        "beam:transform:org.apache.beam:kafka_read_with_metadata:v1",
        payload(pythonReadFields, { ...pythonReadValues, redistribute: true, redistribute_num_keys: 3 }),
      ),
      { registry, environment },
    );
    const c = response.components!;
    const top = response.transform!.subtransforms!.map((id) => c.transforms![id]!);
    assert.equal(
      top.map((t) => t.uniqueName),
      [
        "ReadFromKafka/Impulse",
        "ReadFromKafka/SourceDescriptors",
        "ReadFromKafka/ReadFromKafka",
        "ReadFromKafka/Redistribute",
      ],
    );
    const composite = top[3]!;
    assert.is(composite.spec!.urn, "beam:transform:redistribute_arbitrarily:v1");
    assert.is(composite.environmentId, "", "a composite runs no code of its own");
    assert.equal(composite.inputs, { in: top[2]!.outputs!.out });
    assert.equal(composite.outputs, response.transform!.outputs, "the read's output is the redistributed records");
    const [assign, group, values] = composite.subtransforms!.map((id) => c.transforms![id]!);
    assert.equal(
      [assign!.spec!.urn, group!.spec!.urn, values!.spec!.urn],
      ["beam:transform:pardo:v1", "beam:transform:group_by_key:v1", "beam:transform:pardo:v1"],
    );
    assert.equal([assign!.environmentId, group!.environmentId], ["external_7kafka-beam-ts", ""]);
    const fnOf = (t: runnerApi.IPTransform) =>
      decodeDoFnPayload(runnerApi.ParDoPayload.decode(t.spec!.payload!).doFn!.payload!);
    assert.equal(fnOf(assign!), {
      fn: "kafka_read_redistribute_key",
      redistribute: { numKeys: 3, byRecordKey: false },
    });
    assert.equal(fnOf(values!), { fn: "kafka_read_redistribute_values" });
    // The chain is connected: read → AssignKey → GroupByKey → Values → the output.
    assert.is(assign!.inputs!.in, top[2]!.outputs!.out);
    assert.is(group!.inputs!.in, assign!.outputs!.out);
    assert.is(values!.inputs!.in, group!.outputs!.out);
    assert.is(values!.outputs!.out, response.transform!.outputs!.out);

    // Around the GroupByKey: the global window, a trigger for every element, each group at its earliest timestamp.
    const keyed = c.pcollections![assign!.outputs!.out!]!;
    const strategy = c.windowingStrategies![keyed.windowingStrategyId!]!;
    assert.equal(strategy.trigger, { always: {} });
    assert.is(strategy.outputTime, runnerApi.OutputTime.Enum.EARLIEST_IN_PANE);
    assert.is(strategy.accumulationMode, runnerApi.AccumulationMode.Enum.DISCARDING);
    assert.is(strategy.windowFn!.urn, "beam:window_fn:global_windows:v1");
    const out = c.pcollections![values!.outputs!.out!]!;
    assert.equal(c.windowingStrategies![out.windowingStrategyId!]!.trigger, { default: {} }, "downstream as before");
    // Standard coders: KV<varint, KV<varint timestamp, the read's row>>, grouped as an iterable of those.
    const urnTree = (id: string): unknown => {
      const coder = c.coders![id]!;
      const urn = coder.spec!.urn!;
      return coder.componentCoderIds?.length ? [urn, ...coder.componentCoderIds.map(urnTree)] : urn;
    };
    const KV = "beam:coder:kv:v1";
    const VARINT = "beam:coder:varint:v1";
    assert.equal(urnTree(out.coderId!), "beam:coder:row:v1");
    assert.equal(urnTree(keyed.coderId!), [KV, VARINT, [KV, VARINT, "beam:coder:row:v1"]]);
    assert.equal(urnTree(c.pcollections![group!.outputs!.out!]!.coderId!), [
      KV,
      VARINT,
      ["beam:coder:iterable:v1", [KV, VARINT, "beam:coder:row:v1"]],
    ]);
  },
);

s.test("redistribute's options: the default key count, by record key (our URN), and allow_duplicates as a hint", () => {
  const keyFn = (urn: string, fields: RowDescription, values: Record<string, unknown>) => {
    const { response } = expand(request(urn, payload(fields, values)), { registry, environment });
    const c = response.components!;
    const composite = Object.values(c.transforms!).find((t) => t.uniqueName === "ReadFromKafka/Redistribute")!;
    const assign = c.transforms![composite.subtransforms![0]!]!;
    return decodeDoFnPayload(runnerApi.ParDoPayload.decode(assign.spec!.payload!).doFn!.payload!).redistribute;
  };
  const python = "beam:transform:org.apache.beam:kafka_read_without_metadata:v1";
  assert.equal(keyFn(python, pythonReadFields, { ...pythonReadValues, redistribute: true }), {
    numKeys: 1024,
    byRecordKey: false,
  });
  assert.equal(keyFn(python, pythonReadFields, { ...pythonReadValues, redistribute: true, allow_duplicates: true }), {
    numKeys: 1024,
    byRecordKey: false,
  });
  assert.equal(
    keyFn(
      "beam:transform:kafka_read:v1",
      { ...pythonReadFields, redistribute_by_record_key: nullable("boolean") },
      { ...pythonReadValues, redistribute: true, redistribute_num_keys: 16, redistribute_by_record_key: true },
    ),
    { numKeys: 16, byRecordKey: true },
  );
});

s.test("the same payload again: checked once, then built under each request's namespace with nothing shared", () => {
  let prepared = 0;
  const counting: TransformDefinition<bigint> = {
    name: "counting",
    urns: ["test:counting:v1"],
    fields: [{ name: "count", kind: "int", required: true }],
    prepare: (values) => {
      prepared++;
      return values.get("count") as bigint;
    },
    expand: (count, ctx) => {
      const out = ctx.builder.pcollection("out", { coder: bytesCoder, bounded: true });
      return {
        outputs: { out },
        subtransforms: [
          ctx.builder.transform(ctx.builder.id("t"), {
            uniqueName: `${ctx.uniqueName}/${count}`,
            spec: { urn: "u" },
            outputs: { out },
          }),
        ],
      };
    },
  };
  const options = { registry: new TransformRegistry([counting]), environment };
  const bytes = payload({ count: "int64" }, { count: 3n });
  const first = expand(request("test:counting:v1", bytes, { namespace: "a_" }), options).response;
  const second = expand(request("test:counting:v1", new Uint8Array(bytes), { namespace: "b_" }), options).response;
  assert.is(prepared, 1);
  assert.equal(Object.keys(first.components!.transforms!), ["a_t"]);
  assert.equal(Object.keys(second.components!.transforms!), ["b_t"]);
  assert.is(second.components!.transforms!.b_t!.uniqueName, "ReadFromKafka/3");
  assert.is(second.components!.pcollections!.b_out!.coderId, "b_bytes");
  expand(request("test:counting:v1", payload({ count: "int64" }, { count: 4n })), options);
  assert.is(prepared, 2, "another payload is checked on its own");
  // A payload that fails its checks is not kept: it fails every time.
  const bad = payload({ count: nullable("int64") }, { count: null });
  for (let i = 0; i < 2; i++)
    expectError(() => expand(request("test:counting:v1", bad), options), "INVALID_ARGUMENT", /^count: required/);
});

s.test(
  "Python's read under two namespaces (the second from the cache): the same graph and DoFn payloads, ids in each namespace",
  () => {
    const bytes = payload(pythonReadFields, pythonReadValues);
    const urn = "beam:transform:org.apache.beam:kafka_read_without_metadata:v1";
    const [a, b] = ["external_1", "external_22"].map(
      (namespace) => expand(request(urn, bytes, { namespace }), { registry, environment }).response.components!,
    );
    const rename = (id: string) => id.replace(/^external_1/, "external_22");
    for (const map of ["transforms", "pcollections", "coders", "windowingStrategies", "environments"] as const) {
      assert.equal(Object.keys(b![map]!), Object.keys(a![map]!).map(rename), map);
    }
    for (const [id, pc] of Object.entries(a!.pcollections!)) {
      assert.equal(b!.pcollections![rename(id)], {
        ...pc,
        uniqueName: rename(pc.uniqueName!),
        coderId: rename(pc.coderId!),
        windowingStrategyId: rename(pc.windowingStrategyId!),
      });
    }
    const parDos = (c: runnerApi.IComponents) =>
      Object.values(c.transforms!)
        .filter((t) => t.spec!.payload)
        .map((t) => runnerApi.ParDoPayload.decode(t.spec!.payload!));
    const [readA, readB] = [parDos(a!), parDos(b!)];
    assert.is(readB.length, 2);
    readB.forEach((p, i) => {
      assert.equal(
        Buffer.from(p.doFn!.payload!),
        Buffer.from(readA[i]!.doFn!.payload!),
        "the DoFn payload does not depend on the namespace",
      );
      assert.is(p.restrictionCoderId, rename(readA[i]!.restrictionCoderId));
    });
  },
);

/** A response as a caller sees it: decoded from the wire, as plain data. */
function decoded(bytes: Uint8Array): unknown {
  return expansionApi.ExpansionResponse.toObject(expansionApi.ExpansionResponse.decode(bytes), {
    bytes: String,
    longs: String,
    defaults: false,
  });
}

s.test("encoded Expand (the service's path) decodes to what expand returns: templates for reads, any namespace", () => {
  const write = payload(
    { producer_config: map("string", "string"), topic: "string" },
    { producer_config: new Map([["bootstrap.servers", "h:1"]]), topic: "out" },
  );
  const callerComponents: runnerApi.IComponents = {
    environments: {
      py_env: { urn: "beam:env:docker:v1" },
      "external_7kafka-beam-ts": { urn: "the caller's, replaced by ours" },
    },
    coders: {
      c1: { spec: { urn: "beam:coder:kv:v1" }, componentCoderIds: ["c2", "c2"] },
      c2: { spec: { urn: "beam:coder:bytes:v1" } },
    },
    pcollections: { ref_PCollection_1: { uniqueName: "in", coderId: "c1" } },
    transforms: { caller_t: { uniqueName: "not sent back" } },
  };
  const cases: [string, expansionApi.IExpansionRequest][] = [];
  for (const namespace of ["external_7", "external_12", "x", "a-b.c:d/E_9", "with space", ""]) {
    cases.push([
      `python read ${namespace}`,
      request(
        "beam:transform:org.apache.beam:kafka_read_without_metadata:v1",
        payload(pythonReadFields, pythonReadValues),
        { namespace },
      ),
    ]);
    cases.push([
      `python read, redistributed ${namespace}`,
      request(
        "beam:transform:org.apache.beam:kafka_read_without_metadata:v1",
        payload(pythonReadFields, { ...pythonReadValues, redistribute: true }),
        { namespace },
      ),
    ]);
    cases.push([
      `python read + caller components ${namespace}`,
      request(
        "beam:transform:org.apache.beam:kafka_read_without_metadata:v1",
        payload(pythonReadFields, pythonReadValues),
        { namespace, components: callerComponents },
      ),
    ]);
    cases.push([
      `write ${namespace}`,
      request("beam:transform:org.apache.beam:kafka_write:v1", write, {
        namespace,
        components: callerComponents,
        transform: {
          uniqueName: "WriteToKafka",
          spec: { urn: "beam:transform:org.apache.beam:kafka_write:v1", payload: write },
          inputs: { "0": "ref_PCollection_1" },
        },
      }),
    ]);
  }
  for (let round = 0; round < 2; round++) {
    // the second round renders from the templates the first made
    for (const [what, req] of cases) {
      const objectPath = expansionApi.ExpansionResponse.encode(
        expand(req, { registry, environment }).response,
      ).finish();
      assert.equal(decoded(expandEncoded(req, { registry, environment }).bytes), decoded(objectPath), what);
    }
  }
  const rendered = decoded(expandEncoded(cases[0]![1], { registry, environment }).bytes) as {
    components: { environments: Record<string, unknown> };
  };
  assert.ok(Object.keys(rendered.components.environments).includes("external_7kafka-beam-ts"));
});

s.test(
  "response templates: the namespace's positions, found by comparing encodings; any other use of it, no template",
  () => {
    const verbatim = (ns: string) => Buffer.from(`<${ns}:read><${ns}${ns}:coder>`);
    const template = makeTemplate(verbatim, 4)!;
    assert.equal(template.positions, [1, 12, 16]);
    const out = Buffer.alloc(template.bytes.length + 2);
    renderTemplate(template, "ab_9", out, 2);
    assert.is(out.subarray(2).toString(), "<ab_9:read><ab_9ab_9:coder>");
    assert.throws(() => renderTemplate(template, "abc", out, 0), /length/);
    assert.is(
      makeTemplate((ns) => Buffer.from(`<${ns.toUpperCase()}>`), 4),
      undefined,
      "changed case",
    );
    assert.is(
      makeTemplate((ns) => Buffer.from(`<${ns.length > 3 ? ns.slice(1) : ns}>`), 4),
      undefined,
      "a part of it",
    );
    assert.is(
      makeTemplate((ns) => Buffer.from(`<${ns}>${/[0-9]/.test(ns) ? "!" : "?"}`), 4),
      undefined,
      "depends on its characters",
    );
    assert.is(
      makeTemplate(() => {
        throw new Error("reads the request");
      }, 4),
      undefined,
    );
  },
);

s.test("BoundedCache keeps the most recently used entries", () => {
  const cache = new BoundedCache<string, number>(2);
  cache.set("a", 1);
  cache.set("b", 2);
  assert.is(cache.get("a"), 1); // now b is the least recently used
  cache.set("c", 3);
  assert.equal([cache.get("a"), cache.get("b"), cache.get("c"), cache.size], [1, undefined, 3, 2]);
});

s.test("Go's Pascal-case field names are accepted", () => {
  const go = payload(
    {
      ConsumerConfig: map("string", "string"),
      Topics: array("string"),
      KeyDeserializer: "string",
      ValueDeserializer: "string",
      MaxNumRecords: nullable("int64"),
    },
    {
      ConsumerConfig: new Map([["bootstrap.servers", "h:1"]]),
      Topics: ["t"],
      KeyDeserializer: BYTES,
      ValueDeserializer: BYTES,
      MaxNumRecords: 5n,
    },
  );
  const { response } = expand(request("beam:transform:org.apache.beam:kafka_read_without_metadata:v1", go), {
    registry,
    environment,
  });
  assert.ok(response.transform!.outputs!.out);
});

s.test("bad input names the field: deserializer, empty topics, bootstrap, Java factory classes, unknown fields", () => {
  const urn = "beam:transform:org.apache.beam:kafka_read_without_metadata:v1";
  const bad = (changes: Record<string, unknown>) => () =>
    expand(request(urn, payload(pythonReadFields, { ...pythonReadValues, ...changes })), { registry, environment });
  expectError(
    bad({ key_deserializer: "com.example.Nope" }),
    "INVALID_ARGUMENT",
    /^key_deserializer: unsupported deserializer "com\.example\.Nope"/,
  );
  expectError(bad({ topics: [] }), "INVALID_ARGUMENT", /^topics: must name at least one topic/);
  expectError(
    bad({ consumer_config: new Map([["bootstrap.servers", "no-port"]]) }),
    "INVALID_ARGUMENT",
    /^consumer_config\['bootstrap\.servers'\]/,
  );
  expectError(
    bad({ consumer_factory_fn_class: "com.example.Factory" }),
    "INVALID_ARGUMENT",
    /^consumer_factory_fn_class: names a Java class/,
  );
  expectError(bad({ timestamp_policy: "EventTime" }), "INVALID_ARGUMENT", /^timestamp_policy: must be one of/);
  expectError(
    bad({ redistribute_num_keys: 4 }),
    "INVALID_ARGUMENT",
    /^redistribute_num_keys: takes effect only with redistribute=true/,
  );
  expectError(
    bad({ allow_duplicates: true }),
    "INVALID_ARGUMENT",
    /^allow_duplicates: takes effect only with redistribute/,
  );
  expectError(
    bad({ redistribute: true, redistribute_num_keys: -1 }),
    "INVALID_ARGUMENT",
    /^redistribute_num_keys: must be an integer from 0 .* got -1/,
  );
  const unknown = payload({ ...pythonReadFields, surprise: "string" }, { ...pythonReadValues, surprise: "x" });
  expectError(
    () => expand(request(urn, unknown), { registry, environment }),
    "INVALID_ARGUMENT",
    /^surprise: unknown field/,
  );
  const unknownNull = payload(
    { ...pythonReadFields, newer_option: nullable("string") },
    { ...pythonReadValues, newer_option: null },
  );
  assert.ok(
    expand(request(urn, unknownNull), { registry, environment }).response.transform,
    "an unknown null field is tolerated",
  );
  expectError(
    () => expand(request(urn, new Uint8Array([0xff, 0xff, 0xff])), { registry, environment }),
    "INVALID_ARGUMENT",
    /^payload/,
  );
  expectError(
    () => expand(request("beam:transform:nope:v1", new Uint8Array()), { registry, environment }),
    "UNIMPLEMENTED",
    /known: .*kafka_read_with_metadata/,
  );
});

s.test("secrets in a bad config never reach the error text", () => {
  const config = new Map([
    ["bootstrap.servers", "h:1"],
    ["security.protocol", "SASL_SSL"],
    ["sasl.mechanism", "PLAIN"],
    [
      "sasl.jaas.config",
      'org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="hunter2-secret"',
    ],
    ["ssl.truststore.type", "NOPE"],
  ]);
  try {
    expand(
      request(
        "beam:transform:org.apache.beam:kafka_read_without_metadata:v1",
        payload(pythonReadFields, { ...pythonReadValues, consumer_config: config }),
      ),
      { registry, environment },
    );
    assert.unreachable("a bad truststore type must fail");
  } catch (err) {
    assert.instance(err, ExpansionError);
    assert.not.match((err as Error).message, /hunter2/);
  }
});

s.test("a write takes the caller's input PCollection and adds no outputs", () => {
  const write = payload(
    { producer_config: map("string", "string"), topic: "string", key_serializer: "string", value_serializer: "string" },
    {
      producer_config: new Map([["bootstrap.servers", "h:1"]]),
      topic: "out",
      key_serializer: "org.apache.kafka.common.serialization.ByteArraySerializer",
      value_serializer: "org.apache.kafka.common.serialization.StringSerializer",
    },
  );
  const { response } = expand(
    request("beam:transform:org.apache.beam:kafka_write:v1", write, {
      transform: {
        uniqueName: "WriteToKafka",
        spec: { urn: "beam:transform:org.apache.beam:kafka_write:v1", payload: write },
        inputs: { "0": "ref_PCollection_1" },
      },
      components: {
        pcollections: { ref_PCollection_1: { uniqueName: "in", coderId: "c1" } },
        coders: {
          c1: { spec: { urn: "beam:coder:kv:v1" }, componentCoderIds: ["b", "s"] },
          b: { spec: { urn: "beam:coder:bytes:v1" } },
          s: { spec: { urn: "beam:coder:string_utf8:v1" } },
        },
      },
    }),
    { registry, environment },
  );
  const leaf = response.components!.transforms![response.transform!.subtransforms![0]!]!;
  assert.equal(leaf.inputs, { in: "ref_PCollection_1" });
  assert.equal(response.transform!.outputs, {});
  const fn = decodeDoFnPayload(runnerApi.ParDoPayload.decode(leaf.spec!.payload!).doFn!.payload!);
  assert.equal(
    [fn.fn, (fn.write as { topic: string }).topic, (fn.write as { valueFormat: string }).valueFormat],
    ["kafka_write", "out", "string"],
  );
});

s.test(
  'Beam Go\'s placeholder name "External" becomes unique per namespace (Flink refuses duplicate names); other names are kept',
  () => {
    const urn = "beam:transform:org.apache.beam:kafka_read_without_metadata:v1";
    const bytes = payload(pythonReadFields, pythonReadValues);
    const named = (uniqueName: string, namespace: string) => ({
      namespace,
      transform: { uniqueName, spec: { urn, payload: bytes } },
      components: {},
    });
    for (const run of [
      (r: expansionApi.IExpansionRequest) => expand(r, { registry, environment }).response,
      (r: expansionApi.IExpansionRequest) =>
        decoded(expandEncoded(r, { registry, environment }).bytes) as expansionApi.IExpansionResponse,
    ]) {
      const a = run(named("External", "nsAAAA"));
      const b = run(named("External", "nsBBBB"));
      assert.is(a.transform!.uniqueName, "External_nsAAAA");
      assert.is(b.transform!.uniqueName, "External_nsBBBB");
      const leafNames = (r: expansionApi.IExpansionResponse) =>
        r.transform!.subtransforms!.map((id) => r.components!.transforms![id]!.uniqueName);
      for (const name of leafNames(a)) assert.ok(name!.startsWith("External_nsAAAA/"), name!);
      assert.is(
        run(named("ReadFromKafka(beam:transform:org.apache.beam:kafka_read_without_metadata:v1)", "nsCCCC")).transform!
          .uniqueName,
        "ReadFromKafka(beam:transform:org.apache.beam:kafka_read_without_metadata:v1)",
      );
    }
  },
);

s.test("a write refuses input coders it cannot read as its serializers' values, naming the coder and the fix", () => {
  const write = (keySerializer: string, valueSerializer: string) =>
    payload(
      {
        producer_config: map("string", "string"),
        topic: "string",
        key_serializer: "string",
        value_serializer: "string",
      },
      {
        producer_config: new Map([["bootstrap.servers", "h:1"]]),
        topic: "out",
        key_serializer: `org.apache.kafka.common.serialization.${keySerializer}`,
        value_serializer: `org.apache.kafka.common.serialization.${valueSerializer}`,
      },
    );
  const coders: Record<string, runnerApi.ICoder> = {
    b: { spec: { urn: "beam:coder:bytes:v1" } },
    s: { spec: { urn: "beam:coder:string_utf8:v1" } },
    v: { spec: { urn: "beam:coder:varint:v1" } },
    n: { spec: { urn: "beam:coder:nullable:v1" }, componentCoderIds: ["b"] },
    lp: { spec: { urn: "beam:coder:length_prefix:v1" }, componentCoderIds: ["b"] },
    pickled: { spec: { urn: "beam:coder:pickled_python:v1" } },
    lpPickled: { spec: { urn: "beam:coder:length_prefix:v1" }, componentCoderIds: ["pickled"] },
  };
  const kv = (key: string, value: string) => ({ spec: { urn: "beam:coder:kv:v1" }, componentCoderIds: [key, value] });
  const run = (urn: string, bytes: Uint8Array, input: runnerApi.ICoder) =>
    expand(
      request(urn, bytes, {
        transform: { uniqueName: "WriteToKafka", spec: { urn, payload: bytes }, inputs: { "0": "pc" } },
        components: { pcollections: { pc: { uniqueName: "in", coderId: "input" } }, coders: { ...coders, input } },
      }),
      { registry, environment },
    );
  const urn = "beam:transform:org.apache.beam:kafka_write:v1";
  const bytes = write("ByteArraySerializer", "ByteArraySerializer");
  // Accepted: bytes, nullable bytes (tombstones), a length-prefixed bytes coder; strings and ints for their serializers.
  for (const input of [kv("b", "b"), kv("n", "n"), kv("lp", "b")]) assert.ok(run(urn, bytes, input).response.transform);
  assert.ok(run(urn, write("StringSerializer", "LongSerializer"), kv("s", "v")).response.transform);
  // Refused: Python's own coders (what an untyped Map gives), the wrong standard coder, not a KV at all.
  expectError(
    () => run(urn, bytes, kv("b", "pickled")),
    "INVALID_ARGUMENT",
    /^transform\.inputs\[0\]: the input's value coder is beam:coder:pickled_python:v1 \(input coder beam:coder:kv:v1\(beam:coder:bytes:v1, beam:coder:pickled_python:v1\)\); the value serializer \(bytes\) needs beam:coder:bytes:v1.*\.with_output_types\(typing\.Tuple\[bytes, bytes\]\)$/,
  );
  expectError(
    () => run(urn, bytes, kv("lpPickled", "b")),
    "INVALID_ARGUMENT",
    /the input's key coder is beam:coder:pickled_python:v1/,
  );
  expectError(
    () => run(urn, bytes, kv("s", "b")),
    "INVALID_ARGUMENT",
    /the input's key coder is beam:coder:string_utf8:v1/,
  );
  expectError(
    () => run(urn, write("StringSerializer", "ByteArraySerializer"), kv("b", "b")),
    "INVALID_ARGUMENT",
    /key serializer \(string\) needs beam:coder:string_utf8:v1.*typing\.Tuple\[str, bytes\]/,
  );
  expectError(
    () => run(urn, bytes, coders.b!),
    "INVALID_ARGUMENT",
    /the write takes KV pairs, but its input's coder is beam:coder:bytes:v1/,
  );
  // Our URN's exactly-once graph checks the same input.
  const eos = payload(ourWriteFields, {
    producer_config: new Map([["bootstrap.servers", "h:1"]]),
    topic: "out",
    exactly_once_shards: 2n,
    sink_group_id: "g",
    metadata_topic: null,
    exactly_once_window_ms: null,
  });
  expectError(
    () => run("beam:transform:kafka_write:v1", eos, kv("b", "pickled")),
    "INVALID_ARGUMENT",
    /value coder is beam:coder:pickled_python:v1/,
  );
});

s.test("a write with headers takes rows whose key and value are BYTES, and refuses anything else", () => {
  const urn = "beam:transform:org.apache.beam:kafka_write_with_headers:v1";
  const bytes = payload(
    { producer_config: map("string", "string"), topic: "string" },
    { producer_config: new Map([["bootstrap.servers", "h:1"]]), topic: "out" },
  );
  const rowCoderOf = (fields: RowDescription) => ({
    spec: { urn: "beam:coder:row:v1", payload: encodeSchema(schema(fields)) },
  });
  const run = (input: runnerApi.ICoder) =>
    expand(
      request(urn, bytes, {
        transform: { uniqueName: "WriteToKafka", spec: { urn, payload: bytes }, inputs: { "0": "pc" } },
        components: { pcollections: { pc: { uniqueName: "in", coderId: "input" } }, coders: { input } },
      }),
      { registry, environment },
    );
  const headers = nullable(array(row({ key: "string", value: "bytes" })));
  assert.ok(
    run(
      rowCoderOf({
        key: nullable("bytes"),
        value: "bytes",
        headers,
        topic: nullable("string"),
        partition: nullable("int64"),
        timestamp: nullable("int64"),
      }),
    ).response.transform,
  );
  expectError(
    () => run(rowCoderOf({ key: "bytes", value: "string" })),
    "INVALID_ARGUMENT",
    /row field value has the wrong type: BYTES expected/,
  );
  expectError(() => run(rowCoderOf({ value: "bytes" })), "INVALID_ARGUMENT", /the input rows have no key field/);
  expectError(
    () => run(rowCoderOf({ key: "bytes", value: "bytes", extra: "string" })),
    "INVALID_ARGUMENT",
    /a field extra the write does not know/,
  );
  expectError(
    () => run({ spec: { urn: "beam:coder:pickled_python:v1" } }),
    "INVALID_ARGUMENT",
    /takes Rows .* but its input's coder is beam:coder:pickled_python:v1/,
  );
});

// Our write URN with the exactly-once fields, on an input as Python describes it (bounded or not, global windows).
const ourWriteFields: RowDescription = {
  producer_config: map("string", "string"),
  topic: "string",
  exactly_once_shards: nullable("int64"),
  sink_group_id: nullable("string"),
  metadata_topic: nullable("string"),
  exactly_once_window_ms: nullable("int64"),
};
const eosValues = {
  producer_config: new Map([
    ["bootstrap.servers", "h:1"],
    ["transactional.id", "orders-sink"],
  ]),
  topic: "out",
  exactly_once_shards: 4n,
  sink_group_id: "sink-orders",
  metadata_topic: null,
  exactly_once_window_ms: null,
};
const GLOBAL = "beam:window_fn:global_windows:v1";

function callerComponents(
  isBounded: number,
  windowFn: runnerApi.IFunctionSpec = { urn: GLOBAL },
): runnerApi.IComponents {
  return {
    pcollections: {
      ref_PCollection_1: {
        uniqueName: "in",
        coderId: "ref_Coder_KV_1",
        isBounded,
        windowingStrategyId: "ref_Windowing_1",
      },
    },
    windowingStrategies: { ref_Windowing_1: { windowFn, windowCoderId: "ref_Coder_Window_1" } },
    coders: {
      ref_Coder_KV_1: { spec: { urn: "beam:coder:kv:v1" }, componentCoderIds: ["ref_Coder_B", "ref_Coder_B"] },
      ref_Coder_B: { spec: { urn: "beam:coder:bytes:v1" } },
    },
  };
}

function expandOurWrite(
  values: Record<string, unknown>,
  isBounded = runnerApi.IsBounded.Enum.BOUNDED,
  windowFn?: runnerApi.IFunctionSpec,
  urn = "beam:transform:kafka_write:v1",
  fields: RowDescription = ourWriteFields,
): expansionApi.IExpansionResponse {
  const bytes = payload(fields, values);
  return expand(
    request(urn, bytes, {
      transform: { uniqueName: "WriteEOS", spec: { urn, payload: bytes }, inputs: { "0": "ref_PCollection_1" } },
      components: callerComponents(isBounded, windowFn),
    }),
    { registry, environment },
  ).response;
}

/** The expansion's leaves in order, with their payloads decoded. */
function leavesOf(response: expansionApi.IExpansionResponse) {
  const c = response.components!;
  return response.transform!.subtransforms!.map((id) => {
    const t = c.transforms![id]!;
    const fn =
      t.spec!.urn === "beam:transform:pardo:v1"
        ? decodeDoFnPayload(runnerApi.ParDoPayload.decode(t.spec!.payload!).doFn!.payload!)
        : undefined;
    return { id, t, fn };
  });
}

/** A coder id's structure as URNs: "kv(varint,iterable(bytes))". */
function coderShape(c: runnerApi.IComponents, id: string): string {
  const coder = c.coders![id]!;
  const name = coder.spec!.urn!.replace(/^beam:coder:/, "").replace(/:v1$/, "");
  const parts = (coder.componentCoderIds ?? []).map((cid) => coderShape(c, cid));
  return parts.length ? `${name}(${parts.join(",")})` : name;
}

s.test(
  "our write with exactly_once_shards, bounded input: Shard → GroupByKey (runner) → WriteTransactions, standard coders",
  () => {
    const response = expandOurWrite(eosValues);
    const c = response.components!;
    const leaves = leavesOf(response);
    assert.equal(
      leaves.map((l) => l.t.spec!.urn),
      ["beam:transform:pardo:v1", "beam:transform:group_by_key:v1", "beam:transform:pardo:v1"],
    );
    assert.equal(
      leaves.map((l) => l.t.environmentId),
      ["external_7kafka-beam-ts", "", "external_7kafka-beam-ts"],
    );
    assert.equal(
      leaves.map((l) => l.t.uniqueName),
      ["WriteEOS/Shard", "WriteEOS/GroupByShard", "WriteEOS/WriteTransactions"],
    );
    const [shard, group, write] = leaves as [(typeof leaves)[0], (typeof leaves)[0], (typeof leaves)[0]];
    assert.equal(shard.t.inputs, { in: "ref_PCollection_1" });
    assert.equal(group.t.inputs, { in: shard.t.outputs!.out });
    assert.equal(write.t.inputs, { in: group.t.outputs!.out });
    assert.equal(write.t.outputs, {});
    assert.equal(response.transform!.outputs, {});
    assert.is(coderShape(c, c.pcollections![shard.t.outputs!.out!]!.coderId!), "kv(varint,bytes)");
    assert.is(coderShape(c, c.pcollections![group.t.outputs!.out!]!.coderId!), "kv(varint,iterable(bytes))");
    for (const pc of [shard.t.outputs!.out!, group.t.outputs!.out!]) {
      assert.is(
        c.pcollections![pc]!.windowingStrategyId,
        "ref_Windowing_1",
        "a bounded global input is not re-windowed",
      );
      assert.is(c.pcollections![pc]!.isBounded, runnerApi.IsBounded.Enum.BOUNDED);
    }
    assert.equal([shard.fn!.fn, shard.fn!.step, shard.fn!.input], ["kafka_write", "shard", "kv"]);
    assert.equal([write.fn!.fn, write.fn!.step], ["kafka_write", "transactional_write"]);
    assert.equal((write.fn!.write as { exactlyOnce: unknown }).exactlyOnce, {
      numShards: 4,
      sinkGroupId: "sink-orders",
      metadataTopic: "out",
      transactionalIdPrefix: "orders-sink",
      requiresStableInput: true,
    });
    // Stable input by default (as Java's exactly-once sink): on the transactions step only, and as a requirement,
    // without which Flink's job service refuses the flag.
    assert.equal(
      leaves.map((l) =>
        l.fn ? runnerApi.ParDoPayload.decode(l.t.spec!.payload!).requiresStableInput : "group_by_key",
      ),
      [false, "group_by_key", true],
    );
    assert.ok(response.requirements!.includes("beam:requirement:pardo:stable_input:v1"), `${response.requirements}`);
    for (const id of [...Object.keys(c.transforms!), ...Object.keys(c.windowingStrategies!)].filter(
      (id) => !id.startsWith("ref_"),
    )) {
      assert.ok(id.startsWith("external_7"), `${id} is in the namespace`);
    }
    // The worker's DoFn registry builds both steps from these payloads.
    assert.instance(kafkaDoFnFactories[shard.fn!.fn]!(shard.fn!), KafkaShardDoFn);
    assert.instance(kafkaDoFnFactories[write.fn!.fn]!(write.fn!), KafkaTransactionalWriteDoFn);
  },
);

s.test(
  "our exactly-once write on an unbounded global input batches into fixed 1 s windows first (window_into, interval windows)",
  () => {
    const response = expandOurWrite({ ...eosValues, metadata_topic: "sink-meta" }, runnerApi.IsBounded.Enum.UNBOUNDED);
    const c = response.components!;
    const leaves = leavesOf(response);
    assert.equal(
      leaves.map((l) => l.t.spec!.urn),
      [
        "beam:transform:window_into:v1",
        "beam:transform:pardo:v1",
        "beam:transform:group_by_key:v1",
        "beam:transform:pardo:v1",
      ],
    );
    assert.equal(
      leaves.map((l) => l.t.environmentId),
      ["external_7kafka-beam-ts", "external_7kafka-beam-ts", "", "external_7kafka-beam-ts"],
    );
    const windowInto = leaves[0]!.t;
    assert.equal(windowInto.inputs, { in: "ref_PCollection_1" });
    const windowed = c.pcollections![windowInto.outputs!.out!]!;
    assert.is(windowed.coderId, "ref_Coder_KV_1", "the window_into keeps the caller's element coder");
    assert.is(windowed.isBounded, runnerApi.IsBounded.Enum.UNBOUNDED);
    assert.equal(leaves[1]!.t.inputs, { in: windowInto.outputs!.out });
    const strategyId = windowed.windowingStrategyId!;
    assert.ok(strategyId.startsWith("external_7"), strategyId);
    const strategy = c.windowingStrategies![strategyId]!;
    assert.is(strategy.windowFn!.urn, "beam:window_fn:fixed_windows:v1");
    const fixed = runnerApi.FixedWindowsPayload.decode(strategy.windowFn!.payload!);
    assert.equal(
      [Number(fixed.size!.seconds), fixed.size!.nanos, Number(fixed.offset?.seconds ?? 0), fixed.offset?.nanos ?? 0],
      [1, 0, 0, 0],
    );
    assert.is(coderShape(c, strategy.windowCoderId!), "interval_window");
    assert.ok(strategy.trigger!.default, "default trigger: fires when the watermark passes the window");
    const into = runnerApi.WindowIntoPayload.decode(windowInto.spec!.payload!);
    assert.is(into.windowFn!.urn, "beam:window_fn:fixed_windows:v1");
    assert.equal(into.windowFn!.payload, strategy.windowFn!.payload);
    for (const l of leaves.slice(1, 3)) assert.is(c.pcollections![l.t.outputs!.out!]!.windowingStrategyId, strategyId);
    assert.is(
      (leaves[3]!.fn!.write as { exactlyOnce: { metadataTopic: string } }).exactlyOnce.metadataTopic,
      "sink-meta",
    );
  },
);

s.test(
  "requires_stable_input false: no stable-input flag and no such requirement (for Prism, which refuses it)",
  () => {
    const fields = { ...ourWriteFields, requires_stable_input: nullable("boolean") };
    for (const [value, expected] of [
      [false, false],
      [true, true],
      [null, true],
    ] as const) {
      const response = expandOurWrite(
        { ...eosValues, requires_stable_input: value },
        runnerApi.IsBounded.Enum.BOUNDED,
        undefined,
        "beam:transform:kafka_write:v1",
        fields,
      );
      const write = leavesOf(response)[2]!;
      assert.is(runnerApi.ParDoPayload.decode(write.t.spec!.payload!).requiresStableInput, expected, `${value}`);
      assert.is(response.requirements!.includes("beam:requirement:pardo:stable_input:v1"), expected, `${value}`);
      assert.is(
        (write.fn!.write as { exactlyOnce: { requiresStableInput: boolean } }).exactlyOnce.requiresStableInput,
        expected,
      );
    }
    // An at-least-once write takes no exactly-once field.
    expectError(
      () =>
        expandOurWrite(
          { ...eosValues, exactly_once_shards: null, sink_group_id: null, requires_stable_input: false },
          runnerApi.IsBounded.Enum.BOUNDED,
          undefined,
          "beam:transform:kafka_write:v1",
          fields,
        ),
      "INVALID_ARGUMENT",
      /^requires_stable_input: belongs to an exactly-once write/,
    );
  },
);

s.test("exactly_once_window_ms sets the batching window (and batches a bounded global input too)", () => {
  for (const isBounded of [runnerApi.IsBounded.Enum.UNBOUNDED, runnerApi.IsBounded.Enum.BOUNDED]) {
    const response = expandOurWrite({ ...eosValues, exactly_once_window_ms: 250n }, isBounded);
    const leaves = leavesOf(response);
    assert.is(leaves[0]!.t.spec!.urn, "beam:transform:window_into:v1");
    const strategy =
      response.components!.windowingStrategies![
        response.components!.pcollections![leaves[0]!.t.outputs!.out!]!.windowingStrategyId!
      ]!;
    const fixed = runnerApi.FixedWindowsPayload.decode(strategy.windowFn!.payload!);
    assert.equal([Number(fixed.size!.seconds), fixed.size!.nanos], [0, 250_000_000]);
  }
});

s.test(
  "an input the caller already windowed keeps its windows: no window_into, the caller's strategy downstream",
  () => {
    const callerFixed = {
      urn: "beam:window_fn:fixed_windows:v1",
      payload: runnerApi.FixedWindowsPayload.encode({ size: { seconds: fromBigInt(2n) } }).finish(),
    };
    const response = expandOurWrite(eosValues, runnerApi.IsBounded.Enum.UNBOUNDED, callerFixed);
    const leaves = leavesOf(response);
    assert.equal(
      leaves.map((l) => l.t.spec!.urn),
      ["beam:transform:pardo:v1", "beam:transform:group_by_key:v1", "beam:transform:pardo:v1"],
    );
    for (const l of leaves.slice(0, 2))
      assert.is(response.components!.pcollections![l.t.outputs!.out!]!.windowingStrategyId, "ref_Windowing_1");
    expectError(
      () =>
        expandOurWrite({ ...eosValues, exactly_once_window_ms: 500n }, runnerApi.IsBounded.Enum.UNBOUNDED, callerFixed),
      "INVALID_ARGUMENT",
      /^exactly_once_window_ms: the input is already windowed \(beam:window_fn:fixed_windows:v1\)/,
    );
  },
);

s.test("our write without exactly_once_shards stays one at-least-once ParDo", () => {
  const response = expandOurWrite({
    ...eosValues,
    producer_config: new Map([["bootstrap.servers", "h:1"]]),
    exactly_once_shards: null,
    sink_group_id: null,
  });
  const leaves = leavesOf(response);
  assert.equal(
    leaves.map((l) => [l.t.spec!.urn, l.fn?.step ?? "write"]),
    [["beam:transform:pardo:v1", "write"]],
  );
  assert.is((leaves[0]!.fn!.write as { exactlyOnce: unknown }).exactlyOnce, null);
});

s.test("bad exactly-once combinations name the field; Beam's write URN keeps Beam's schema", () => {
  const bad = (changes: Record<string, unknown>) => () => expandOurWrite({ ...eosValues, ...changes });
  const alo = { exactly_once_shards: null, producer_config: new Map([["bootstrap.servers", "h:1"]]) };
  expectError(
    bad({ ...alo, sink_group_id: "g" }),
    "INVALID_ARGUMENT",
    /^sink_group_id: belongs to an exactly-once write: set exactly_once_shards/,
  );
  expectError(
    bad({ ...alo, sink_group_id: null, metadata_topic: "m" }),
    "INVALID_ARGUMENT",
    /^metadata_topic: belongs to an exactly-once write/,
  );
  expectError(
    bad({ ...alo, sink_group_id: null, exactly_once_window_ms: 100n }),
    "INVALID_ARGUMENT",
    /^exactly_once_window_ms: belongs to an exactly-once write/,
  );
  expectError(
    bad({ exactly_once_shards: null, sink_group_id: null }),
    "INVALID_ARGUMENT",
    /^producer_config\['transactional\.id'\]: is the prefix/,
  );
  expectError(bad({ sink_group_id: null }), "INVALID_ARGUMENT", /^sink_group_id: is required with exactly_once_shards/);
  expectError(bad({ sink_group_id: "" }), "INVALID_ARGUMENT", /^sink_group_id: must be a non-empty group id/);
  expectError(
    bad({ exactly_once_shards: 0n }),
    "INVALID_ARGUMENT",
    /^exactly_once_shards: must be an integer from 1 to 10000, got 0/,
  );
  expectError(
    bad({ exactly_once_shards: 10_001n }),
    "INVALID_ARGUMENT",
    /^exactly_once_shards: must be an integer from 1 to 10000/,
  );
  expectError(
    bad({ metadata_topic: "no spaces" }),
    "INVALID_ARGUMENT",
    /^metadata_topic: "no spaces" is not a valid topic name/,
  );
  expectError(
    bad({ exactly_once_window_ms: 0n }),
    "INVALID_ARGUMENT",
    /^exactly_once_window_ms: must be an integer >= 1/,
  );
  expectError(
    bad({
      producer_config: new Map([
        ["bootstrap.servers", "h:1"],
        ["acks", "1"],
      ]),
    }),
    "INVALID_ARGUMENT",
    /^producer_config\['acks'\]/,
  );
  // Beam's URNs: the exactly-once fields are not part of Beam's schema.
  for (const urn of [
    "beam:transform:org.apache.beam:kafka_write:v1",
    "beam:transform:org.apache.beam:kafka_write_with_headers:v1",
  ]) {
    expectError(
      () =>
        expandOurWrite(
          { ...eosValues, producer_config: new Map([["bootstrap.servers", "h:1"]]) },
          runnerApi.IsBounded.Enum.BOUNDED,
          undefined,
          urn,
        ),
      "INVALID_ARGUMENT",
      /^exactly_once_shards: unknown field; known fields: producer_config, topic, key_serializer, value_serializer$/,
    );
  }
});

s.run();
