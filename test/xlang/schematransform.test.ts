// Beam Python's SchemaTransform route (managed.Read/Write(KAFKA), SchemaAwareExternalTransform, Beam YAML's path)
// against our expansion service: discovery, construction, our error text, and a RAW roundtrip on Prism.
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { suite } from "../harness.js";
import {
  brokerBootstrap,
  releaseBroker,
  consumeTopic,
  createTopic,
  uniqueTopic,
  testKafka,
} from "../infra/fixtures.js";
import { runPython, lastJsonLine, type PythonResult } from "../infra/python.js";
import { startPrism, type Prism } from "../infra/prism.js";
import { startServe, type RunningCli } from "../infra/service.js";

const s = suite("xlang SchemaTransforms (Python managed / SchemaAwareExternalTransform → our service)", {
  timeoutMs: 240_000,
});
let service: RunningCli;
let prism: Prism | undefined;
let bootstrap = "";

s.before(async () => {
  service = await startServe(["--worker-pool-port", "0", "--http-port", "0"]);
});
s.after(async () => {
  await Promise.all([service?.stop(), prism?.stop()]);
  if (bootstrap) await releaseBroker();
});

function py(mode: string, extra: string[] = [], timeoutMs = 90_000): Promise<PythonResult> {
  return runPython(
    "schematransform_pipelines.py",
    [mode, "--expansion", service.expansionAddress, ...extra],
    timeoutMs,
  );
}

function withLogs<T>(result: PythonResult, parse: (r: PythonResult) => T): T {
  try {
    return parse(result);
  } catch (err) {
    throw new Error(
      `${(err as Error).message}\n--- prism/worker output ---\n${prism?.output().slice(-6000) ?? ""}\n--- service ---\n${service.output().slice(-3000)}`,
    );
  }
}

s.test("Python discovers kafka_read, kafka_write and managed with Java's field names and types", async () => {
  const out = lastJsonLine<{
    transforms: Record<string, { fields: [string, string][]; inputs: string[]; outputs: string[] }>;
  }>(await py("discover"));
  assert.equal(Object.keys(out.transforms).sort(), [
    "beam:schematransform:org.apache.beam:kafka_read:v1",
    "beam:schematransform:org.apache.beam:kafka_write:v1",
    "beam:transform:managed:v1",
  ]);
  const read = out.transforms["beam:schematransform:org.apache.beam:kafka_read:v1"]!;
  assert.equal(
    read.fields.map(([name]) => name),
    [
      "allow_duplicates",
      "auto_offset_reset_config",
      "bootstrap_servers",
      "confluent_schema_registry_subject",
      "confluent_schema_registry_url",
      "consumer_config_updates",
      "error_handling",
      "file_descriptor_path",
      "format",
      "max_read_time_seconds",
      "message_name",
      "offset_deduplication",
      "redistribute_by_record_key",
      "redistribute_num_keys",
      "redistributed",
      "schema",
      "topic",
    ],
  );
  const types = Object.fromEntries(read.fields);
  assert.is(types.bootstrap_servers, "<class 'str'>");
  assert.is(types.max_read_time_seconds, "typing.Optional[numpy.int32]");
  assert.is(types.consumer_config_updates, "typing.Optional[typing.Mapping[str, str]]");
  assert.is(types.error_handling, "typing.Optional[Row(output=<class 'str'>)]");
  assert.equal([read.inputs, read.outputs], [[], ["output", "errors"]]);
  const write = out.transforms["beam:schematransform:org.apache.beam:kafka_write:v1"]!;
  assert.equal(
    write.fields.map(([name]) => name),
    [
      "bootstrap_servers",
      "error_handling",
      "file_descriptor_path",
      "format",
      "message_name",
      "producer_config_updates",
      "schema",
      "topic",
    ],
  );
  assert.equal(out.transforms["beam:transform:managed:v1"]!.fields, [
    ["config", "typing.Optional[str]"],
    ["config_url", "typing.Optional[str]"],
    ["transform_identifier", "<class 'str'>"],
  ]);
});

s.test(
  "managed.Read/Write and SchemaAwareExternalTransform construct with our DoFns and the row schemas Python expects",
  async () => {
    const out = lastJsonLine<Record<string, unknown>>(await py("expand-only"));
    assert.equal(out.raw_fields, ["payload"]);
    assert.equal(out.errors_outputs, ["bad", "output"], "error_handling adds the named output beside output");
    assert.equal(out.json_fields, ["id", "name"]);
    assert.equal(out.bad_fields, ["failed_row", "error_message"]);
    assert.equal(out.direct_fields, ["id", "name"], "one output comes back bare");
    assert.equal(out.write_result, [], "a write without error_handling has no outputs");
    assert.equal(out.direct_write_outputs, ["failed"]);
    assert.equal(out.direct_write_fields, ["failed_row", "error_message"]);
    const dofns = out.dofns as string[];
    assert.is(dofns.filter((d) => d === "kafka_schematransform_records_to_rows").length, 3);
    assert.is(dofns.filter((d) => d === "kafka_schematransform_rows_to_records").length, 2);
    assert.is(dofns.filter((d) => d === "kafka_write").length, 2);
    assert.ok((out.environments as string[]).includes("beam:env:process:v1"));
  },
);

s.test("an unsupported format reaches the Python user as INVALID_ARGUMENT naming format", async () => {
  const out = lastJsonLine<{ error: string | null }>(await py("bad-format"));
  assert.ok(out.error, "the pipeline must not construct");
  assert.match(out.error!, /INVALID_ARGUMENT/);
  assert.match(out.error!, /format: PROTO is not supported by kafka-beam-ts \(supported: RAW, JSON, AVRO\)/);
});

s.test("Prism: managed.Write RAW of 100 rows, then managed.Read RAW reads exactly those 100 values", async () => {
  bootstrap = await brokerBootstrap();
  prism ??= await startPrism();
  const topic = uniqueTopic("st");
  await createTopic(bootstrap, topic, 3);
  const args = ["--job-endpoint", prism.jobEndpoint, "--bootstrap", bootstrap, "--topic", topic, "--count", "100"];
  const written = withLogs(await py("write", args, 200_000), (r) => lastJsonLine<{ written: number }>(r));
  assert.is(written.written, 100);

  // What Kafka holds: 100 records, values value-0..99, no keys.
  const inTopic = await consumeTopic(bootstrap, topic, 100);
  const inKafka = inTopic.map((r) => r.value);
  const keys = new Set(inTopic.map((r) => r.key));
  const expected = Array.from({ length: 100 }, (_, i) => `value-${i}`).sort();
  assert.equal([...inKafka].sort(), expected);
  assert.equal([...keys], [null]);

  const read = withLogs(await py("read", [...args, "--read-seconds", "12"], 200_000), (r) =>
    lastJsonLine<{ payloads: string[] }>(r),
  );
  assert.equal([...read.payloads].sort(), expected, "exactly the 100 values, each once");
});

s.test("Prism: managed.Read JSON with error_handling emits parsed rows and dead letters, exactly", async () => {
  bootstrap = await brokerBootstrap();
  prism ??= await startPrism();
  const topic = uniqueTopic("stj");
  await createTopic(bootstrap, topic, 2);
  const good = Array.from({ length: 20 }, (_, i) => ({ id: i, name: i % 2 ? `n-${i}` : null }));
  const bad = ["not json", '{"name": "no id"}', '{"id": "7"}'];
  const producer = testKafka(bootstrap).producer();
  await producer.connect();
  await producer.send({
    topic,
    acks: -1,
    messages: [...good.map((g) => JSON.stringify(g.name === null ? { id: g.id } : g)), ...bad].map((value, i) => ({
      value,
      partition: i % 2,
    })),
  });
  await producer.disconnect();

  const args = [
    "--job-endpoint",
    prism.jobEndpoint,
    "--bootstrap",
    bootstrap,
    "--topic",
    topic,
    "--read-seconds",
    "12",
  ];
  const out = withLogs(await py("read-json-errors", args, 200_000), (r) =>
    lastJsonLine<{ good: { id: number; name: string | null }[]; bad: { failed_row: string; error_message: string }[] }>(
      r,
    ),
  );
  assert.equal(
    [...out.good].sort((a, b) => a.id - b.id),
    good,
  );
  const byRow = new Map(out.bad.map((b) => [b.failed_row, b.error_message]));
  assert.is(out.bad.length, 3);
  assert.match(byRow.get("not json")!, new RegExp(`^${topic}-\\d@\\d+: \\$: the value is not JSON`));
  assert.match(byRow.get('{"name": "no id"}')!, /: \$\.id: required property is missing$/);
  assert.match(byRow.get('{"id": "7"}')!, /: \$\.id: expected an integer, got a string$/);
});

s.test(
  "Prism: managed.Write(format AVRO) writes what fastavro decodes with the derived schema; fastavro's values read back as rows",
  async () => {
    bootstrap = await brokerBootstrap();
    prism ??= await startPrism();
    // Python rows → our AVRO write → Kafka → fastavro (a real Avro implementation) decodes them.
    const topic = uniqueTopic("st-avro-w");
    const args = ["--job-endpoint", prism.jobEndpoint, "--bootstrap", bootstrap, "--topic", topic, "--count", "30"];
    withLogs(await py("write-avro", args, 200_000), (r) => lastJsonLine<{ written: number }>(r));
    const values = (await consumeTopic(bootstrap, topic, 30, { valueEncoding: "hex" })).map((r) => r.value!);
    const file = join(mkdtempSync(join(tmpdir(), "kbt-avro-")), "values.hex");
    writeFileSync(file, `${values.join("\n")}\n`);
    try {
      const decoded = withLogs(await py("avro-decode", ["--values-file", file, "--count", "30"]), (r) =>
        lastJsonLine<{ rows: { id: number }[]; expected: { id: number }[] }>(r),
      );
      assert.equal(
        [...decoded.rows].sort((a, b) => a.id - b.id),
        decoded.expected,
        "every row, decoded by fastavro exactly",
      );
    } finally {
      rmSync(dirname(file), { recursive: true, force: true });
    }

    // fastavro-encoded values (nested record, enum, nullable, decimal, timestamp-millis, array, map, float) →
    // Kafka → managed.Read without a format (AVRO, as in Java) → exactly those rows in Python.
    const orders = uniqueTopic("st-avro-r");
    await createTopic(bootstrap, orders, 2);
    const encoded = lastJsonLine<{ values: string[]; expected: unknown[] }>(await py("avro-encode", ["--count", "25"]));
    const producer = testKafka(bootstrap).producer();
    await producer.connect();
    await producer.send({
      topic: orders,
      acks: -1,
      messages: encoded.values.map((hex, i) => ({ value: Buffer.from(hex, "hex"), partition: i % 2 })),
    });
    await producer.disconnect();
    const read = withLogs(
      await py(
        "read-avro",
        ["--job-endpoint", prism.jobEndpoint, "--bootstrap", bootstrap, "--topic", orders, "--read-seconds", "12"],
        200_000,
      ),
      (r) => lastJsonLine<{ rows: { id: number }[] }>(r),
    );
    assert.equal(
      [...read.rows].sort((a, b) => a.id - b.id),
      encoded.expected,
    );
  },
);

s.test("Prism: Beam YAML writes AVRO and reads it back through our service (a remote provider), exactly", async () => {
  bootstrap = await brokerBootstrap();
  prism ??= await startPrism();
  const topic = uniqueTopic("st-yaml");
  const out = withLogs(
    await py(
      "yaml-roundtrip",
      [
        "--job-endpoint",
        prism.jobEndpoint,
        "--bootstrap",
        bootstrap,
        "--topic",
        topic,
        "--count",
        "40",
        "--read-seconds",
        "10",
      ],
      240_000,
    ),
    (r) => lastJsonLine<{ rows: { id: number; name: string }[] }>(r),
  );
  assert.equal(
    [...out.rows].sort((a, b) => a.id - b.id),
    Array.from({ length: 40 }, (_, i) => ({ id: i, name: `name-${i}` })),
  );
  // What YAML's write put in Kafka: Avro of {id: long, name: string}, no keys; id 0, "name-0" is 00 0c name-0.
  const inKafka = await consumeTopic(bootstrap, topic, 40, { valueEncoding: "hex" });
  assert.equal(new Set(inKafka.map((r) => r.key)), new Set([null]));
  assert.ok(inKafka.some((r) => r.value === `000c${Buffer.from("name-0").toString("hex")}`));
});

s.run();
