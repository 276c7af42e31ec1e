import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { isIP, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect, createServer as createTlsServer } from "node:tls";
import { suite } from "../harness.js";
import { brokerBootstrap, releaseBroker, createTopic, uniqueTopic, testKafka, withAdmin } from "../infra/fixtures.js";
import { freePort } from "../infra/ports.js";
import {
  parseConsumerConfig,
  parseProducerConfig,
  type KafkaConfigMap,
  type KafkaLogger,
} from "../../src/kafka/config/index.js";
import {
  createKafkaClient,
  createKafkaProducer,
  KafkaClientCache,
  type FetchResult,
  type KafkaClient,
  type KafkaProducer,
  type KafkaRecord,
  type ProducerRecord,
  type WireProducer,
} from "../../src/kafka/client/index.js";
import { nodeTlsOptions } from "../../src/kafka/client/tls.js";
import { END_TXN_API_KEY } from "../../src/kafka/client/transaction-protocol.js";
import {
  KafkaConfigError,
  KafkaClientClosedError,
  KafkaClientError,
  KafkaOffsetOutOfRangeError,
  KafkaUnknownTopicError,
} from "../../src/kafka/errors.js";

const s = suite("kafka client", { timeoutMs: 120_000 });
let bootstrap = "";
/** kafkajs's request queue: one test loses an answer the broker sent (see "a commit whose answer is lost"). */
const RequestQueue = createRequire(import.meta.url)("kafkajs/src/network/requestQueue/index.js") as {
  prototype: unknown;
};
// Client logs are kept out of the test output (kafkajs reports retried errors at error level).
const logs: { level: string; message: string }[] = [];
const logger: KafkaLogger = (level, message) => {
  logs.push({ level, message });
};
const closers: (() => Promise<void>)[] = [];

s.before(async () => {
  bootstrap = await brokerBootstrap();
});
s.after(async () => {
  for (const close of closers.splice(0)) await close();
  await releaseBroker();
});

function client(extra: KafkaConfigMap = {}): KafkaClient {
  const c = createKafkaClient(
    parseConsumerConfig({ "bootstrap.servers": bootstrap, "default.api.timeout.ms": "20000", ...extra }, { logger }),
    { logger },
  );
  closers.push(() => c.close());
  return c;
}

function producer(extra: KafkaConfigMap = {}, maxTransactionVersion?: 1 | 2) {
  const p = createKafkaProducer(parseProducerConfig({ "bootstrap.servers": bootstrap, ...extra }, { logger }), {
    logger,
    ...(maxTransactionVersion ? { maxTransactionVersion } : {}),
  });
  closers.push(() => p.close());
  return p;
}

/** The transaction protocol a producer speaks (this suite's Kafka 4 broker finalized transaction.version 2). */
function transactionVersion(p: KafkaProducer): number | undefined {
  return (p as WireProducer).transactionVersion;
}

/** Produces with the raw kafkajs producer (independent of the code under test). */
async function rawProduce(
  topic: string,
  messages: {
    partition: number;
    key: string | null;
    value: string | null;
    timestamp?: string;
    headers?: Record<string, string>;
  }[],
): Promise<void> {
  const p = testKafka(bootstrap).producer({ allowAutoTopicCreation: false });
  await p.connect();
  try {
    await p.send({ topic, acks: -1, messages });
  } finally {
    await p.disconnect();
  }
}

/** Reads a partition from `from` up to its high watermark with our fetch loop (all transactions ended). */
async function readAll(
  c: KafkaClient,
  topic: string,
  partition: number,
  from: bigint,
  isolationLevel?: "read_committed" | "read_uncommitted",
): Promise<{ records: KafkaRecord[]; last: FetchResult }> {
  const records: KafkaRecord[] = [];
  let offset = from;
  for (;;) {
    const result = await c.fetch(topic, partition, offset, {
      maxWaitMs: 100,
      ...(isolationLevel ? { isolationLevel } : {}),
    });
    records.push(...result.records);
    offset = result.nextOffset;
    // To the high watermark in both modes: a committed transaction's markers are written after EndTxn is answered,
    // so the last stable offset can trail a commit that has returned; reading on waits for them.
    if (offset >= result.highWatermark) return { records, last: result };
  }
}

const text = (b: Buffer | null): string | null => (b === null ? null : b.toString("utf8"));

s.test("listOffsets: earliest and latest per partition after producing", async () => {
  const topic = uniqueTopic("offsets");
  await createTopic(bootstrap, topic, 2);
  await rawProduce(
    topic,
    Array.from({ length: 50 }, (_, i) => ({ partition: i < 30 ? 0 : 1, key: `k${i}`, value: `v${i}` })),
  );
  const c = client();
  const tps = [
    { topic, partition: 0 },
    { topic, partition: 1 },
  ];
  assert.equal(await c.listOffsets(tps, "earliest"), [
    { topic, partition: 0, offset: 0n },
    { topic, partition: 1, offset: 0n },
  ]);
  assert.equal(await c.listOffsets(tps, "latest"), [
    { topic, partition: 0, offset: 30n },
    { topic, partition: 1, offset: 20n },
  ]);
  assert.equal(await c.listOffsets([...tps].reverse(), "latest", "read_committed"), [
    { topic, partition: 1, offset: 20n },
    { topic, partition: 0, offset: 30n },
  ]);
});

s.test("offsetsForTimes: first offset at or after a CreateTime, null past the last record", async () => {
  const topic = uniqueTopic("times");
  await createTopic(bootstrap, topic, 1);
  const base = Date.now() - 3_600_000;
  await rawProduce(
    topic,
    Array.from({ length: 10 }, (_, i) => ({
      partition: 0,
      key: null,
      value: `v${i}`,
      timestamp: String(base + i * 1000),
    })),
  );
  const c = client();
  const tp = [{ topic, partition: 0 }];
  assert.equal(await c.offsetsForTimes(tp, base + 2500), [
    { topic, partition: 0, offset: 3n, timestamp: BigInt(base + 3000) },
  ]);
  assert.equal(await c.offsetsForTimes(tp, BigInt(base)), [
    { topic, partition: 0, offset: 0n, timestamp: BigInt(base) },
  ]);
  assert.equal(await c.offsetsForTimes(tp, base - 10_000), [
    { topic, partition: 0, offset: 0n, timestamp: BigInt(base) },
  ]);
  assert.equal(await c.offsetsForTimes(tp, base + 60_000), [{ topic, partition: 0, offset: null, timestamp: null }]);
});

s.test("fetch: from an explicit mid offset, exact records, no consumer group created", async () => {
  const topic = uniqueTopic("fetch");
  await createTopic(bootstrap, topic, 2);
  const base = Date.now() - 60_000;
  const sent = Array.from({ length: 200 }, (_, i) => ({
    partition: i % 2,
    key: i % 7 === 0 ? null : `key-${i}`,
    value: i % 11 === 0 ? null : `value-${i}`,
    timestamp: String(base + i),
    headers: { seq: String(i), origin: "kafka-client.test" },
  }));
  // Several sends: several batches, so the requested offset falls inside a batch that starts earlier.
  for (let i = 0; i < sent.length; i += 40) await rawProduce(topic, sent.slice(i, i + 40));
  const groupsBefore = await withAdmin(bootstrap, async (a) => (await a.listGroups()).groups.map((g) => g.groupId));

  const c = client({ "group.id": `never-joined-${topic}` });
  const { records, last } = await readAll(c, topic, 1, 37n);
  const expected = sent.filter((m) => m.partition === 1).slice(37);
  assert.is(records.length, expected.length);
  records.forEach((r, i) => {
    const m = expected[i]!;
    assert.equal(
      {
        offset: r.offset,
        key: text(r.key),
        value: text(r.value),
        timestamp: r.timestamp,
        type: r.timestampType,
        headers: r.headers.map((h) => [h.key, text(h.value)]),
      },
      {
        offset: BigInt(37 + i),
        key: m.key,
        value: m.value,
        timestamp: BigInt(m.timestamp),
        type: "CreateTime",
        headers: [
          ["seq", m.headers.seq],
          ["origin", "kafka-client.test"],
        ],
      },
    );
    assert.ok(r.sizeBytes > 0);
  });
  assert.is(last.nextOffset, 100n);
  assert.is(last.highWatermark, 100n);

  const groupsAfter = await withAdmin(bootstrap, async (a) => (await a.listGroups()).groups.map((g) => g.groupId));
  assert.equal(
    groupsAfter.filter((g) => !groupsBefore.includes(g)),
    [],
  );
});

s.test("fetch: at the high watermark returns nothing; beyond it is OFFSET_OUT_OF_RANGE", async () => {
  const topic = uniqueTopic("end");
  await createTopic(bootstrap, topic, 1);
  await rawProduce(
    topic,
    Array.from({ length: 5 }, (_, i) => ({ partition: 0, key: null, value: `v${i}` })),
  );
  const c = client();
  const started = Date.now();
  const result = await c.fetch(topic, 0, 5n, { maxWaitMs: 200 });
  assert.equal(result.records, []);
  assert.is(result.nextOffset, 5n);
  assert.is(result.highWatermark, 5n);
  assert.ok(Date.now() - started >= 150, "the broker held the request for max wait");
  try {
    await c.fetch(topic, 0, 50n);
    assert.unreachable("expected OFFSET_OUT_OF_RANGE");
  } catch (err) {
    assert.instance(err, KafkaOffsetOutOfRangeError);
    const e = err as KafkaOffsetOutOfRangeError;
    assert.equal(
      [e.code, e.retriable, e.topic, e.partition, e.offset],
      ["KAFKA_OFFSET_OUT_OF_RANGE", false, topic, 0, 50n],
    );
  }
});

s.test("fetch: read_committed skips aborted records and control markers; next offset moves past them", async () => {
  const topic = uniqueTopic("txn-read");
  await createTopic(bootstrap, topic, 1);
  const kafka = testKafka(bootstrap);
  const p = kafka.producer({ transactionalId: `tx-${topic}`, idempotent: true, maxInFlightRequests: 1 });
  await p.connect();
  const runTxn = async (values: string[], commit: boolean): Promise<void> => {
    const txn = await p.transaction();
    await txn.send({ topic, acks: -1, messages: values.map((value) => ({ partition: 0, value })) });
    if (commit) await txn.commit();
    else await txn.abort();
  };
  await runTxn(["a0", "a1", "a2"], true); // offsets 0-2, commit marker 3
  await runTxn(["b0", "b1"], false); // 4-5, abort marker 6
  await runTxn(["c0", "c1"], true); // 7-8, commit marker 9
  await p.disconnect();

  const c = client();
  const committed = await readAll(c, topic, 0, 0n, "read_committed");
  assert.equal(
    committed.records.map((r) => [r.offset, text(r.value)]),
    [
      [0n, "a0"],
      [1n, "a1"],
      [2n, "a2"],
      [7n, "c0"],
      [8n, "c1"],
    ],
  );
  assert.is(committed.last.nextOffset, 10n);
  assert.is(committed.last.lastStableOffset, 10n);

  const uncommitted = await readAll(c, topic, 0, 0n, "read_uncommitted");
  assert.equal(
    uncommitted.records.map((r) => r.offset),
    [0n, 1n, 2n, 4n, 5n, 7n, 8n],
  );
  assert.is(uncommitted.last.nextOffset, 10n);

  const fromAborted = await c.fetch(topic, 0, 4n, { isolationLevel: "read_committed", maxWaitMs: 100 });
  assert.equal(
    fromAborted.records.map((r) => r.offset),
    [7n, 8n],
  );
  assert.is(fromAborted.nextOffset, 10n);
  const atMarker = await c.fetch(topic, 0, 9n, { isolationLevel: "read_committed", maxWaitMs: 100 });
  assert.equal([atMarker.records.length, atMarker.nextOffset], [0, 10n]);
});

s.test("group offsets: commit and fetch back for a group that has no members", async () => {
  const topic = uniqueTopic("commit");
  await createTopic(bootstrap, topic, 3);
  const groupId = `g-${topic}`;
  const c = client();
  await c.commitOffsets(groupId, [
    { topic, partition: 0, offset: 42n, metadata: "shard-0:seq-7" },
    { topic, partition: 2, offset: 7n },
  ]);
  assert.equal(await c.fetchCommittedOffsets(groupId, [topic]), [
    { topic, partition: 0, offset: 42n, metadata: "shard-0:seq-7" },
    { topic, partition: 1, offset: null, metadata: null },
    { topic, partition: 2, offset: 7n, metadata: "" },
  ]);
  await c.commitOffsets(groupId, [{ topic, partition: 0, offset: 43n }]);
  assert.equal(await c.fetchCommittedOffsets(groupId, [{ topic, partition: 0 }]), [
    { topic, partition: 0, offset: 43n, metadata: "" },
  ]);
  const described = await withAdmin(bootstrap, (a) => a.describeGroups([groupId]));
  assert.equal(described.groups[0]!.members, []);
  // The same offsets through kafkajs's admin: what other Kafka tools see.
  const viaAdmin = await withAdmin(bootstrap, (a) => a.fetchOffsets({ groupId, topics: [topic] }));
  assert.equal(viaAdmin[0]!.partitions.map((p) => [p.partition, p.offset]).sort(), [
    [0, "43"],
    [1, "-1"],
    [2, "7"],
  ]);
});

s.test("produce: keys, values, tombstones, headers and timestamps round-trip through fetch", async () => {
  const topic = uniqueTopic("produce");
  await createTopic(bootstrap, topic, 2);
  const p = producer({ "linger.ms": "5" });
  const base = Date.now() - 10_000;
  const records: ProducerRecord[] = Array.from({ length: 300 }, (_, i) => ({
    topic,
    partition: i % 2,
    key: i % 5 === 0 ? null : Buffer.from(`k${i}`),
    value: i % 13 === 0 ? null : `v${i}`,
    timestamp: BigInt(base + i),
    headers:
      i % 3 === 0
        ? []
        : [
            { key: "a", value: `x${i}` },
            { key: "a", value: "" },
            { key: "b", value: Buffer.from([i % 256]) },
            { key: "n", value: null }, // a null header value (kafkajs's own producer cannot send one)
          ],
  }));
  // Concurrent calls are batched together; each resolves once its own records are acknowledged.
  await Promise.all([
    p.produce(records.slice(0, 100)),
    p.produce(records.slice(100, 250)),
    p.produce(records.slice(250)),
  ]);
  await p.flush();

  const c = client();
  for (const partition of [0, 1]) {
    const { records: got } = await readAll(c, topic, partition, 0n);
    const expected = records.filter((r) => r.partition === partition);
    assert.equal(
      got.map((r) => [
        r.offset,
        text(r.key),
        text(r.value),
        r.timestamp,
        r.headers.map((h) => [h.key, h.value === null ? null : h.value.toString("hex")]),
      ]),
      expected.map((r, i) => [
        BigInt(i),
        r.key === null ? null : (r.key as Buffer).toString(),
        r.value as string | null,
        r.timestamp,
        (r.headers ?? []).map((h) => [h.key, h.value === null ? null : Buffer.from(h.value).toString("hex")]),
      ]),
    );
  }
});

s.test("produce: gzip batches decode; keyed records land on the murmur2 partition", async () => {
  const topic = uniqueTopic("gzip");
  await createTopic(bootstrap, topic, 4);
  const p = producer({ "compression.type": "gzip", "linger.ms": "0" });
  await p.produce(Array.from({ length: 1000 }, (_, i) => ({ topic, key: `key-${i % 10}`, value: `value-${i}` })));
  const c = client();
  const seen = new Map<string, number>();
  let total = 0;
  for (const partition of [0, 1, 2, 3]) {
    const { records } = await readAll(c, topic, partition, 0n);
    total += records.length;
    for (const r of records) {
      const key = text(r.key)!;
      assert.is(seen.get(key) ?? partition, partition, `${key} on one partition`);
      seen.set(key, partition);
    }
  }
  assert.is(total, 1000);
  assert.is(seen.size, 10);
  for (const [key, partition] of seen)
    assert.is(partition, (murmur2(Buffer.from(key)) & 0x7fffffff) % 4, `${key}: Java's partition`);
});

/** Kafka's Utils.murmur2 (what Java's default partitioner hashes keys with), to check where keyed records land. */
function murmur2(data: Buffer): number {
  const m = 0x5bd1e995;
  let h = 0x9747b28c ^ data.length;
  const words = data.length >> 2;
  for (let i = 0; i < words; i++) {
    const o = i * 4;
    let k = data[o]! | (data[o + 1]! << 8) | (data[o + 2]! << 16) | (data[o + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const tail = words * 4;
  const rest = data.length & 3;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) h = Math.imul(h ^ data[tail]!, m);
  h ^= h >>> 13;
  h = Math.imul(h, m);
  return h ^ (h >>> 15);
}

s.test("murmur2 matches Kafka's reference values", () => {
  const vectors: [string, number][] = [
    ["21", -973932308],
    ["foobar", -790332482],
    ["a-little-bit-long-string", -985981536],
    ["abc", 479470107],
  ];
  for (const [text, expected] of vectors) assert.is(murmur2(Buffer.from(text)), expected, text);
});

s.test(
  "produce: acks=0, acks=1, gzip and no key: every record arrives, keyless ones spread over partitions",
  async () => {
    const topic = uniqueTopic("produce-acks");
    await createTopic(bootstrap, topic, 4);
    const settings: [KafkaConfigMap, number][] = [
      [{ acks: "0", "enable.idempotence": "false" }, 500],
      [{ acks: "1", "enable.idempotence": "false", "compression.type": "gzip" }, 500],
      // ~25 records per batch: the sticky partition moves on with each of ~80 batches, so each partition gets some.
      [{ "linger.ms": "0", "batch.size": "500" }, 2000],
    ];
    for (const [n, [config, count]] of settings.entries()) {
      const p = producer(config);
      await p.produce(Array.from({ length: count }, (_, i) => ({ topic, value: `s${n}-${i}` })));
      await p.flush();
    }
    const c = client();
    let values: string[] = [];
    let perPartition: number[] = [];
    // acks=0 says nothing of when the broker appends: read until all arrived (or 10 s).
    for (const deadline = Date.now() + 10_000; values.length < 3000 && Date.now() < deadline; ) {
      values = [];
      perPartition = [];
      for (const partition of [0, 1, 2, 3]) {
        const { records } = await readAll(c, topic, partition, 0n);
        perPartition.push(records.length);
        values.push(...records.map((r) => text(r.value)!));
      }
    }
    const expected = settings.flatMap(([, count], n) => Array.from({ length: count }, (_, i) => `s${n}-${i}`));
    assert.equal(values.sort(), expected.sort());
    assert.ok(
      perPartition.every((count) => count > 0),
      `keyless records on every partition: ${perPartition.join("/")}`,
    );
  },
);

s.test(
  "produce: small batches, five requests in flight (plain, gzip, not idempotent): none refused, partitions in order",
  async () => {
    // Requests with more batches took longer to encode than the ones formed after them, so a partition's later batch
    // could reach the broker first: OUT_OF_ORDER_SEQUENCE_NUMBER, a backoff and a resend (37k rec/s at 100 B).
    const topic = uniqueTopic("produce-order");
    await createTopic(bootstrap, topic, 4);
    const configs: KafkaConfigMap[] = [
      { "batch.size": "16384" },
      { "batch.size": "16384", "compression.type": "gzip" },
      // Not idempotent: nothing would refuse a batch that overtook another; it would land out of order.
      { "batch.size": "16384", "compression.type": "gzip", "enable.idempotence": "false" },
    ];
    const perCall = 1000;
    const calls = 20;
    const expected: string[][] = [[], [], [], []];
    const logged = logs.length;
    for (const [n, config] of configs.entries()) {
      const p = producer(config);
      const pending: Promise<void>[] = [];
      for (let call = 0; call < calls; call++) {
        const records = Array.from({ length: perCall }, (_, j) => {
          const i = call * perCall + j;
          const value = `c${n}-${String(i).padStart(6, "0")}-`.padEnd(100, "x");
          expected[i % 4]!.push(value);
          return { topic, partition: i % 4, key: null, value };
        });
        pending.push(p.produce(records));
        // A flush every 5 calls, as a bundle's end: the next requests start with fewer batches each.
        if (pending.length === 5) {
          await p.flush();
          await Promise.all(pending.splice(0));
        }
      }
      await Promise.all(pending);
    }
    const refused = logs.slice(logged).filter((l) => l.message.includes("OUT_OF_ORDER"));
    assert.equal(refused, [], "no batch was refused for its sequence number");
    const c = client();
    for (const partition of [0, 1, 2, 3]) {
      const { records } = await readAll(c, topic, partition, 0n);
      assert.equal(
        records.map((r) => text(r.value)),
        expected[partition],
        `partition ${partition}: every record once, in send order`,
      );
    }
  },
);

s.test("produce: flush waits for the records given before it, not for those another caller gives after", async () => {
  // Bundles running side by side share a producer and each one's finishBundle flushes: flush waited until nothing
  // at all was in flight, so a bundle's end waited for every batch other bundles sent meanwhile.
  const topic = uniqueTopic("flush-scope");
  await createTopic(bootstrap, topic, 1);
  const p = producer();
  await p.produce([{ topic, value: "warm" }]);
  const before = p.produce([{ topic, value: "before" }]);
  const started = performance.now();
  const flushed = p.flush().then(() => performance.now() - started);
  // Another caller, right after: 10 calls of 500 records of 10 KB (50 MB), behind "before" on the same partition
  // (a call per event-loop turn: the acknowledgement of "before" is not held up behind their encoding).
  const value = Buffer.alloc(10_000, 1);
  const after = (async () => {
    const calls: Promise<void>[] = [];
    for (let call = 0; call < 10; call++) {
      calls.push(p.produce(Array.from({ length: 500 }, () => ({ topic, value }))));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(calls);
    return performance.now() - started;
  })();
  const [flushMs, afterMs] = await Promise.all([flushed, after]);
  await before;
  assert.ok(
    flushMs * 3 < afterMs,
    `flush returned after ${flushMs.toFixed(0)} ms, the later 50 MB after ${afterMs.toFixed(0)} ms`,
  );
  const { records } = await readAll(client(), topic, 0, 0n);
  assert.equal(
    records.slice(0, 2).map((r) => text(r.value)),
    ["warm", "before"],
  );
  assert.is(records.length, 5002);
});

s.test(
  "produce: a partition the producer's metadata lacks is sent after a refresh, or fails as unknown; never dropped",
  async () => {
    const topic = uniqueTopic("late-partition");
    await createTopic(bootstrap, topic, 2);
    const configs: KafkaConfigMap[] = [
      { "linger.ms": "0" },
      { "linger.ms": "0", "enable.idempotence": "false", "max.in.flight.requests.per.connection": "5" },
    ];
    for (const [round, extra] of configs.entries()) {
      const p = producer(extra);
      await p.produce([{ topic, partition: 0, key: null, value: Buffer.from("warm") }]); // the producer now has metadata
      const fresh = 2 + round; // the partition this round adds
      await withAdmin(bootstrap, (admin) => admin.createPartitions({ topicPartitions: [{ topic, count: fresh + 1 }] }));
      await p.produce([
        { topic, partition: fresh, key: null, value: Buffer.from(`late-${fresh}`) },
        { topic, partition: 1, key: null, value: Buffer.from("known") },
      ]);
      const late = await readAll(client(), topic, fresh, 0n);
      assert.equal(
        late.records.map((r) => text(r.value)),
        [`late-${fresh}`],
        "the record for the new partition arrived, once",
      );
      const unknown = (await assertRejects(
        () => p.produce([{ topic, partition: 40, key: null, value: Buffer.from("nowhere") }]),
        KafkaUnknownTopicError,
      )) as KafkaUnknownTopicError;
      assert.equal([unknown.topic, unknown.partition], [topic, 40]);
      assert.match(unknown.message, /not in the topic's metadata; 1 record\(s\) not sent/);
      await p.produce([{ topic, partition: 0, key: null, value: Buffer.from("after") }]); // still usable
    }
    // Inside a transaction there is no refresh: the send fails, and the caller aborts.
    const tx = producer({ "transactional.id": `tx-${topic}` });
    const t = await tx.beginTransaction();
    await assertRejects(() => t.produce([{ topic, partition: 40, value: "nowhere" }]), KafkaUnknownTopicError);
    await t.abort();
    const c = client();
    assert.equal(
      (await readAll(c, topic, 1, 0n)).records.map((r) => text(r.value)),
      ["known", "known"],
    );
    assert.equal(
      (await readAll(c, topic, 0, 0n)).records.map((r) => text(r.value)),
      ["warm", "after", "warm", "after"],
    );
  },
);

// Each protocol: v2 (KIP-890), which this broker has, and v1 (Kafka 3's), which a producer can be held to.
for (const version of [2, 1] as const) {
  s.test(`transactions v${version}: committed records and offsets are visible, aborted ones are not`, async () => {
    const topic = uniqueTopic(`txn-write-v${version}`);
    await createTopic(bootstrap, topic, 1);
    const groupId = `eos-${topic}`;
    const p = producer({ "transactional.id": `tx-${topic}` }, version);
    const t1 = await p.beginTransaction();
    assert.is(transactionVersion(p), version);
    await t1.produce([
      { topic, partition: 0, value: "one" },
      { topic, partition: 0, value: "two" },
    ]);
    await t1.sendOffsets(groupId, [{ topic, partition: 0, offset: 2n, metadata: '{"seq":1}' }]);
    await t1.commit();
    const t2 = await p.beginTransaction();
    await t2.produce([{ topic, partition: 0, value: "lost" }]);
    await t2.abort();
    const t3 = await p.beginTransaction();
    await t3.produce([{ topic, partition: 0, value: "three" }]);
    await t3.commit();
    await assertRejects(() => t3.commit(), KafkaClientError);
    await assertRejects(() => p.produce([{ topic, value: "outside" }]), Error);

    const c = client({ "isolation.level": "read_committed" });
    const { records } = await readAll(c, topic, 0, 0n, "read_committed");
    assert.equal(
      records.map((r) => text(r.value)),
      ["one", "two", "three"],
    );
    assert.equal(await c.fetchCommittedOffsets(groupId, [topic]), [
      { topic, partition: 0, offset: 2n, metadata: '{"seq":1}' },
    ]);
  });

  s.test(`transactions v${version}: a second producer with the same transactional.id fences the first`, async () => {
    const topic = uniqueTopic(`fence-v${version}`);
    await createTopic(bootstrap, topic, 1);
    const id = `tx-${topic}`;
    const first = producer({ "transactional.id": id }, version);
    const zombie = await first.beginTransaction();
    await zombie.produce([{ topic, partition: 0, value: "zombie" }]);
    const second = producer({ "transactional.id": id }, version);
    const t = await second.beginTransaction(); // InitProducerId bumps the epoch and aborts the zombie's transaction
    await t.produce([{ topic, partition: 0, value: "fresh" }]);
    await t.commit();
    const err = await assertRejects(() => zombie.commit(), KafkaClientError);
    assert.ok(
      ["PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH"].includes((err as KafkaClientError).kafkaErrorType ?? ""),
      String(err),
    );
    const { records } = await readAll(client(), topic, 0, 0n, "read_committed");
    assert.equal(
      records.map((r) => text(r.value)),
      ["fresh"],
    );
  });

  s.test(
    `transactions v${version}: many batches over partitions of a topic made by the write; an abort with records in flight; the next commit`,
    async () => {
      const topic = uniqueTopic(`txn-new-v${version}`); // not created: the broker makes it on the first metadata request
      const p = producer({ "transactional.id": `tx-${topic}`, "batch.size": "2000", "linger.ms": "0" }, version);
      const batch = (from: number, n: number) =>
        Array.from({ length: n }, (_, i) => ({ topic, key: `k${(from + i) % 13}`, value: `v${from + i}` }));
      const t1 = await p.beginTransaction();
      await t1.produce(batch(0, 3000));
      await t1.commit();
      const t2 = await p.beginTransaction();
      // Aborted while its batches are on their way: sent ones are acknowledged, unsent ones fail with the abort.
      const aborted = t2.produce(batch(3000, 2000)).catch((err: unknown) => err);
      await t2.abort();
      await aborted;
      const t3 = await p.beginTransaction(); // a new epoch: the aborted batches' sequences are forgotten
      await t3.produce(batch(5000, 1000));
      await t3.commit();

      const c = client({ "isolation.level": "read_committed" });
      const partitions = (await c.partitionsFor([topic]))[0]!.partitions;
      const values: string[] = [];
      for (const partition of partitions) {
        const { records } = await readAll(c, topic, partition, 0n, "read_committed");
        const ours = records.map((r) => Number(text(r.value)!.slice(1)));
        // per key (and so per partition) in send order
        assert.equal(
          ours,
          [...ours].sort((a, b) => a - b),
          `partition ${partition} in order`,
        );
        values.push(...records.map((r) => text(r.value)!));
      }
      const expected = [...batch(0, 3000), ...batch(5000, 1000)].map((r) => r.value);
      assert.equal(values.length, expected.length, "only the committed records, each once");
      assert.equal(new Set(values), new Set(expected));
    },
  );
}

s.test(
  "transactions v2: a commit whose answer is lost is sent again with the old epoch; Kafka answers the bumped one, the next transaction uses it",
  async () => {
    const topic = uniqueTopic("txn-lost-end");
    await createTopic(bootstrap, topic, 1);
    const p = producer({ "transactional.id": `tx-${topic}` }, 2);
    // The broker commits the first EndTxn, but its answer reaches us as a closed connection (as when the
    // connection drops after the request went out): the coordinator client asks again, as Java's producer does.
    const queue = RequestQueue.prototype as {
      push(request: { entry: { apiKey: number; resolve: (r: unknown) => void; reject: (e: unknown) => void } }): void;
    };
    const push = queue.push;
    let endTxnSends = 0;
    let lose = true;
    queue.push = function (this: unknown, request) {
      const entry = request.entry;
      if (entry.apiKey === END_TXN_API_KEY) {
        endTxnSends++;
        if (lose) {
          lose = false;
          const closed = Object.assign(new Error("Connection closed (injected after the request was sent)"), {
            name: "KafkaJSConnectionClosedError",
          });
          const reject = entry.reject;
          request = { ...request, entry: { ...entry, resolve: () => reject(closed) } };
        }
      }
      return push.call(this, request);
    };
    try {
      const t1 = await p.beginTransaction();
      assert.is(transactionVersion(p), 2);
      await t1.produce([{ topic, partition: 0, value: "one" }]);
      await t1.commit();
      assert.is(endTxnSends, 2, "EndTxn sent twice: the first answer was lost");
      const t2 = await p.beginTransaction();
      await t2.produce([{ topic, partition: 0, value: "two" }]);
      await t2.commit();
      assert.is(endTxnSends, 3);
    } finally {
      queue.push = push;
    }
    const { records } = await readAll(client({ "isolation.level": "read_committed" }), topic, 0, 0n, "read_committed");
    assert.equal(
      records.map((r) => text(r.value)),
      ["one", "two"],
    );
  },
);

s.test("partition discovery: partitionsFor sees added partitions; listTopics matches whole names", async () => {
  const prefix = uniqueTopic("disc");
  const a = `${prefix}-a`;
  const b = `${prefix}-b`;
  await createTopic(bootstrap, a, 1);
  await createTopic(bootstrap, b, 2);
  const c = client();
  assert.equal(await c.partitionsFor([a, b, `${prefix}-missing`]), [
    { topic: a, partitions: [0] },
    { topic: b, partitions: [0, 1] },
    { topic: `${prefix}-missing`, partitions: [] },
  ]);
  await withAdmin(bootstrap, (admin) => admin.createPartitions({ topicPartitions: [{ topic: a, count: 3 }] }));
  // The controller has committed the new partitions; the broker answering metadata applies them moments later.
  let seen = await c.partitionsFor([a]);
  for (const deadline = Date.now() + 10_000; seen[0]!.partitions.length < 3 && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 100));
    seen = await c.partitionsFor([a]);
  }
  assert.equal(seen, [{ topic: a, partitions: [0, 1, 2] }]);
  assert.equal(await c.listTopics(new RegExp(`${prefix}-.`)), [a, b]);
  assert.equal(await c.listTopics(/disc/), [], "a pattern matches whole names, as Java's");
  assert.ok(!(await c.listTopics()).some((t) => t.startsWith("__")), "internal topics are excluded");
});

s.test("fetch: concurrent readers of 4 partitions (merged requests) get every record exactly once", async () => {
  const topic = uniqueTopic("merged");
  await createTopic(bootstrap, topic, 4);
  const p = producer({ "linger.ms": "0" });
  const total = 20_000;
  await p.produce(Array.from({ length: total }, (_, i) => ({ topic, partition: i % 4, value: `v${i}` })));
  const c = client();
  const perPartition = await Promise.all(
    [0, 1, 2, 3].map(async (partition) => {
      const values: string[] = [];
      let offset = 0n;
      while (values.length < total / 4) {
        const r = await c.fetch(topic, partition, offset, { maxBytes: 16_384, maxWaitMs: 100 });
        for (const rec of r.records) values.push(text(rec.value)!);
        offset = r.nextOffset;
      }
      return values;
    }),
  );
  perPartition.forEach((values, partition) => {
    assert.equal(
      values,
      Array.from({ length: total / 4 }, (_, j) => `v${j * 4 + partition}`),
    );
  });
});

s.test("client cache: one client per config, closed after its last lease goes idle", async () => {
  const cache = new KafkaClientCache({ idleCloseMs: 50, logger });
  closers.push(() => cache.closeAll());
  const options = parseConsumerConfig({ "bootstrap.servers": bootstrap }, { logger });
  const same = parseConsumerConfig({ "bootstrap.servers": bootstrap }, { logger });
  const other = parseConsumerConfig({ "bootstrap.servers": bootstrap, "client.id": "other" }, { logger });
  const l1 = cache.acquireClient(options);
  const l2 = cache.acquireClient(same);
  const l3 = cache.acquireClient(other);
  assert.is(l1.client, l2.client);
  assert.is.not(l1.client, l3.client);
  assert.is(cache.size, 2);
  const topic = uniqueTopic("cache");
  await createTopic(bootstrap, topic, 1);
  assert.equal(await l1.client.listOffsets([{ topic, partition: 0 }], "latest"), [{ topic, partition: 0, offset: 0n }]);
  l1.release();
  l1.release(); // idempotent
  await new Promise((r) => setTimeout(r, 120));
  assert.is(cache.size, 2, "still leased by l2");
  l2.release();
  l3.release();
  const l4 = cache.acquireClient(other); // re-acquired before the idle close
  await new Promise((r) => setTimeout(r, 120));
  assert.is(cache.size, 1);
  assert.is(l4.client, l3.client);
  l4.release();
  await cache.closeAll();
  assert.is(cache.size, 0);
});

s.test("errors: unknown topics and partitions, and an unreachable broker, are typed errors", async () => {
  const topic = uniqueTopic("errors");
  await createTopic(bootstrap, topic, 1);
  const c = client();
  const unknownPartition = (await assertRejects(
    () => c.fetch(topic, 9, 0n),
    KafkaUnknownTopicError,
  )) as KafkaUnknownTopicError;
  assert.equal([unknownPartition.topic, unknownPartition.partition, unknownPartition.retriable], [topic, 9, false]);
  await assertRejects(() => c.fetch(`${topic}-nope`, 0, 0n), KafkaUnknownTopicError);
  await assertRejects(
    () => c.listOffsets([{ topic: `${topic}-nope`, partition: 0 }], "latest"),
    KafkaUnknownTopicError,
  );

  const port = await freePort(); // nothing listens there
  const down = client({
    "bootstrap.servers": `127.0.0.1:${port}`,
    "default.api.timeout.ms": "1500",
    "retry.backoff.ms": "50",
  });
  const started = Date.now();
  const err = (await assertRejects(
    () => down.listOffsets([{ topic, partition: 0 }], "latest"),
    KafkaClientError,
  )) as KafkaClientError;
  assert.ok(err.retriable, "a connection failure is retriable");
  assert.ok(Date.now() - started < 10_000, `gave up after ${Date.now() - started} ms`);
  await down.close();
  await assertRejects(() => down.fetch(topic, 0, 0n), KafkaClientClosedError);
});

s.test("tls: PEM text, PEM files, PKCS#12 and librdkafka keys all give a working mutual-TLS handshake", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kbt-tls-"));
  closers.push(async () => rmSync(dir, { recursive: true, force: true }));
  const f = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  ssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=kbt-test-ca",
  );
  for (const [name, san] of [
    ["server", "subjectAltName=IP:127.0.0.1"],
    ["client", "extendedKeyUsage=clientAuth"],
  ] as const) {
    ssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=kbt-${name}`,
    );
    writeFileSync(f(`${name}.ext`), `${san}\n`);
    ssl(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.crt`,
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
    );
  }
  ssl(
    "pkcs12",
    "-export",
    "-in",
    "client.crt",
    "-inkey",
    "client.key",
    "-out",
    "client.p12",
    "-passout",
    "pass:store-pass",
  );
  ssl(
    "pkcs8",
    "-topk8",
    "-v2",
    "aes-256-cbc",
    "-in",
    "client.key",
    "-out",
    "client.enc.key",
    "-passout",
    "pass:key-pass",
  );
  const read = (name: string) => readFileSync(f(name), "utf8");
  writeFileSync(f("client-keystore.pem"), read("client.key") + read("client.crt")); // Kafka's PEM keystore file: key and chain

  const server = createTlsServer(
    {
      key: read("server.key"),
      cert: read("server.crt"),
      ca: read("ca.pem"),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (socket) => socket.end(`hello ${socket.getPeerCertificate().subject.CN}`),
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;

  // Connects as kafkajs's socket factory does: host, port, servername for names, then our TLS options.
  const handshake = (config: KafkaConfigMap, host = "127.0.0.1"): Promise<string> => {
    const options = parseConsumerConfig(
      { "bootstrap.servers": `${host}:${port}`, "security.protocol": "SSL", ...config },
      { logger },
    );
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({
        host,
        port,
        ...(isIP(host) ? {} : { servername: host }),
        ...nodeTlsOptions(options.tls!),
      });
      let data = "";
      socket.on("data", (d) => {
        data += d;
      });
      socket.on("end", () => resolve(data));
      socket.on("error", reject);
    });
  };
  const oneLine = (pem: string) => pem.replace(/\n/g, " ");
  assert.is(
    await handshake({
      "ssl.truststore.type": "PEM",
      "ssl.truststore.certificates": read("ca.pem"),
      "ssl.keystore.type": "PEM",
      "ssl.keystore.certificate.chain": oneLine(read("client.crt")),
      "ssl.keystore.key": oneLine(read("client.key")),
    }),
    "hello kbt-client",
    "inline PEM (folded onto one line)",
  );
  assert.is(
    await handshake({
      "ssl.truststore.certificates": read("ca.pem"),
      "ssl.keystore.certificate.chain": read("client.crt"),
      "ssl.keystore.key": read("client.enc.key"),
      "ssl.key.password": "key-pass",
    }),
    "hello kbt-client",
    "inline PEM, encrypted PKCS#8 key",
  );
  assert.is(
    await handshake({
      "ssl.truststore.type": "PEM",
      "ssl.truststore.location": f("ca.pem"),
      "ssl.keystore.type": "PEM",
      "ssl.keystore.location": f("client-keystore.pem"),
    }),
    "hello kbt-client",
    "PEM files",
  );
  assert.is(
    await handshake({
      "ssl.truststore.location": f("ca.pem"),
      "ssl.keystore.type": "PKCS12",
      "ssl.keystore.location": f("client.p12"),
      "ssl.keystore.password": "store-pass",
    }),
    "hello kbt-client",
    "PKCS#12 keystore",
  );
  assert.is(
    await handshake({
      "ssl.ca.location": f("ca.pem"),
      "ssl.certificate.location": f("client.crt"),
      "ssl.key.location": f("client.key"),
    }),
    "hello kbt-client",
    "librdkafka keys",
  );

  await assertRejects(
    () => handshake({ "ssl.keystore.certificate.chain": read("client.crt"), "ssl.keystore.key": read("client.key") }),
    Error,
  );
  const trusted = {
    "ssl.truststore.certificates": read("ca.pem"),
    "ssl.keystore.certificate.chain": read("client.crt"),
    "ssl.keystore.key": read("client.key"),
  };
  await assertRejects(() => handshake(trusted, "localhost"), Error); // the certificate names 127.0.0.1 only
  assert.is(
    await handshake({ ...trusted, "ssl.endpoint.identification.algorithm": "" }, "localhost"),
    "hello kbt-client",
  );
  const missing = (await assertRejects(
    async () => handshake({ "ssl.truststore.location": f("nope.pem") }),
    KafkaConfigError,
  )) as KafkaConfigError;
  assert.is(missing.key, "ssl.truststore.location");
});

async function assertRejects(fn: () => Promise<unknown>, type: new (...args: never[]) => Error): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    assert.instance(err, type);
    return err as Error;
  }
  assert.unreachable("expected a rejection");
  throw new Error("unreachable");
}

s.run();
