// ReadFromKafka on the local runner against the real broker: bounded and unbounded reads are exact (no loss, no
// duplicate, per-partition order), the watermark only moves forward, cancel is prompt, and a restart continues from
// the offsets committed by finalized bundles.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { brokerBootstrap, releaseBroker, createTopic, uniqueTopic, testKafka, withAdmin } from "../infra/fixtures.js";
import { ParDo, Pipeline } from "../../src/pipeline/index.js";
import { LocalRunner, type BundleCommittedEvent } from "../../src/runners/local/index.js";
import {
  readFromKafka,
  readFromKafkaWithDeadLetters,
  closeAllClients,
  readSpecFromOptions,
  ReadFromKafkaDoFn,
  type KafkaDeadLetter,
  type KafkaKV,
} from "../../src/kafka/index.js";
import { encodeSourceDescriptor } from "../../src/kafka/read/index.js";
import { OFFSET_INFINITY, offsetRange, type ProcessContext } from "../../src/sdf/index.js";
import { DeserializationError } from "../../src/kafka/serde.js";
import { MIN_TIMESTAMP, type Instant } from "../../src/model/windowing.js";
import {
  assertExactly,
  byPartition,
  readPipeline,
  type ReadOptions,
  produce,
  recordsFor,
  sleep,
  until,
  type ProducedRecord,
  type SeenRecord,
} from "./kafka-read-helpers.js";

const s = suite("kafka read: exact bounded and unbounded reads on the local runner", { timeoutMs: 60_000 });
let bootstrap = "";
s.before(async () => {
  bootstrap = await brokerBootstrap();
});
s.after(async () => {
  await closeAllClients();
  await releaseBroker();
});

/** This suite's reads: rows with metadata from the shared broker. */
function read(options: ReadOptions, seen: SeenRecord[]) {
  return readPipeline(bootstrap, options, seen);
}

s.test(
  "read: a bounded read of 100,000 records over 4 partitions yields exactly them, each partition in order",
  async () => {
    const topic = uniqueTopic("read-bounded");
    await createTopic(bootstrap, topic, 4);
    const produced = recordsFor(4, 25_000);
    await produce(testKafka(bootstrap), topic, produced);

    const seen: SeenRecord[] = [];
    const { pipeline } = read({ topics: [topic], stopAtEndOffsets: true }, seen);
    const handle = pipeline.run(new LocalRunner());
    assert.is(await handle.waitUntilFinish(45_000), "DONE");
    assertExactly(seen, produced);
    const counters = handle.metrics().steps["ReadFromKafka/Read"]?.counters ?? {};
    assert.is(counters[`records_read/${topic}`], 100_000, "records_read counter");
    // Every fetch result consumed is counted (at least one per partition; 4 MiB fetches of 100,000 small records).
    assert.ok((counters[`fetches/${topic}`] ?? 0) >= 4, `fetches counter ${counters[`fetches/${topic}`]}`);
    assert.ok(`fetch_wait_ms/${topic}` in counters, "fetch wait counter");
    for (let partition = 0; partition < 4; partition++) {
      assert.is(
        counters[`partition_records_read/${topic}/${partition}`],
        produced.filter((r) => r.partition === partition).length,
        `partition ${partition}`,
      );
    }
  },
);

s.test("read: max_num_records reads exactly N records spread over the partitions, then finishes", async () => {
  const topic = uniqueTopic("read-max");
  await createTopic(bootstrap, topic, 3);
  await produce(testKafka(bootstrap), topic, recordsFor(3, 1_000));
  const seen: SeenRecord[] = [];
  const { pipeline } = read({ topics: [topic], maxNumRecords: 2_500 }, seen);
  assert.is(await pipeline.run(new LocalRunner()).waitUntilFinish(30_000), "DONE");
  assert.is(seen.length, 2_500);
  assert.is(new Set(seen.map((r) => `${r.partition}/${r.offset}`)).size, 2_500, "no duplicate");
  for (const [partition, records] of byPartition(seen)) {
    // Each partition contributes a prefix of its log: offsets 0..n-1 in order.
    records.forEach((r, i) => {
      if (r.offset !== BigInt(i)) assert.unreachable(`partition ${partition}: offset ${r.offset} at ${i}`);
    });
  }
});

s.test(
  "read: an unbounded read while a producer writes loses nothing, duplicates nothing, keeps the watermark monotone and cancels promptly",
  async () => {
    const topic = uniqueTopic("read-unbounded");
    await createTopic(bootstrap, topic, 3);
    const seen: SeenRecord[] = [];
    const { pipeline, rows } = read({ topics: [topic], timestampPolicy: "CreateTime" }, seen);
    const marks: Instant[] = [];
    const handle = pipeline.run(
      new LocalRunner({ onBundleCommitted: (e: BundleCommittedEvent) => marks.push(e.watermarks[rows.id]!) }),
    );

    // 30 rounds of 500 records while the read runs.
    const kafka = testKafka(bootstrap);
    const produced: ProducedRecord[] = [];
    const t0 = Date.now();
    for (let round = 0; round < 30; round++) {
      const batch = recordsFor(3, 500 / 3 + 1, `r${round}-`)
        .slice(0, 500)
        .map((r) => ({ ...r, timestamp: t0 + round * 10 }));
      await produce(kafka, topic, batch);
      produced.push(...batch);
      await sleep(30);
    }
    await until(() => seen.length >= produced.length, `${produced.length} records`);
    await sleep(500); // a duplicate would show up here
    const cancelStarted = Date.now();
    assert.is(await handle.cancel(), "CANCELLED");
    const cancelMs = Date.now() - cancelStarted;
    assert.ok(cancelMs < 3_000, `cancel took ${cancelMs} ms`);
    const countAtCancel = seen.length;
    await sleep(200);
    assert.is(seen.length, countAtCancel, "nothing is emitted after cancel");

    assertExactly(seen, produced);
    for (const r of seen) assert.is(r.eventTime, r.recordTimestamp, "CreateTime event time");
    for (let i = 1; i < marks.length; i++) {
      if (marks[i]! < marks[i - 1]!)
        assert.unreachable(`the read's watermark went back at bundle ${i}: ${marks[i - 1]} → ${marks[i]}`);
    }
    // Every partition got records with create time t0 + 290 last: the watermark caught up with them.
    const final = handle.watermarks()[rows.id]!;
    assert.ok(final >= BigInt(t0 + 290), `final watermark ${final} is behind the newest create time ${t0 + 290}`);
  },
);

s.test("read: resumes from committed offsets after cancel, exactly where finalized commits left off", async () => {
  const topic = uniqueTopic("read-restart");
  const group = `g-${topic}`;
  await createTopic(bootstrap, topic, 3);
  const kafka = testKafka(bootstrap);
  const config = { "group.id": group };

  // Run 1: reads while records arrive, cancelled in the middle of the stream.
  const first: SeenRecord[] = [];
  const run1 = read({ topics: [topic], commitOffsetsInFinalize: true, consumerConfig: config }, first).pipeline.run(
    new LocalRunner(),
  );
  const produced: ProducedRecord[] = [];
  let round = 0;
  const write = async (rounds: number): Promise<void> => {
    for (const end = round + rounds; round < end; round++) {
      const batch = recordsFor(3, 100, `r${round}-`);
      await produce(kafka, topic, batch);
      produced.push(...batch);
      await sleep(20);
    }
  };
  await write(5);
  await until(() => first.length >= 900, "900 records in run 1");
  const writing = write(10); // keeps writing across the cancel
  await sleep(100);
  assert.is(await run1.cancel(), "CANCELLED");
  await writing;
  assert.ok(first.length < produced.length, "run 1 was cancelled before it read everything");

  // What run 1 committed is exactly what it emitted, per partition.
  const committed = await withAdmin(bootstrap, (admin) => admin.fetchOffsets({ groupId: group, topics: [topic] }));
  const committedBy = new Map(committed[0]!.partitions.map((p) => [p.partition, BigInt(p.offset)]));
  const firstBy = byPartition(first);
  for (let p = 0; p < 3; p++) {
    const emitted = BigInt(firstBy.get(p)?.length ?? 0);
    // Kafka reports -1 for a partition the group never committed (run 1 emitted nothing from it).
    assert.is(
      committedBy.get(p),
      emitted > 0n ? emitted : -1n,
      `partition ${p}: committed offset = records emitted by run 1`,
    );
  }

  // Run 2: same group, continues from the committed offsets and reads the rest exactly once.
  const second: SeenRecord[] = [];
  const run2 = read({ topics: [topic], commitOffsetsInFinalize: true, consumerConfig: config }, second).pipeline.run(
    new LocalRunner(),
  );
  await until(() => first.length + second.length >= produced.length, `${produced.length} records over both runs`);
  await sleep(300);
  assert.is(await run2.cancel(), "CANCELLED");
  for (const [p, records] of byPartition(second)) {
    const start = committedBy.get(p)!;
    assert.is(records[0]!.offset, start < 0n ? 0n : start, `partition ${p}: run 2 starts at the committed offset`);
  }
  assertExactly(
    [...first, ...second].sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : 1)),
    produced,
  );
  const after = await withAdmin(bootstrap, (admin) => admin.fetchOffsets({ groupId: group, topics: [topic] }));
  const total = byPartition(
    produced.map((r) => ({
      ...r,
      topic,
      offset: 0n,
      recordTimestamp: 0n,
      timestampType: "",
      eventTime: MIN_TIMESTAMP,
    })),
  );
  for (const p of after[0]!.partitions)
    assert.is(BigInt(p.offset), BigInt(total.get(p.partition)!.length), `partition ${p.partition}: final commit`);
});

s.test(
  "read: records that fail to deserialize go to the dead-letter output with their error; the rest is read",
  async () => {
    const topic = uniqueTopic("read-dead-letters");
    await createTopic(bootstrap, topic, 1);
    const bad = new Set([3, 7, 8]);
    const records = Array.from({ length: 12 }, (_, i) => ({
      partition: 0,
      key: `k${i}`,
      value: bad.has(i) ? `{not json ${i}` : JSON.stringify({ n: i }),
    }));
    await produce(testKafka(bootstrap), topic, records);
    const options = {
      consumerConfig: { "bootstrap.servers": bootstrap, "auto.offset.reset": "earliest" },
      topics: [topic],
      keyDeserializer: "string",
      valueDeserializer: "json",
      stopAtEndOffsets: true,
    };

    const p = Pipeline.create();
    const { records: good, deadLetters } = p.apply(readFromKafkaWithDeadLetters<string, { n: number }>(options));
    const values: KafkaKV<string, { n: number }>[] = [];
    const letters: KafkaDeadLetter[] = [];
    good.apply(
      "CollectGood",
      ParDo.of({
        process(kv: KafkaKV<string, { n: number }>) {
          values.push(kv);
        },
      }),
    );
    deadLetters.apply(
      "CollectBad",
      ParDo.of({
        process(letter: KafkaDeadLetter) {
          letters.push(letter);
        },
      }),
    );
    const handle = p.run(new LocalRunner());
    assert.is(await handle.waitUntilFinish(30_000), "DONE");
    assert.equal(
      values,
      records.filter((_, i) => !bad.has(i)).map((r) => ({ key: r.key, value: JSON.parse(r.value) })),
    );
    assert.equal(
      letters.map((l) => [l.topic, l.partition, l.offset, l.key?.toString(), l.value?.toString()]),
      [...bad].map((i) => [topic, 0, BigInt(i), `k${i}`, `{not json ${i}`]),
    );
    for (const l of letters) assert.match(l.error, new RegExp(`^${topic}-0@${l.offset}: value: invalid JSON`));
    assert.is(handle.metrics().steps["ReadFromKafka/Read"]?.counters[`deserialization_errors/${topic}`], 3);

    // Without the dead-letter output the first bad record fails the read, naming where it is.
    const plain = Pipeline.create();
    plain.apply(readFromKafka<string, unknown>(options));
    const err = await plain
      .run(new LocalRunner())
      .waitUntilFinish(30_000)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.instance(err, DeserializationError);
    assert.match((err as Error).message, `${topic}-0@3: value: invalid JSON`);
  },
);

s.test(
  "read: the DoFn instances of one read share what they learned of a partition; another read keeps its own",
  async () => {
    // A worker runs each concurrent bundle on DoFn instances of its own, and the runner sends a partition's next
    // restriction to any of them: the next one must know the partition's end (backlog) at once.
    const topic = uniqueTopic("read-shared");
    await createTopic(bootstrap, topic, 1);
    await produce(testKafka(bootstrap), topic, recordsFor(1, 100));
    const options = {
      consumerConfig: { "bootstrap.servers": bootstrap, "auto.offset.reset": "earliest" },
      topics: [topic],
    };
    const spec = readSpecFromOptions(options);
    const first = new ReadFromKafkaDoFn(spec);
    const second = new ReadFromKafkaDoFn(spec);
    const otherRead = new ReadFromKafkaDoFn(readSpecFromOptions({ ...options, maxNumRecords: 1_000 }));
    const element = encodeSourceDescriptor({ topic, partition: 0 });
    const values: string[] = [];
    const context = {
      outputWithTimestamp: (value: KafkaKV) => {
        values.push(String(value.value));
      },
      metrics: { counter: () => ({ inc: () => undefined }) },
    } as unknown as ProcessContext<unknown>;
    try {
      for (const dofn of [first, second, otherRead]) dofn.setup();
      const tracker = first.newTracker(offsetRange(0n, OFFSET_INFINITY), element);
      await first.processElement(context, element, tracker, first.newWatermarkEstimator(MIN_TIMESTAMP));
      assert.equal(
        values,
        Array.from({ length: 100 }, (_, i) => `v0-${i}`),
      );
      assert.is(
        second.getSize(element, offsetRange(40n, OFFSET_INFINITY)),
        60,
        "the other instance knows the end offset",
      );
      assert.is(
        otherRead.getSize(element, offsetRange(40n, OFFSET_INFINITY)),
        0,
        "another read has not learned it yet",
      );
    } finally {
      for (const dofn of [first, second, otherRead]) dofn.teardown();
    }
  },
);

s.test(
  "read: a runner that resumes a partition long after its prefetch came back empty still gets a record produced in between",
  async () => {
    // Flink resumes each partition once per bundle (max_bundle_time_mills); the fetch started ahead at the end of the
    // previous call waited fetch.max.wait.ms on the broker and came back empty long before. That answer is stale.
    const topic = uniqueTopic("read-stale-prefetch");
    await createTopic(bootstrap, topic, 1);
    const seen: SeenRecord[] = [];
    const { pipeline } = read(
      { topics: [topic], emptyPollResumeDelayMs: 2_500, consumerConfig: { "fetch.max.wait.ms": "100" } },
      seen,
    );
    const handle = pipeline.run(new LocalRunner());
    try {
      const fetches = () => handle.metrics().steps["ReadFromKafka/Read"]?.counters[`fetches/${topic}`] ?? 0;
      await until(() => fetches() >= 1, "the first (empty) call");
      await sleep(500); // its prefetch has come back empty by now
      await produce(testKafka(bootstrap), topic, [{ partition: 0, key: "k", value: "late" }]);
      const producedAt = Date.now();
      await until(() => seen.length === 1, "the record", 15_000);
      const tookMs = Date.now() - producedAt;
      // The next call comes <= 2.5 s after the record; one that trusted the stale answer would wait for the call after.
      assert.ok(tookMs < 3_500, `seen ${tookMs} ms after it was produced`);
      assert.equal(
        seen.map((r) => [r.offset, r.value]),
        [[0n, "late"]],
      );
    } finally {
      await handle.cancel();
    }
  },
);

s.run();
