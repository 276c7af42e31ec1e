// ReadFromKafka's event time and watermark on the local runner against the real broker: each timestamp policy
// assigns the timestamps it promises, an idle partition does not hold the watermark, and a broker that is not there
// at start fails the pipeline with a typed error instead of hanging.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { brokerBootstrap, releaseBroker, createTopic, uniqueTopic, testKafka, withAdmin } from "../infra/fixtures.js";
import { freePort } from "../infra/ports.js";
import { LocalRunner } from "../../src/runners/local/index.js";
import { closeAllClients, KafkaClientError } from "../../src/kafka/index.js";
import { KafkaError } from "../../src/kafka/errors.js";
import { MIN_TIMESTAMP } from "../../src/model/windowing.js";
import {
  produce,
  readPipeline,
  type ReadOptions,
  sleep,
  until,
  type ProducedRecord,
  type SeenRecord,
} from "./kafka-read-helpers.js";

const s = suite("kafka read: timestamp policies, idle partitions, unavailable broker", { timeoutMs: 45_000 });
let bootstrap = "";
s.before(async () => {
  bootstrap = await brokerBootstrap();
});
s.after(async () => {
  await closeAllClients();
  await releaseBroker();
});

type Options = ReadOptions;

function pipelineOf(options: Options, seen: SeenRecord[], servers = bootstrap) {
  return readPipeline(servers, options, seen);
}

/** Reads the whole topic (bounded) with these options. */
async function readAll(options: Options): Promise<SeenRecord[]> {
  const seen: SeenRecord[] = [];
  const state = await pipelineOf({ ...options, stopAtEndOffsets: true }, seen)
    .pipeline.run(new LocalRunner())
    .waitUntilFinish(30_000);
  assert.is(state, "DONE");
  return seen;
}

const OLD = 1_000_000_000_000; // 2001: far from any wall-clock time of the test

function oldRecords(n: number, partitions: number): ProducedRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    partition: i % partitions,
    key: `k${i}`,
    value: `${OLD + i * 7}`,
    timestamp: OLD + i * 7,
  }));
}

s.test("timestamps: CreateTime gives each record its producer timestamp as event time", async () => {
  const topic = uniqueTopic("ts-create");
  await createTopic(bootstrap, topic, 2);
  await produce(testKafka(bootstrap), topic, oldRecords(400, 2));
  const seen = await readAll({ topics: [topic], timestampPolicy: "CreateTime" });
  assert.is(seen.length, 400);
  for (const r of seen) {
    assert.is(r.timestampType, "CreateTime");
    assert.is(r.eventTime, BigInt(r.value!), `${r.key}: event time`);
  }
});

s.test(
  "timestamps: LogAppendTime gives each record the broker's append time; on a CreateTime topic it fails and says why",
  async () => {
    const topic = uniqueTopic("ts-append");
    await withAdmin(bootstrap, (admin) =>
      admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic,
            numPartitions: 2,
            replicationFactor: 1,
            configEntries: [{ name: "message.timestamp.type", value: "LogAppendTime" }],
          },
        ],
      }),
    );
    const before = Date.now();
    await produce(testKafka(bootstrap), topic, oldRecords(400, 2), 100);
    const after = Date.now();
    const seen = await readAll({ topics: [topic], timestampPolicy: "LogAppendTime" });
    assert.is(seen.length, 400);
    for (const r of seen) {
      assert.is(r.timestampType, "LogAppendTime");
      assert.is(r.eventTime, r.recordTimestamp);
      assert.ok(
        r.eventTime >= BigInt(before - 5) && r.eventTime <= BigInt(after + 5),
        `${r.key}: append time ${r.eventTime} outside [${before}, ${after}]`,
      );
    }

    const createTopicName = uniqueTopic("ts-append-wrong");
    await createTopic(bootstrap, createTopicName, 1);
    await produce(testKafka(bootstrap), createTopicName, oldRecords(3, 1));
    const handle = pipelineOf(
      { topics: [createTopicName], timestampPolicy: "LogAppendTime", stopAtEndOffsets: true },
      [],
    ).pipeline.run(new LocalRunner());
    const err = await handle.waitUntilFinish(30_000).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(err, KafkaClientError);
    assert.match((err as Error).message, "message.timestamp.type=LogAppendTime");
    assert.match((err as Error).message, `${createTopicName}-0@0`);
  },
);

s.test("timestamps: ProcessingTime gives the wall time of the read, not the record's", async () => {
  const topic = uniqueTopic("ts-processing");
  await createTopic(bootstrap, topic, 2);
  await produce(testKafka(bootstrap), topic, oldRecords(200, 2));
  const start = Date.now();
  const seen = await readAll({ topics: [topic], timestampPolicy: "ProcessingTime" });
  const end = Date.now();
  assert.is(seen.length, 200);
  for (const r of seen) {
    assert.is(r.recordTimestamp, BigInt(r.value!), "the row still carries the record's own timestamp");
    assert.ok(
      r.eventTime >= BigInt(start) && r.eventTime <= BigInt(end),
      `${r.key}: event time ${r.eventTime} outside the read [${start}, ${end}]`,
    );
  }
});

s.test("timestamps: a custom timestamp function decides each record's event time", async () => {
  const topic = uniqueTopic("ts-custom");
  await createTopic(bootstrap, topic, 2);
  // The event time lives in the value; the record's CreateTime is something else.
  const records = Array.from({ length: 300 }, (_, i) => ({
    partition: i % 2,
    key: `k${i}`,
    value: `${1_500_000_000_000 + i * 1000}`,
    timestamp: OLD,
  }));
  await produce(testKafka(bootstrap), topic, records);
  const calls: string[] = [];
  const seen = await readAll({
    topics: [topic],
    timestampFn: (record, t, partition) => {
      calls.push(`${t}-${partition}@${record.offset}`);
      return Number(record.value!.toString("utf8"));
    },
  });
  assert.is(seen.length, 300);
  assert.is(calls.length, 300, "called once per record");
  for (const r of seen) {
    assert.is(r.recordTimestamp, BigInt(OLD));
    assert.is(r.eventTime, BigInt(r.value!), `${r.key}: event time from the function`);
  }
});

/** Writes 10 rounds to partition 0 only (create time = now) while sampling the read's watermark. */
async function watermarkWithQuietPartition(
  idlePartitionTimeoutMs: number,
): Promise<{ firstCreateTime: number; lastCreateTime: number; watermark: bigint; seen: number }> {
  const topic = uniqueTopic("idle");
  await createTopic(bootstrap, topic, 2);
  const seen: SeenRecord[] = [];
  const { pipeline, rows } = pipelineOf(
    { topics: [topic], timestampPolicy: "CreateTime", idlePartitionTimeoutMs },
    seen,
  );
  const handle = pipeline.run(new LocalRunner());
  const kafka = testKafka(bootstrap);
  const firstCreateTime = Date.now();
  let lastCreateTime = firstCreateTime;
  for (let round = 0; round < 10; round++) {
    lastCreateTime = Date.now();
    await produce(
      kafka,
      topic,
      Array.from({ length: 50 }, (_, i) => ({
        partition: 0,
        key: `r${round}`,
        value: `${i}`,
        timestamp: lastCreateTime,
      })),
    );
    await sleep(150);
  }
  await until(() => seen.length === 500, "500 records");
  await sleep(300); // a few more rounds of the read: the watermark settles
  const watermark = handle.watermarks()[rows.id]!;
  assert.is(await handle.cancel(), "CANCELLED");
  return { firstCreateTime, lastCreateTime, watermark, seen: seen.length };
}

s.test("watermark: a partition with no records does not hold the read's watermark back", async () => {
  const quick = await watermarkWithQuietPartition(300);
  assert.ok(
    quick.watermark >= BigInt(quick.firstCreateTime),
    `watermark ${quick.watermark} is behind the records of the busy partition (${quick.firstCreateTime})`,
  );
  // Control: the same read with a long idle timeout keeps the watermark at the quiet partition's (none).
  const slow = await watermarkWithQuietPartition(600_000);
  assert.is(slow.watermark, MIN_TIMESTAMP, "without the idle rule the quiet partition holds the watermark");
});

s.test("errors: a broker that is not there at start fails the read with a typed error, not a hang", async () => {
  const nobody = `127.0.0.1:${await freePort()}`;
  for (const options of [{ topics: ["t"] }, { topicPartitions: [{ topic: "t", partition: 0 }] }] as Options[]) {
    const t0 = Date.now();
    const handle = pipelineOf(options, [], nobody).pipeline.run(new LocalRunner()); // default retries and timeouts
    const err = await handle.waitUntilFinish(20_000).then(
      (state) => state,
      (e: unknown) => e,
    );
    const took = Date.now() - t0;
    assert.instance(err, KafkaError, `${JSON.stringify(options)}: ${String(err)}`);
    assert.ok(took < 15_000, `failed after ${took} ms`);
    assert.match((err as Error).message, nobody, "the message names the servers it could not reach");
    assert.is(handle.state, "FAILED");
  }
});

s.run();
