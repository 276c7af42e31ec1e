// Partition discovery of an unbounded read on the local runner against the real broker: a partition added to the
// topic while the pipeline runs is found within the discovery interval and read from its first record, exactly once,
// while the partitions that were there keep being read.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { brokerBootstrap, releaseBroker, createTopic, uniqueTopic, testKafka, withAdmin } from "../infra/fixtures.js";
import { Pipeline } from "../../src/pipeline/index.js";
import { LocalRunner } from "../../src/runners/local/index.js";
import { readFromKafka, closeAllClients } from "../../src/kafka/index.js";
import {
  assertExactly,
  byPartition,
  collectRows,
  produce,
  recordsFor,
  sleep,
  until,
  type ProducedRecord,
  type SeenRecord,
} from "./kafka-read-helpers.js";

const s = suite("kafka read: partition discovery while running", { timeoutMs: 45_000 });
let bootstrap = "";
s.before(async () => {
  bootstrap = await brokerBootstrap();
});
s.after(async () => {
  await closeAllClients();
  await releaseBroker();
});

interface Outcome {
  readonly seen: SeenRecord[];
  /** Records written after the read started (the read starts at latest). */
  readonly produced: ProducedRecord[];
  readonly before: number;
}

/**
 * A 2-partition topic with records already in it; an unbounded read from `latest`; records keep arriving on both
 * partitions; a third partition is added and written to. Returns once `done(seen)` holds (or after `waitMs`).
 */
async function addPartitionMidRun(
  discoveryMs: number | undefined,
  done: (seen: SeenRecord[], produced: ProducedRecord[]) => boolean,
  waitMs: number,
): Promise<Outcome> {
  const topic = uniqueTopic("discover");
  await createTopic(bootstrap, topic, 2);
  const kafka = testKafka(bootstrap);
  const before = 200;
  await produce(kafka, topic, recordsFor(2, before / 2, "old-")); // before the read: skipped (latest)

  const seen: SeenRecord[] = [];
  const p = Pipeline.create();
  const rows = p.apply(
    readFromKafka({
      consumerConfig: { "bootstrap.servers": bootstrap, "auto.offset.reset": "latest" },
      topics: [topic],
      withMetadata: true,
      ...(discoveryMs !== undefined ? { partitionDiscoveryIntervalMs: discoveryMs } : {}),
    }),
  );
  collectRows(rows, seen);
  // The read's PairWithRestriction resolves each partition's start offset (latest): records written after it count.
  const handle = p.run(new LocalRunner());
  await until(
    () => (handle.metrics().steps["ReadFromKafka/Read/PairWithRestriction"]?.elementsOut ?? 0) >= 2,
    "the read's start offsets",
  );

  const produced: ProducedRecord[] = [];
  const write = async (records: ProducedRecord[]): Promise<void> => {
    await produce(kafka, topic, records);
    produced.push(...records);
  };
  for (let round = 0; round < 5; round++) {
    await write(recordsFor(2, 50, `a${round}-`));
    await sleep(50);
  }
  await withAdmin(bootstrap, (admin) => admin.createPartitions({ topicPartitions: [{ topic, count: 3 }] }));
  // Written right away, before any discovery round can have seen the partition.
  await write(Array.from({ length: 300 }, (_, i) => ({ partition: 2, key: `new-${i}`, value: `n${i}` })));
  for (let round = 0; round < 10; round++) {
    await write(recordsFor(3, 20, `b${round}-`));
    await sleep(50);
  }
  const deadline = Date.now() + waitMs;
  while (!done(seen, produced) && Date.now() < deadline) await sleep(20);
  await sleep(300); // duplicates would show up here
  assert.is(await handle.cancel(), "CANCELLED");
  return { seen, produced, before };
}

s.test(
  "discovery: a partition added mid-run is read from its first record, exactly once, beside the others",
  async () => {
    const t0 = Date.now();
    const { seen, produced, before } = await addPartitionMidRun(300, (got, want) => got.length >= want.length, 15_000);
    assertExactly(seen, produced, (p) => (p === 2 ? 0n : BigInt(before / 2)));
    assert.is(byPartition(seen).get(2)?.length, 500, "every record of the new partition");
    assert.ok(Date.now() - t0 < 20_000);
  },
);

s.test("discovery: without a discovery interval the added partition is not read (control)", async () => {
  const { seen, produced, before } = await addPartitionMidRun(
    undefined,
    (got, want) => got.length >= want.filter((r) => r.partition < 2).length,
    15_000,
  );
  assert.is(byPartition(seen).get(2), undefined, "nothing from the new partition");
  assertExactly(
    seen,
    produced.filter((r) => r.partition < 2),
    () => BigInt(before / 2),
  );
});

/**
 * An unbounded read with discovery of `topics` (or `topicPattern`) started before `topic` exists (from latest); the
 * topic is made with 2 partitions once a discovery round found nothing, and written to at once and later.
 */
async function readBeforeTopicExists(
  topic: string,
  select: { topics: string[] } | { topicPattern: string },
): Promise<{ seen: SeenRecord[]; produced: ProducedRecord[] }> {
  const seen: SeenRecord[] = [];
  const p = Pipeline.create();
  collectRows(
    p.apply(
      readFromKafka({
        consumerConfig: { "bootstrap.servers": bootstrap, "auto.offset.reset": "latest" },
        ...select,
        withMetadata: true,
        partitionDiscoveryIntervalMs: 300,
      }),
    ),
    seen,
  );
  const handle = p.run(new LocalRunner());
  // Two discovery rounds done: the first found nothing (a read that fails there never gets here).
  await until(
    () => (handle.metrics().steps["ReadFromKafka/SourceDescriptors"]?.elementsIn ?? 0) >= 2,
    "two discovery rounds",
  );
  await createTopic(bootstrap, topic, 2);
  const kafka = testKafka(bootstrap);
  const produced = recordsFor(2, 100, "first-"); // written before any round can have seen the topic
  await produce(kafka, topic, produced);
  await sleep(500);
  const later = recordsFor(2, 50, "later-", 100);
  await produce(kafka, topic, later);
  produced.push(...later);
  for (const deadline = Date.now() + 15_000; seen.length < produced.length && Date.now() < deadline; ) await sleep(20);
  await sleep(300); // duplicates would show up here
  assert.is(await handle.cancel(), "CANCELLED");
  return { seen, produced };
}

s.test("discovery: a named topic made after the read started is found and read from its first record", async () => {
  const topic = uniqueTopic("later-topic");
  const { seen, produced } = await readBeforeTopicExists(topic, { topics: [topic] });
  assertExactly(seen, produced, () => 0n);
});

s.test("discovery: a pattern that matched nothing at start reads the topic that matches later", async () => {
  const topic = uniqueTopic("later-match");
  const { seen, produced } = await readBeforeTopicExists(topic, { topicPattern: `${topic}.*` });
  assertExactly(seen, produced, () => 0n);
});

s.run();
