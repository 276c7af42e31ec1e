// First contact, as a new user meets Kafka: a broker no consumer group has ever asked (no `__consumer_offsets` yet),
// output topics that do not exist until the pipeline writes them. Each test gets a private broker nobody used.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { rejection } from "../assertions.js";
import { startBroker, type Broker } from "../infra/broker.js";
import { createTopic, readTopicByOffset, testKafka, uniqueTopic, withAdmin } from "../infra/fixtures.js";
import { Create, Pipeline } from "../../src/pipeline/index.js";
import { LocalRunner } from "../../src/runners/local/index.js";
import {
  closeAllClients,
  KafkaUnknownTopicError,
  readFromKafka,
  writeToKafka,
  type ExactlyOnceOptions,
} from "../../src/kafka/index.js";
import { collectRows, produce, recordsFor, type SeenRecord } from "./kafka-read-helpers.js";
import { readClient, readTopic } from "./kafka-write-helpers.js";

const s = suite("first contact: a new broker, topics made by the pipeline", { timeoutMs: 120_000 });
let broker: Broker | undefined;
s.afterEach(async () => {
  await closeAllClients();
  await broker?.stop();
  broker = undefined;
});

async function freshBroker(properties: Record<string, string> = {}): Promise<string> {
  broker = await startBroker({ warm: false, properties });
  return broker.bootstrap;
}

function kvs(count: number): { key: string; value: string }[] {
  return Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
}

/** A pipeline writing kvs(count) to `topic` as strings. */
function writeKvs(
  topic: string,
  count: number,
  producerConfig: Record<string, string>,
  exactlyOnce?: ExactlyOnceOptions,
): Pipeline {
  const p = Pipeline.create();
  p.apply(Create.of(kvs(count))).apply(
    writeToKafka({
      producerConfig,
      topic,
      keySerializer: "string",
      valueSerializer: "string",
      ...(exactlyOnce ? { exactlyOnce } : {}),
    }),
  );
  return p;
}

s.test(
  "write: a topic that does not exist yet is created by the broker (auto.create.topics.enable) and gets every record",
  async () => {
    const bootstrap = await freshBroker();
    const topic = uniqueTopic("new-out");
    const started = Date.now();
    const p = writeKvs(topic, 500, { "bootstrap.servers": bootstrap });
    assert.is(await p.run(new LocalRunner()).waitUntilFinish(60_000), "DONE");
    const tookMs = Date.now() - started;
    // Before the fix the bundle waited out delivery.timeout.ms (120 s) and failed.
    assert.ok(tookMs < 20_000, `written in ${tookMs} ms`);
    const written = await readTopicByOffset(bootstrap, topic);
    assert.equal([...written.keys()], [0], "the broker's default: one partition");
    assert.equal(
      written
        .get(0)!
        .map((r) => `${r.key}=${r.value}`)
        .sort(),
      kvs(500)
        .map((r) => `${r.key}=${r.value}`)
        .sort(),
    );
  },
);

s.test(
  "write: where the broker refuses auto-creation, the pipeline fails within max.block.ms naming the topic",
  async () => {
    const bootstrap = await freshBroker({ "auto.create.topics.enable": "false" });
    const topic = uniqueTopic("refused");
    const p = writeKvs(topic, 10, { "bootstrap.servers": bootstrap, "max.block.ms": "3000" });
    const started = Date.now();
    const failure = (await rejection(p.run(new LocalRunner()).waitUntilFinish(60_000))) as Error;
    const tookMs = Date.now() - started;
    const cause = findCause(failure, KafkaUnknownTopicError);
    assert.ok(cause, `a KafkaUnknownTopicError: ${failure.message}`);
    assert.is(cause.topic, topic);
    assert.match(cause.message, /not present in metadata after \d+ ms \(max\.block\.ms 3000/);
    assert.ok(tookMs >= 3000 && tookMs < 15_000, `failed after ${tookMs} ms`);
    const topics = await withAdmin(bootstrap, (admin) => admin.listTopics());
    assert.not.ok(topics.includes(topic), "nothing was created");
  },
);

s.test(
  "exactly-once write on a new broker: transaction log, output topic and sink group made on first use; each record once",
  async () => {
    const bootstrap = await freshBroker();
    const topic = uniqueTopic("new-eos");
    // One shard: the sink keeps it in partition 0 of the topic, which the broker creates with one partition.
    const p = writeKvs(topic, 500, { "bootstrap.servers": bootstrap }, { numShards: 1, sinkGroupId: `sink-${topic}` });
    const started = Date.now();
    assert.is(await p.run(new LocalRunner()).waitUntilFinish(90_000), "DONE");
    console.log(`  first exactly-once write on a new broker: ${Date.now() - started} ms`);
    const client = readClient(bootstrap);
    try {
      const committed = await readTopic(client, topic, "read_committed");
      assert.equal(
        committed.map((r) => `${r.key?.toString()}=${r.value?.toString()}`).sort(),
        kvs(500)
          .map((r) => `${r.key}=${r.value}`)
          .sort(),
      );
      const [state] = await client.fetchCommittedOffsets(`sink-${topic}`, [{ topic, partition: 0 }]);
      assert.ok((state?.offset ?? 0n) >= 1n, `the shard's sequence is committed in its sink group: ${state?.offset}`);
    } finally {
      await client.close();
    }
  },
);

s.test("read: the first consumer group on a new broker reads, then commits, its offsets", async () => {
  const bootstrap = await freshBroker();
  const topic = uniqueTopic("first-group");
  await createTopic(bootstrap, topic, 2);
  const records = recordsFor(2, 100);
  await produce(testKafka(bootstrap), topic, records);
  const group = `g-${topic}`;

  const seen: SeenRecord[] = [];
  const p = Pipeline.create();
  collectRows(
    p.apply(
      readFromKafka({
        consumerConfig: { "bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest" },
        topics: [topic],
        withMetadata: true,
        maxNumRecords: 200,
        commitOffsetsInFinalize: true,
      }),
    ),
    seen,
  );
  assert.is(await p.run(new LocalRunner()).waitUntilFinish(60_000), "DONE");
  assert.equal(seen.map((r) => r.value).sort(), records.map((r) => r.value).sort());
  const committed = await withAdmin(bootstrap, (admin) => admin.fetchOffsets({ groupId: group, topics: [topic] }));
  assert.equal(committed[0]!.partitions.map((c) => [c.partition, c.offset]).sort(), [
    [0, "100"],
    [1, "100"],
  ]);
});

s.test(
  "read of a topic nobody made: fails at once naming it and allow.auto.create.topics; with that set, the broker makes it and the read gets what is written after",
  async () => {
    const bootstrap = await freshBroker();
    const topic = uniqueTopic("read-first");
    const read = (consumerConfig: Record<string, string>, seen: SeenRecord[]) => {
      const p = Pipeline.create();
      collectRows(
        p.apply(
          readFromKafka({
            consumerConfig: { "bootstrap.servers": bootstrap, "auto.offset.reset": "earliest", ...consumerConfig },
            topics: [topic],
            withMetadata: true,
            maxNumRecords: 3,
          }),
        ),
        seen,
      );
      return p.run(new LocalRunner());
    };
    const topics = () => withAdmin(bootstrap, (admin) => admin.listTopics());

    const failure = (await rejection(read({}, []).waitUntilFinish(60_000))) as Error;
    assert.match(failure.message, `topic(s) ${topic} not found`);
    assert.match(failure.message, "allow.auto.create.topics=true");
    assert.not.ok((await topics()).includes(topic), "the default read created nothing");

    const seen: SeenRecord[] = [];
    const running = read({ "allow.auto.create.topics": "true" }, seen);
    // The read asks the broker to make the topic, then waits for its 3 records: a producer writes them afterwards.
    for (const deadline = Date.now() + 30_000; !(await topics()).includes(topic); ) {
      assert.ok(Date.now() < deadline, "the read had the broker create the topic");
      await new Promise((r) => setTimeout(r, 200));
    }
    const records = recordsFor(1, 3);
    await produce(testKafka(bootstrap), topic, records);
    assert.is(await running.waitUntilFinish(60_000), "DONE");
    assert.equal(
      seen.map((r) => [r.partition, r.offset, r.value]),
      records.map((r, i) => [0, BigInt(i), r.value]),
    );
  },
);

function findCause<E extends Error>(err: unknown, type: abstract new (...args: never[]) => E): E | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (e instanceof type) return e;
  return undefined;
}

s.run();
