// writeToKafka at-least-once on a real broker, through the local runner: exact read-back of 100,000 records,
// headers and timestamps, dynamic topics and a custom partitioner, Java serializers, gzip, and a broker-side send
// failure that fails the pipeline with Kafka's error.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { brokerBootstrap, createTopic, releaseBroker, uniqueTopic, withAdmin } from "../infra/fixtures.js";
import { Create, ParDo, Pipeline, kv, type KV } from "../../src/pipeline/index.js";
import type { DoFnPayload } from "../../src/model/dofn-payload.js";
import { closeAllClients, type KafkaClient } from "../../src/kafka/client/index.js";
import { KafkaError } from "../../src/kafka/errors.js";
import {
  WRITE_METRICS,
  kafkaWriteDoFnFactory,
  writeSpecFromOptions,
  writeToKafka,
  type WriteRecord,
} from "../../src/kafka/write/index.js";
import { readClient, readTopic, runLocal, userCounters } from "./kafka-write-helpers.js";

const s = suite("kafka write: at-least-once on a real broker", { timeoutMs: 55_000 });
let bootstrap = "";
let reader: KafkaClient;

s.before(async () => {
  bootstrap = await brokerBootstrap();
  reader = readClient(bootstrap);
});
s.after(async () => {
  await reader?.close();
  await closeAllClients();
  await releaseBroker();
});

s.test(
  "write: 100,000 KV records over 4 partitions read back exactly, each once, in order per key; counters per topic",
  async () => {
    const total = 100_000;
    const topic = uniqueTopic("write-100k");
    await createTopic(bootstrap, topic, 4);
    const elements: KV<string, string>[] = Array.from({ length: total }, (_, i) => kv(`key-${i % 1000}`, `value-${i}`));
    const p = Pipeline.create();
    p.apply(Create.of(elements)).apply(
      writeToKafka<string, string>({
        producerConfig: { "bootstrap.servers": bootstrap, "linger.ms": "5" },
        topic,
        keySerializer: "org.apache.kafka.common.serialization.StringSerializer",
        valueSerializer: "org.apache.kafka.common.serialization.StringSerializer",
      }),
    );
    const metrics = await runLocal(p);
    const records = await readTopic(reader, topic, "read_uncommitted");

    assert.is(records.length, total);
    const seen = new Uint8Array(total);
    const partitionOfKey = new Map<string, number>();
    const lastOfKey = new Map<string, number>();
    for (const r of records) {
      const key = r.key!.toString();
      const i = Number(r.value!.toString().slice("value-".length));
      assert.is(key, `key-${i % 1000}`);
      assert.is(seen[i], 0, `value-${i} twice`);
      seen[i] = 1;
      const before = partitionOfKey.get(key);
      if (before !== undefined) assert.is(r.partition, before, "one key, one partition");
      partitionOfKey.set(key, r.partition);
      // Records of one key keep their order across the producer's sends (Kafka's per-partition order).
      const last = lastOfKey.get(key) ?? -1;
      assert.ok(i > last, `${key}: value-${i} follows value-${last} in partition ${r.partition}`);
      lastOfKey.set(key, i);
    }
    assert.ok(
      seen.every((x) => x === 1),
      "every value present",
    );
    assert.is(partitionOfKey.size, 1000);
    assert.is(new Set(partitionOfKey.values()).size, 4, "keys spread over all partitions");
    const bytes = elements.reduce((n, e) => n + Buffer.byteLength(e.key) + Buffer.byteLength(e.value), 0);
    assert.equal(userCounters(metrics, /^(records|bytes)_written\//), {
      [WRITE_METRICS.recordsWritten(topic)]: total,
      [WRITE_METRICS.bytesWritten(topic)]: bytes,
    });
  },
);

s.test(
  "write: headers, explicit timestamps, partitions and dynamic topics round-trip (native WriteRecords)",
  async () => {
    const a = uniqueTopic("write-rec-a");
    const b = uniqueTopic("write-rec-b");
    await createTopic(bootstrap, a, 3);
    await createTopic(bootstrap, b, 1);
    const elements: WriteRecord<string, unknown>[] = [
      {
        key: "k1",
        value: { n: 1 },
        partition: 2,
        timestamp: 1_700_000_000_001n,
        headers: [
          { key: "trace", value: "t-1" },
          { key: "bin", value: new Uint8Array([0, 255]) },
          { key: "none", value: null },
        ],
      },
      {
        key: "k2",
        value: { n: 2 },
        partition: 0,
        timestamp: 1_700_000_000_002,
        headers: [
          { key: "dup", value: "x" },
          { key: "dup", value: "y" },
        ],
      },
      { topic: b, key: null, value: { n: 3 }, timestamp: 1_600_000_000_000n },
      { topic: b, key: "tomb", value: null, timestamp: 1_600_000_000_001n },
    ];
    const p = Pipeline.create();
    p.apply(Create.of(elements)).apply(
      writeToKafka<string, unknown>({
        producerConfig: { "bootstrap.servers": bootstrap, "compression.type": "gzip" },
        topic: a,
        keySerializer: "string",
        valueSerializer: "json",
        input: "record",
      }),
    );
    const metrics = await runLocal(p);
    // Dynamic destinations are counted per topic: key + value bytes of what Kafka acknowledged.
    assert.equal(userCounters(metrics, /_written\//), {
      [WRITE_METRICS.recordsWritten(a)]: 2,
      [WRITE_METRICS.bytesWritten(a)]: 2 + 7 + 2 + 7,
      [WRITE_METRICS.recordsWritten(b)]: 2,
      [WRITE_METRICS.bytesWritten(b)]: 7 + 4,
    });

    const inA = (await readTopic(reader, a)).sort((x, y) => x.partition - y.partition);
    assert.equal(
      inA.map((r) => ({
        partition: r.partition,
        key: r.key?.toString(),
        value: r.value?.toString(),
        timestamp: r.timestamp,
        timestampType: r.timestampType,
        headers: r.headers.map((h) => [h.key, h.value?.toString("hex")]),
      })),
      [
        {
          partition: 0,
          key: "k2",
          value: '{"n":2}',
          timestamp: 1_700_000_000_002n,
          timestampType: "CreateTime",
          headers: [
            ["dup", "78"],
            ["dup", "79"],
          ],
        },
        {
          partition: 2,
          key: "k1",
          value: '{"n":1}',
          timestamp: 1_700_000_000_001n,
          timestampType: "CreateTime",
          headers: [
            ["trace", Buffer.from("t-1").toString("hex")],
            ["bin", "00ff"],
            ["none", undefined],
          ],
        },
      ],
    );
    const inB = await readTopic(reader, b);
    assert.equal(
      inB.map((r) => ({ key: r.key?.toString() ?? null, value: r.value?.toString() ?? null, timestamp: r.timestamp })),
      [
        { key: null, value: '{"n":3}', timestamp: 1_600_000_000_000n },
        { key: "tomb", value: null, timestamp: 1_600_000_000_001n },
      ],
    );
  },
);

s.test(
  "write: Beam's kafka_write_with_headers rows through the payload factory (the Fn API worker's path)",
  async () => {
    const topic = uniqueTopic("write-rows");
    const other = uniqueTopic("write-rows-other");
    await createTopic(bootstrap, topic, 2);
    await createTopic(bootstrap, other, 1);
    const write = writeSpecFromOptions({ producerConfig: { "bootstrap.servers": bootstrap }, topic });
    // What the expansion service puts in the ParDo: JSON, decoded by the worker.
    const payload = JSON.parse(JSON.stringify({ fn: "kafka_write", write, input: "row" })) as DoFnPayload;
    // Rows as Beam's RowCoder decodes Python's beam.Row(...): bytes as Uint8Array, Python ints as INT64 (bigint).
    const rows = [
      {
        key: new Uint8Array([1]),
        value: new Uint8Array([2]),
        headers: [{ key: "h", value: new Uint8Array([3]) }],
        topic: null,
        partition: 1n,
        timestamp: 1_690_000_000_000n,
      },
      {
        key: new Uint8Array([4]),
        value: new Uint8Array([5]),
        headers: null,
        topic: other,
        partition: null,
        timestamp: null,
      },
    ];
    const p = Pipeline.create();
    p.apply(Create.of(rows)).apply("WriteRows", ParDo.of(kafkaWriteDoFnFactory(payload)));
    await runLocal(p);
    const [first] = await readTopic(reader, topic);
    assert.equal(
      {
        partition: first!.partition,
        key: [...first!.key!],
        value: [...first!.value!],
        headers: first!.headers.map((h) => [h.key, [...h.value!]]),
        timestamp: first!.timestamp,
      },
      { partition: 1, key: [1], value: [2], headers: [["h", [3]]], timestamp: 1_690_000_000_000n },
    );
    const [second] = await readTopic(reader, other);
    assert.equal(
      { key: [...second!.key!], value: [...second!.value!], headers: second!.headers.length },
      { key: [4], value: [5], headers: 0 },
    );
    assert.ok(second!.timestamp > 1_700_000_000_000n, "no timestamp: the producer stamps the send time");
  },
);

s.test(
  "write: element timestamps (timestampPolicy element), a timestamp function and a custom partitioner",
  async () => {
    const topic = uniqueTopic("write-part");
    await createTopic(bootstrap, topic, 5);
    const p = Pipeline.create();
    const elements = Array.from({ length: 50 }, (_, i) => ({
      value: kv(i, `v${i}`),
      timestamp: 1_650_000_000_000n + BigInt(i),
    }));
    const counts: number[] = [];
    p.apply(Create.timestamped(elements)).apply(
      writeToKafka<number, string>({
        producerConfig: { "bootstrap.servers": bootstrap },
        topic,
        keySerializer: "long",
        valueSerializer: "string",
        timestampPolicy: "element",
        timestampFn: (element) => ((element as KV<number, string>).key % 10 === 0 ? 42 : null),
        partitioner: (record, numPartitions) => {
          counts.push(numPartitions);
          return Number(record.key!.readBigInt64BE(0)) % numPartitions;
        },
      }),
    );
    await runLocal(p);
    const records = await readTopic(reader, topic);
    assert.is(records.length, 50);
    for (const r of records) {
      const i = Number(r.key!.readBigInt64BE(0));
      assert.is(r.partition, i % 5);
      assert.is(r.value!.toString(), `v${i}`);
      assert.is(r.timestamp, i % 10 === 0 ? 42n : 1_650_000_000_000n + BigInt(i));
    }
    assert.ok(counts.length === 50 && counts.every((c) => c === 5), "the partitioner saw the topic's partition count");
  },
);

s.test("write: a send the broker rejects fails the pipeline with Kafka's error", async () => {
  const topic = uniqueTopic("write-too-large");
  await withAdmin(bootstrap, (admin) =>
    admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: 1,
          replicationFactor: 1,
          configEntries: [{ name: "max.message.bytes", value: "2000" }],
        },
      ],
      waitForLeaders: true,
    }),
  );
  const p = Pipeline.create();
  p.apply(Create.of([kv(null, new Uint8Array(10_000))])).apply(
    writeToKafka<null, Uint8Array>({
      producerConfig: { "bootstrap.servers": bootstrap, "delivery.timeout.ms": "40000" },
      topic,
    }),
  );
  try {
    await runLocal(p);
    assert.unreachable("the pipeline succeeded");
  } catch (err) {
    assert.instance(err, KafkaError, String(err));
    assert.match((err as Error).message, /produce/);
    assert.is((err as { kafkaErrorType?: string }).kafkaErrorType, "MESSAGE_TOO_LARGE");
  }
  assert.is((await readTopic(reader, topic)).length, 0);
});

s.run();
