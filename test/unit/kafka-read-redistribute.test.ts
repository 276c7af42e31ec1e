// The redistribute steps' DoFns (the graph is in expansion.test.ts; Flink runs it in xlang/flink.test.ts): keys
// spread round-robin or by the record key's murmur2, timestamps carried through the GroupByKey and restored.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import {
  RedistributeKeyDoFn,
  RedistributeRecords,
  RedistributedValuesDoFn,
  readFromKafka,
  redistributeSpec,
  DEFAULT_REDISTRIBUTE_KEYS,
  type KeyedRecord,
} from "../../src/kafka/read/index.js";
import { keyPartition } from "../../src/kafka/client/index.js";
import { KafkaConfigError } from "../../src/kafka/errors.js";
import { kafkaDoFnFactories } from "../../src/kafka/index.js";
import type { ProcessContext } from "../../src/sdf/index.js";
import { Create, Pipeline, assertThat, pipelineToRunnerApi } from "../../src/pipeline/index.js";
import { LocalRunner, planExecution } from "../../src/runners/local/index.js";
import { runnerApi } from "../../src/model/proto/index.js";
import { decodeDoFnPayload } from "../../src/model/dofn-payload.js";
import type { Instant } from "../../src/model/windowing.js";

const s = suite("kafka read redistribute");

interface Emitted {
  readonly value: unknown;
  readonly timestamp: Instant;
}

/** A ProcessContext for one element at `timestamp`, collecting what the DoFn emits. */
function contextAt<O>(timestamp: Instant, out: Emitted[]): ProcessContext<O> {
  return {
    timestamp,
    output: (value: O) => void out.push({ value, timestamp }),
    outputWithTimestamp: (value: O, at: Instant) => void out.push({ value, timestamp: at }),
  } as unknown as ProcessContext<O>;
}

function keyed(fn: RedistributeKeyDoFn, records: { key: unknown; value: unknown }[], base = 1_000n) {
  const out: Emitted[] = [];
  fn.startBundle();
  for (const [i, record] of records.entries()) fn.process(record, contextAt(base + BigInt(i), out));
  return out.map((e) => e.value as KeyedRecord<unknown>);
}

s.test("redistributeSpec: 0 or unset is the default count; bad counts are refused by name", () => {
  assert.equal(redistributeSpec(undefined, undefined), { numKeys: DEFAULT_REDISTRIBUTE_KEYS, byRecordKey: false });
  assert.equal(redistributeSpec(0, true), { numKeys: 1024, byRecordKey: true });
  assert.equal(redistributeSpec(7, false), { numKeys: 7, byRecordKey: false });
  for (const bad of [-1, 1.5, 2 ** 31]) {
    try {
      redistributeSpec(bad, false);
      assert.unreachable(`${bad} accepted`);
    } catch (err) {
      assert.instance(err, KafkaConfigError);
      assert.is((err as KafkaConfigError).key, "redistribute.numKeys");
    }
  }
});

s.test("round-robin: consecutive buckets from a random start, each record with its own timestamp", () => {
  const fn = new RedistributeKeyDoFn(redistributeSpec(4, false));
  const records = Array.from({ length: 10 }, (_, i) => ({ key: Buffer.from("same"), value: Buffer.from(`v${i}`) }));
  const out = keyed(fn, records);
  const first = Number(out[0]!.key);
  assert.ok(first >= 0 && first < 4);
  assert.equal(
    out.map((kv) => Number(kv.key)),
    Array.from({ length: 10 }, (_, i) => (first + i) % 4),
    "one key's records still spread over every bucket",
  );
  assert.equal(
    out.map((kv) => [kv.value.key, kv.value.value]),
    records.map((r, i) => [1_000n + BigInt(i), r]),
  );
  // Another bundle starts somewhere random again (over many bundles, every bucket is a start).
  const starts = new Set<number>();
  for (let i = 0; i < 200; i++) starts.add(Number(keyed(fn, records.slice(0, 1))[0]!.key));
  assert.equal([...starts].sort(), [0, 1, 2, 3]);
});

s.test("by record key: Kafka's murmur2 of the key bytes; strings and numbers by their text; null keys together", () => {
  const fn = new RedistributeKeyDoFn(redistributeSpec(16, true));
  const records = [
    { key: Buffer.from("user-1"), value: "a" },
    { key: Buffer.from("user-2"), value: "b" },
    { key: Buffer.from("user-1"), value: "c" },
    { key: "user-2", value: "d" },
    { key: 42n, value: "e" },
    { key: null, value: "f" },
    { key: null, value: "g" },
  ];
  const buckets = keyed(fn, records).map((kv) => Number(kv.key));
  const expected = (bytes: string) => keyPartition(Buffer.from(bytes), 16);
  assert.equal(buckets, [
    expected("user-1"),
    expected("user-2"),
    expected("user-1"),
    expected("user-2"),
    expected("42"),
    expected(""),
    expected(""),
  ]);
  assert.is.not(expected("user-1"), expected("user-2"), "the two keys hash apart (else the test shows nothing)");
  // Rows read with metadata carry the key in the same field.
  const row = keyed(fn, [{ key: Buffer.from("user-1"), value: null }]);
  assert.is(Number(row[0]!.key), expected("user-1"));
});

s.test("values: every record of a group leaves at the timestamp it entered with, in group order", () => {
  const fn = new RedistributedValuesDoFn();
  const out: Emitted[] = [];
  // The group's own timestamp is the earliest of its records (the windowing strategy's combiner).
  fn.process(
    {
      key: 3n,
      value: [
        { key: 500n, value: "late one" },
        { key: 100n, value: "earliest" },
        { key: 300n, value: "middle" },
      ],
    },
    contextAt(100n, out),
  );
  assert.equal(out, [
    { value: "late one", timestamp: 500n },
    { value: "earliest", timestamp: 100n },
    { value: "middle", timestamp: 300n },
  ]);
});

s.test("a worker builds both DoFns from the payloads the expansion writes", () => {
  const key = kafkaDoFnFactories.kafka_read_redistribute_key!({
    fn: "kafka_read_redistribute_key",
    redistribute: { numKeys: 3, byRecordKey: false },
  });
  assert.instance(key, RedistributeKeyDoFn);
  assert.equal((key as RedistributeKeyDoFn).doFnPayload(), {
    fn: "kafka_read_redistribute_key",
    redistribute: { numKeys: 3, byRecordKey: false },
  });
  const values = kafkaDoFnFactories.kafka_read_redistribute_values!({ fn: "kafka_read_redistribute_values" });
  assert.instance(values, RedistributedValuesDoFn);
  assert.throws(
    () => kafkaDoFnFactories.kafka_read_redistribute_key!({ fn: "x", redistribute: { numKeys: -2 } }),
    (err: unknown) => err instanceof KafkaConfigError && /numKeys: must be an integer/.test(err.message),
  );
});

s.test(
  "native: readFromKafka({redistribute}) translates to the composite Flink runs; Prism's and ours pass it by",
  () => {
    const p = Pipeline.create();
    p.apply(
      readFromKafka({
        consumerConfig: { "bootstrap.servers": "127.0.0.1:9" },
        topics: ["events"],
        withMetadata: true,
        redistribute: { numKeys: 8 },
      }),
    );
    const proto = pipelineToRunnerApi(p, { environment: { urn: "beam:env:process:v1" } });
    const c = proto.components!;
    const composite = c.transforms!["ReadFromKafka/Redistribute"]!;
    assert.is(composite.spec!.urn, "beam:transform:redistribute_arbitrarily:v1");
    assert.equal(
      composite.subtransforms!.map((id) => [id, c.transforms![id]!.spec!.urn]),
      [
        ["ReadFromKafka/Redistribute/AssignKey", "beam:transform:pardo:v1"],
        ["ReadFromKafka/Redistribute/EveryElement", "beam:transform:window_into:v1"],
        ["ReadFromKafka/Redistribute/GroupByKey", "beam:transform:group_by_key:v1"],
        ["ReadFromKafka/Redistribute/Values", "beam:transform:pardo:v1"],
        ["ReadFromKafka/Redistribute/RestoreTrigger", "beam:transform:window_into:v1"],
      ],
    );
    const strategyOf = (transform: string) => {
      const pc = c.pcollections![Object.values(c.transforms![transform]!.outputs!)[0]!]!;
      return c.windowingStrategies![pc.windowingStrategyId!]!;
    };
    const grouping = strategyOf("ReadFromKafka/Redistribute/EveryElement");
    assert.equal(grouping.trigger, { always: {} });
    assert.is(grouping.outputTime, runnerApi.OutputTime.Enum.EARLIEST_IN_PANE);
    const after = strategyOf("ReadFromKafka/Redistribute/RestoreTrigger");
    assert.equal([after.trigger, after.outputTime], [{ default: {} }, runnerApi.OutputTime.Enum.END_OF_WINDOW]);
    // The DoFns a worker rebuilds, and the row coder carried through (KV<varint, KV<varint, row>>).
    const fnOf = (id: string) =>
      decodeDoFnPayload(runnerApi.ParDoPayload.decode(c.transforms![id]!.spec!.payload!).doFn!.payload!);
    assert.equal(fnOf("ReadFromKafka/Redistribute/AssignKey"), {
      fn: "kafka_read_redistribute_key",
      redistribute: { numKeys: 8, byRecordKey: false },
    });
    assert.equal(fnOf("ReadFromKafka/Redistribute/Values"), { fn: "kafka_read_redistribute_values" });
    const coderUrn = (transform: string) => {
      const pc = c.pcollections![Object.values(c.transforms![transform]!.outputs!)[0]!]!;
      return c.coders![pc.coderId!]!.spec!.urn;
    };
    assert.is(coderUrn("ReadFromKafka/Redistribute/Values"), "beam:coder:row:v1");
    assert.is(coderUrn("ReadFromKafka/Redistribute/AssignKey"), "beam:coder:kv:v1");

    // The local runner replaces the composite as Prism does: a pass-through, none of its steps run.
    const steps = planExecution(p.graph).stages.flatMap((stage) => stage.steps);
    assert.ok(steps.includes("ReadFromKafka/Redistribute"), steps.join(", "));
    assert.not.ok(
      steps.some((step) => step.startsWith("ReadFromKafka/Redistribute/")),
      steps.join(", "),
    );
  },
);

s.test("native: the local runner passes a redistributed PCollection through unchanged", async () => {
  const p = Pipeline.create();
  const values = Array.from({ length: 50 }, (_, i) => ({
    value: { key: `k${i % 5}`, value: `v${i}` },
    timestamp: BigInt(i),
  }));
  const out = p.apply(Create.timestamped(values)).apply(new RedistributeRecords(redistributeSpec(3, false), undefined));
  assertThat(out).containsInAnyOrder(values.map((v) => v.value));
  assert.is(await p.run(new LocalRunner()).waitUntilFinish(10_000), "DONE");
  assert.throws(
    () =>
      readFromKafka({ consumerConfig: { "bootstrap.servers": "h:1" }, topics: ["t"], redistribute: { numKeys: -1 } }),
    (err: unknown) => err instanceof KafkaConfigError && err.key === "redistribute.numKeys",
  );
});

s.run();
