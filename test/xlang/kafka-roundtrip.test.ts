// End to end with real parts: Beam Python's own WriteToKafka / ReadFromKafka on Prism, expanded by our service,
// executed by our worker (process environment), against the real broker.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { brokerBootstrap, releaseBroker, createTopic, uniqueTopic, testKafka } from "../infra/fixtures.js";
import { runPython, lastJsonLine, type PythonResult } from "../infra/python.js";
import { startPrism, type Prism } from "../infra/prism.js";
import { startServe, type RunningCli } from "../infra/service.js";

const s = suite("xlang Kafka roundtrip on Prism", { timeoutMs: 240_000 });
let bootstrap = "";
let prism: Prism;
let service: RunningCli;

s.before(async () => {
  bootstrap = await brokerBootstrap();
  [prism, service] = await Promise.all([startPrism(), startServe()]);
});
s.after(async () => {
  await Promise.all([prism?.stop(), service?.stop()]);
  await releaseBroker();
});

function pipeline(mode: string, topic: string, count: number): Promise<PythonResult> {
  return runPython("kafka_pipelines.py", [mode, "--expansion", service.expansionAddress, "--job-endpoint", prism.jobEndpoint,
    "--bootstrap", bootstrap, "--topic", topic, "--count", String(count)], 200_000);
}

function withLogs<T>(result: PythonResult, parse: (r: PythonResult) => T): T {
  try {
    return parse(result);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- prism/worker output ---\n${prism.output().slice(-6000)}\n--- service ---\n${service.output().slice(-3000)}`);
  }
}

/** Unequal partition sizes on purpose: Java's KafkaIO hangs reading N records from such a topic. */
async function produceUnequal(topic: string, count: number): Promise<Map<string, string>> {
  const producer = testKafka(bootstrap).producer();
  await producer.connect();
  const expected = new Map<string, string>();
  const messages = Array.from({ length: count }, (_, i) => {
    expected.set(`key-${i}`, `value-${i}`);
    return { key: `key-${i}`, value: `value-${i}`, partition: i % 10 < 5 ? 0 : i % 10 < 8 ? 1 : i % 10 < 9 ? 2 : 3 };
  });
  for (let i = 0; i < messages.length; i += 2000) await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 2000) });
  await producer.disconnect();
  return expected;
}

s.test("Python WriteToKafka writes 10,000 records through our worker, exactly", async () => {
  const topic = uniqueTopic("xw");
  await createTopic(bootstrap, topic, 4);
  const out = withLogs(await pipeline("write", topic, 10_000), (r) => lastJsonLine<{ written: number }>(r));
  assert.is(out.written, 10_000);
  const consumer = testKafka(bootstrap).consumer({ groupId: `g-${topic}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = new Map<string, number>();
  await new Promise<void>((done) => {
    let n = 0;
    void consumer.run({ eachMessage: async ({ message }) => {
      const value = message.value!.toString();
      seen.set(value, (seen.get(value) ?? 0) + 1);
      if (++n === 10_000) done();
    } });
  });
  await consumer.disconnect();
  assert.is(seen.size, 10_000);
  for (let i = 0; i < 10_000; i++) assert.is(seen.get(`value-${i}`), 1, `value-${i} exactly once`);
});

s.test("Python ReadFromKafka(max_num_records=10000) reads 4 unequal partitions and finishes, exactly", async () => {
  const topic = uniqueTopic("xr");
  await createTopic(bootstrap, topic, 4);
  const expected = await produceUnequal(topic, 10_000);
  const out = withLogs(await pipeline("read", topic, 10_000), (r) => lastJsonLine<{ records: [string | null, string | null][] }>(r));
  assert.is(out.records.length, 10_000);
  const got = new Map(out.records.map(([k, v]) => [k!, v!]));
  assert.is(got.size, 10_000, "no duplicates");
  for (const [k, v] of expected) assert.is(got.get(k), v);
});

s.test("Python ReadFromKafka(with_metadata=True) decodes our rows: topic, partition, offsets, headers", async () => {
  const topic = uniqueTopic("xm");
  await createTopic(bootstrap, topic, 2);
  const producer = testKafka(bootstrap).producer();
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: Array.from({ length: 20 }, (_, i) => ({
    key: `k${i}`, value: `v${i}`, partition: i % 2, timestamp: String(1_700_000_000_000 + i), headers: { n: String(i) } })) });
  await producer.disconnect();
  type Row = { topic: string; partition: number; offset: number; timestamp: number; key: string; value: string;
    headers: [string, string][]; timestampTypeId: number; timestampTypeName: string };
  const out = withLogs(await pipeline("read-metadata", topic, 20), (r) => lastJsonLine<{ records: Row[] }>(r));
  const rows = out.records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  assert.is(rows.length, 20);
  rows.forEach((row, j) => {
    const partition = j < 10 ? 0 : 1;
    const offset = j % 10;
    const i = offset * 2 + partition;
    assert.equal(row, { topic, partition, offset, timestamp: 1_700_000_000_000 + i, key: `k${i}`, value: `v${i}`,
      headers: [["n", String(i)]], timestampTypeId: 0, timestampTypeName: "CreateTime" });
  });
});

s.run();
