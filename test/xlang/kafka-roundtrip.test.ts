// End to end with real parts: Beam Python's own WriteToKafka / ReadFromKafka on Prism, expanded by our service,
// executed by our worker (process environment), against the real broker.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { consumeTopic, createTopic, uniqueTopic, testKafka, withAdmin } from "../infra/fixtures.js";
import {
  runKafkaPipeline,
  lastJsonLine,
  type MetadataRow,
  type PipelineEndpoints,
  type PythonResult,
} from "../infra/python.js";
import { useXlangStack } from "../infra/xlang-stack.js";

const s = suite("xlang Kafka roundtrip on Prism", { timeoutMs: 240_000 });
const stack = useXlangStack(s);

/** Our service, Prism and the broker, for kafka_pipelines.py. */
function prism(): PipelineEndpoints {
  return {
    expansion: stack.service.expansionAddress,
    jobEndpoint: stack.prism.jobEndpoint,
    bootstrap: stack.bootstrap,
  };
}

function pipeline(mode: string, topic: string, count: number): Promise<PythonResult> {
  return runKafkaPipeline(mode, prism(), ["--topic", topic, "--count", String(count)], 200_000);
}

function withLogs<T>(result: PythonResult, parse: (r: PythonResult) => T): T {
  try {
    return parse(result);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${stack.logs()}`);
  }
}

/** Unequal partition sizes on purpose: Java's KafkaIO hangs reading N records from such a topic. */
async function produceUnequal(topic: string, count: number): Promise<Map<string, string>> {
  const producer = testKafka(stack.bootstrap).producer();
  await producer.connect();
  const expected = new Map<string, string>();
  const messages = Array.from({ length: count }, (_, i) => {
    expected.set(`key-${i}`, `value-${i}`);
    return { key: `key-${i}`, value: `value-${i}`, partition: i % 10 < 5 ? 0 : i % 10 < 8 ? 1 : i % 10 < 9 ? 2 : 3 };
  });
  for (let i = 0; i < messages.length; i += 2000)
    await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 2000) });
  await producer.disconnect();
  return expected;
}

s.test("Python WriteToKafka writes 10,000 records through our worker, exactly", async () => {
  const topic = uniqueTopic("xw");
  const out = withLogs(await pipeline("write", topic, 10_000), (r) => lastJsonLine<{ written: number }>(r));
  assert.is(out.written, 10_000);
  const written = await consumeTopic(stack.bootstrap, topic, 10_000);
  assert.is(written.length, 10_000);
  const seen = new Map<string | null, number>();
  for (const { value } of written) seen.set(value, (seen.get(value) ?? 0) + 1);
  for (let i = 0; i < 10_000; i++) assert.is(seen.get(`value-${i}`), 1, `value-${i} exactly once`);
});

s.test("Python WriteToKafka(with_headers=True) writes rows: key, value, headers and timestamp round-trip", async () => {
  const topic = uniqueTopic("xh");
  const out = withLogs(await pipeline("write-headers", topic, 50), (r) =>
    lastJsonLine<{ written: number; base_timestamp: number }>(r),
  );
  assert.is(out.written, 50);
  const seen = (await consumeTopic(stack.bootstrap, topic, 50)).map((r) => ({
    key: r.key,
    value: r.value,
    headers: r.headers,
    timestamp: r.timestamp,
  }));
  seen.sort((a, b) => Number(a.headers.n) - Number(b.headers.n));
  assert.equal(
    seen,
    Array.from({ length: 50 }, (_, i) => ({
      key: `key-${i}`,
      value: `value-${i}`,
      headers: { n: String(i) },
      timestamp: BigInt(out.base_timestamp + i),
    })),
  );
});

s.test(
  "a Python Map without output types before WriteToKafka is refused at construction, naming the coder and the fix; nothing is written",
  async () => {
    const input = uniqueTopic("xu-in");
    const output = uniqueTopic("xu-out");
    await createTopic(stack.bootstrap, input, 1);
    const out = withLogs(
      await runKafkaPipeline("write-untyped", prism(), ["--topic", input, "--results-topic", output], 120_000),
      (r) => lastJsonLine<{ error_type?: string; error: string | null }>(r),
    );
    assert.ok(out.error, "the pipeline was refused");
    assert.match(out.error!, /INVALID_ARGUMENT|transform\.inputs/);
    assert.match(
      out.error!,
      /beam:coder:(pickled_python|fast_primitives|[a-z_]+python[a-z_]*):v1|coder is beam:coder:/,
    );
    assert.match(out.error!, /with_output_types\(typing\.Tuple\[bytes, bytes\]\)/);
    const topics = await withAdmin(stack.bootstrap, (admin) => admin.listTopics());
    assert.not.ok(topics.includes(output), "nothing ran, so nothing created the output topic");
  },
);

s.test("Python ReadFromKafka(max_num_records=10000) reads 4 unequal lz4 partitions and finishes, exactly", async () => {
  const topic = uniqueTopic("xr");
  // Stored as Java's lz4 compresses it (the topic's compression.type), as many production topics are.
  await createTopic(stack.bootstrap, topic, 4, { "compression.type": "lz4" });
  const expected = await produceUnequal(topic, 10_000);
  const out = withLogs(await pipeline("read", topic, 10_000), (r) =>
    lastJsonLine<{ records: [string | null, string | null][] }>(r),
  );
  assert.is(out.records.length, 10_000);
  const got = new Map(out.records.map(([k, v]) => [k!, v!]));
  assert.is(got.size, 10_000, "no duplicates");
  for (const [k, v] of expected) assert.is(got.get(k), v);
});

s.test("Python ReadFromKafka(with_metadata=True) decodes our rows: topic, partition, offsets, headers", async () => {
  const topic = uniqueTopic("xm");
  await createTopic(stack.bootstrap, topic, 2);
  const producer = testKafka(stack.bootstrap).producer();
  await producer.connect();
  const base = Date.now() - 60_000; // recent: the broker's retention deletes records stamped 7 days back
  await producer.send({
    topic,
    acks: -1,
    messages: Array.from({ length: 20 }, (_, i) => ({
      key: `k${i}`,
      value: `v${i}`,
      partition: i % 2,
      timestamp: String(base + i),
      headers: { n: String(i) },
    })),
  });
  await producer.disconnect();
  const out = withLogs(await pipeline("read-metadata", topic, 20), (r) => lastJsonLine<{ records: MetadataRow[] }>(r));
  const rows = out.records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  assert.is(rows.length, 20);
  rows.forEach((row, j) => {
    const partition = j < 10 ? 0 : 1;
    const offset = j % 10;
    const i = offset * 2 + partition;
    assert.equal(row, {
      topic,
      partition,
      offset,
      timestamp: base + i,
      key: `k${i}`,
      value: `v${i}`,
      headers: [["n", String(i)]],
      timestampTypeId: 0,
      timestampTypeName: "CreateTime",
    });
  });
});

s.test(
  "Python ReadFromKafka(redistribute=True, redistribute_num_keys=3): accepted and run as Prism runs a redistribute (a fusion break)",
  async () => {
    const topic = uniqueTopic("xrd");
    await createTopic(stack.bootstrap, topic, 2);
    const producer = testKafka(stack.bootstrap).producer();
    await producer.connect();
    const base = Date.now() - 60_000;
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: 50 }, (_, i) => ({
        key: `k${i}`,
        value: `v${i}`,
        partition: i % 2,
        timestamp: String(base + i),
      })),
    });
    await producer.disconnect();
    const out = withLogs(
      await runKafkaPipeline(
        "read-metadata",
        prism(),
        [
          "--topic",
          topic,
          "--count",
          "50",
          "--redistribute-keys",
          "3",
          "--timestamp-policy",
          "CreateTime",
          "--element-timestamps",
        ],
        200_000,
      ),
      (r) => lastJsonLine<{ records: (MetadataRow & { elementTimestamp: number })[] }>(r),
    );
    const rows = out.records.sort((a, b) => a.timestamp - b.timestamp);
    assert.equal(
      rows.map((r) => `${r.key}=${r.value}@${r.timestamp}/${r.elementTimestamp}`),
      Array.from({ length: 50 }, (_, i) => `k${i}=v${i}@${base + i}/${base + i}`),
    );
  },
);

s.test(
  "an unbounded Python read counts fixed windows while one partition is idle, commits offsets, cancels",
  async () => {
    const topic = uniqueTopic("xu");
    const results = uniqueTopic("xu-results");
    const group = `g-${topic}`;
    await createTopic(stack.bootstrap, topic, 4);
    // Three 2 s windows in the recent past, 100 records each, on partitions 0-2; partition 3 stays idle.
    const base = (Math.floor(Date.now() / 2000) - 5) * 2000;
    const producer = testKafka(stack.bootstrap).producer();
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: 300 }, (_, i) => ({
        value: `v${i}`,
        partition: i % 3,
        timestamp: String(base + Math.floor(i / 100) * 2000 + (i % 100) * 10),
      })),
    });
    await producer.disconnect();

    const out = withLogs(
      await runKafkaPipeline(
        "unbounded",
        prism(),
        ["--topic", topic, "--results-topic", results, "--group", group, "--run-seconds", "25"],
        200_000,
      ),
      (r) => lastJsonLine<{ state: string }>(r),
    );
    assert.match(out.state, /CANCEL|DONE/);

    const counts = new Map<number, number>();
    const consumer = testKafka(stack.bootstrap).consumer({ groupId: `check-${results}` });
    await consumer.connect();
    await consumer.subscribe({ topic: results, fromBeginning: true });
    await new Promise<void>((done) => {
      const timer = setTimeout(done, 15_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          const start = Number(message.key!.toString());
          counts.set(start, (counts.get(start) ?? 0) + Number(message.value!.toString()));
          if (counts.size === 3 && [...counts.values()].every((c) => c === 100)) {
            clearTimeout(timer);
            done();
          }
        },
      });
    });
    await consumer.disconnect();
    assert.equal(
      [...counts.entries()].sort((a, b) => a[0] - b[0]),
      [
        [base / 1000, 100],
        [base / 1000 + 2, 100],
        [base / 1000 + 4, 100],
      ],
      "each window fired once with its 100 records",
    );

    const committed = await withAdmin(stack.bootstrap, (admin) =>
      admin.fetchOffsets({ groupId: group, topics: [topic] }),
    );
    const byPartition = Object.fromEntries(committed[0]!.partitions.map((p) => [p.partition, p.offset]));
    assert.equal(
      byPartition,
      { 0: "100", 1: "100", 2: "100", 3: "-1" },
      "finalized bundles committed the offsets read",
    );
  },
);

s.test(
  "an unbounded Python read with dynamic_read_poll_interval_seconds picks up a partition added mid-run",
  async () => {
    const topic = uniqueTopic("xd");
    const results = uniqueTopic("xd-results");
    await createTopic(stack.bootstrap, topic, 2);
    const producer = testKafka(stack.bootstrap).producer();
    await producer.connect();
    try {
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 2 })),
      });
      const run = runKafkaPipeline(
        "discover",
        prism(),
        ["--topic", topic, "--results-topic", results, "--run-seconds", "30"],
        200_000,
      );
      const before = await consumeTopic(stack.bootstrap, results, 200, { timeoutMs: 60_000, settleMs: 0 });
      assert.is(before.length, 200);
      await withAdmin(stack.bootstrap, (admin) => admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] }));
      // A new producer: kafkajs's producer silently drops records for a partition its metadata does not know yet.
      const late = testKafka(stack.bootstrap).producer();
      await late.connect();
      await late.send({
        topic,
        acks: -1,
        messages: Array.from({ length: 100 }, (_, i) => ({ key: `n${i}`, value: `new${i}`, partition: 2 })),
      });
      await late.disconnect();
      const ends = await withAdmin(stack.bootstrap, (admin) => admin.fetchTopicOffsets(topic));
      assert.equal(ends.map((o) => [o.partition, o.high]).sort(), [
        [0, "100"],
        [1, "100"],
        [2, "100"],
      ]);
      const after = await consumeTopic(stack.bootstrap, results, 300, { timeoutMs: 30_000 }).catch((err: Error) => {
        throw new Error(`${err.message}\n${stack.logs()}`);
      });
      const out = withLogs(await run, (r) => lastJsonLine<{ state: string }>(r));
      assert.match(out.state, /CANCEL|DONE/);
      assert.equal(
        after.map((r) => `${r.key}=${r.value}`).sort(),
        [
          ...Array.from({ length: 200 }, (_, i) => `k${i}=V${i}`),
          ...Array.from({ length: 100 }, (_, i) => `n${i}=NEW${i}`),
        ].sort(),
        "every record once, the new partition's included",
      );
    } finally {
      await producer.disconnect();
    }
  },
);

s.run();
