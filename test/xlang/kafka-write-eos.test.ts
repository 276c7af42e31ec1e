// Our exactly-once sink from a real Python pipeline on Prism: `beam.ExternalTransform("beam:transform:kafka_write:v1",
// NamedTupleBasedPayloadBuilder(...))` with exactly_once_shards expands to Shard → GroupByKey (run by Prism) →
// WriteTransactions in our worker. Checked with a read_committed reader (our group-less fetch client) and the sink
// group's committed per-shard sequences.
import { rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { consumeTopic, createTopic, testKafka, uniqueTopic } from "../infra/fixtures.js";
import { runKafkaPipeline, lastJsonLine, type PythonResult } from "../infra/python.js";
import { useXlangStack } from "../infra/xlang-stack.js";
import { readClient, readTopic, type ReadRecord } from "../integration/kafka-write-helpers.js";
import { parseShardState, type ShardState } from "../../src/kafka/write/index.js";
import type { KafkaClient } from "../../src/kafka/client/index.js";

const s = suite("xlang exactly-once Kafka write on Prism", { timeoutMs: 300_000 });
const stack = useXlangStack(s);
let reader: KafkaClient | undefined;
s.after(async () => {
  await reader?.close();
});

function client(): KafkaClient {
  reader ??= readClient(stack.bootstrap);
  return reader;
}

function withLogs<T>(result: PythonResult, parse: (r: PythonResult) => T): T {
  try {
    return parse(result);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${stack.logs()}`);
  }
}

/** Runs a Python pipeline on Prism, with requires_stable_input=False unless `stableInput` (Prism refuses it). */
function pipeline(mode: string, args: Record<string, string | number>, stableInput = false): Promise<PythonResult> {
  const flags = [
    ...(stableInput ? [] : ["--no-stable-input"]),
    ...Object.entries(args).flatMap(([k, v]) => [`--${k}`, String(v)]),
  ];
  return runKafkaPipeline(
    mode,
    { expansion: stack.service.expansionAddress, jobEndpoint: stack.prism.jobEndpoint, bootstrap: stack.bootstrap },
    [...flags],
    240_000,
  );
}

/** Asserts that read_committed sees `value-0 .. value-<count-1>` each exactly once, each with its key. */
function assertEachOnce(records: readonly ReadRecord[], count: number, key: (i: number) => string): void {
  const seen = new Map<string, number>();
  for (const r of records) {
    const value = r.value!.toString();
    seen.set(value, (seen.get(value) ?? 0) + 1);
    assert.is(r.key?.toString(), key(Number(value.slice("value-".length))), `${value} carries its key`);
  }
  assert.equal([...seen].filter(([, n]) => n > 1).slice(0, 3), [], "no duplicates");
  assert.is(records.length, count, "every record once");
  for (let i = 0; i < count; i++) assert.ok(seen.has(`value-${i}`), `value-${i} is missing`);
}

async function shardStates(sinkGroup: string, metadataTopic: string): Promise<ShardState[]> {
  const offsets = await client().fetchCommittedOffsets(sinkGroup, [metadataTopic]);
  return offsets
    .sort((a, b) => a.partition - b.partition)
    .map((o) => parseShardState(o, `${sinkGroup}/${metadataTopic}-${o.partition}`));
}

s.test(
  "the default requires_stable_input (for Flink) on Prism: refused at submission, naming the requirement; nothing written",
  async () => {
    const topic = uniqueTopic("xeos-stable");
    await createTopic(stack.bootstrap, topic, 2);
    const result = await pipeline("write-eos", { topic, count: 10, shards: 2, "sink-group": `sink-${topic}` }, true);
    assert.is.not(result.code, 0, "the pipeline fails");
    assert.match(
      result.stderr,
      /doesn't support the following required features: beam:requirement:pardo:stable_input:v1/,
    );
    assert.equal(await readTopic(client(), topic, "read_uncommitted"), []);
  },
);

s.test(
  "Python ExternalTransform(kafka_write, exactly_once_shards=4): 5,000 bounded records, each once under read_committed; a re-run writes nothing",
  async () => {
    const topic = uniqueTopic("xeos");
    const sinkGroup = `sink-${topic}`;
    await createTopic(stack.bootstrap, topic, 4);
    const args = { topic, count: 5000, shards: 4, "sink-group": sinkGroup };
    const out = withLogs(await pipeline("write-eos", args), (r) => lastJsonLine<{ written: number }>(r));
    assert.is(out.written, 5000);
    assertEachOnce(await readTopic(client(), topic, "read_committed"), 5000, (i) => `key-${i}`);
    // One GroupByKey firing per shard (bounded input, global window): batch "g/0", sequence 1, in the sink group.
    const states = await shardStates(sinkGroup, topic);
    assert.equal(
      states.map((st) => [st.seq, st.recent.map((b) => [b.id, b.seq])]),
      Array.from({ length: 4 }, () => [1n, [["g/0", 1n]]]),
    );

    // The same job again (a replayed input, as after a lost result): every batch is found committed and skipped.
    withLogs(await pipeline("write-eos", args), (r) => lastJsonLine<{ written: number }>(r));
    assertEachOnce(await readTopic(client(), topic, "read_committed"), 5000, (i) => `key-${i}`);
    assert.equal(
      (await shardStates(sinkGroup, topic)).map((st) => st.seq),
      [1n, 1n, 1n, 1n],
      "no batch committed twice",
    );
  },
);

s.test(
  "Python unbounded ReadFromKafka → exactly-once write: batched in 1 s windows, every record once, per-shard sequences",
  async () => {
    const source = uniqueTopic("xeos-src");
    const results = uniqueTopic("xeos-out");
    const meta = uniqueTopic("xeos-meta");
    const sinkGroup = `sink-${results}`;
    await createTopic(stack.bootstrap, source, 4);
    await createTopic(stack.bootstrap, results, 2);
    await createTopic(stack.bootstrap, meta, 3);
    const producer = testKafka(stack.bootstrap).producer();
    await producer.connect();
    await producer.send({
      topic: source,
      acks: -1,
      messages: Array.from({ length: 2000 }, (_, i) => ({ key: `k${i}`, value: `value-${i}`, partition: i % 4 })),
    });
    await producer.disconnect();

    // The pipeline runs until the test has seen every record (it then creates the stop file), at most 150 s.
    const stopFile = join(tmpdir(), `${results}.stop`);
    const run = pipeline("write-eos-unbounded", {
      topic: source,
      "results-topic": results,
      shards: 3,
      "sink-group": sinkGroup,
      "metadata-topic": meta,
      "run-seconds": 150,
      "stop-file": stopFile,
    });
    // kafkajs consumers read committed by default: records of open or aborted transactions never show up here.
    const arrived = await consumeTopic(stack.bootstrap, results, 2000, { timeoutMs: 150_000, settleMs: 1000 }).catch(
      async (err: Error) => {
        await writeFile(stopFile, "");
        throw new Error(`${err.message}\n${(await run).stderr.slice(-4000)}\n${stack.logs()}`);
      },
    );
    await writeFile(stopFile, "");
    assert.is(arrived.length, 2000);
    const out = withLogs(await run, (r) => lastJsonLine<{ state: string }>(r));
    await rm(stopFile, { force: true });
    assert.match(out.state, /CANCEL|DONE/);

    assertEachOnce(await readTopic(client(), results, "read_committed"), 2000, (i) => `k${i}`);
    const states = await shardStates(sinkGroup, meta);
    assert.is(states.length, 3);
    for (const [shard, st] of states.entries()) {
      assert.ok(st.seq >= 1n, `shard ${shard} committed at least one batch`);
      assert.is(st.recent.at(-1)!.seq, st.seq);
      for (const batch of st.recent) {
        const m = /^(\d+)~(\d+)\/0$/.exec(batch.id);
        assert.ok(m, `shard ${shard}: batch ${batch.id} is one fixed window's on-time pane`);
        assert.is(Number(m![2]) - Number(m![1]), 1000, `shard ${shard}: batch ${batch.id} spans 1 s`);
      }
    }
  },
);

s.run();
