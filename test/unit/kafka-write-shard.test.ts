// Exactly-once building blocks without a broker: the sharded record bytes, shard assignment, batch identity and
// digest, the shard sequence metadata, and the shard writer's protocol against an in-memory transaction log that
// fences like Kafka's coordinator (fakes for logic only; the real broker is in test/integration/kafka-write-*.ts).
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { rng } from "./sdf-prng.js";
import {
  BatchDigest,
  INITIAL_SHARD_STATE,
  KafkaWriteError,
  RECENT_BATCHES,
  ShardWriter,
  ShardWriterPool,
  batchIdOf,
  decideBatch,
  decodeShardRecord,
  encodeShardRecord,
  formatShardMetadata,
  parseShardState,
  shardOf,
  writeSpecFromOptions,
  type ShardOffsetsClient,
} from "../../src/kafka/write/index.js";
import {
  hash32,
  addShardValueDigest,
  readShardValue,
  sameBatchDigest,
  ShardChunkWriter,
  ShardRecordEncoder,
} from "../../src/kafka/write/shard-record.js";
import { ByteReader } from "../../src/model/coders/index.js";
import { parseProducerConfig, type ProducerOptions } from "../../src/kafka/config/index.js";
import { KafkaClientError } from "../../src/kafka/errors.js";
import type {
  CommittedOffset,
  GroupOffset,
  KafkaProducer,
  KafkaTransaction,
  ProducerRecord,
} from "../../src/kafka/client/index.js";
import { keyPartition } from "../../src/kafka/client/index.js";
import { GLOBAL_WINDOW, NO_FIRING_PANE } from "../../src/model/windowing.js";

const s = suite("kafka write: shards, sequences and the shard writer");

function randomRecord(next: () => number): ProducerRecord {
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256)));
  const record: { -readonly [K in keyof ProducerRecord]: ProducerRecord[K] } = {
    topic: `topic-${Math.floor(next() * 5)}-ü`,
    key: next() < 0.3 ? null : bytes(Math.floor(next() * 40)),
    value: next() < 0.1 ? null : bytes(Math.floor(next() * 300)),
  };
  if (next() < 0.5) record.partition = Math.floor(next() * 1000);
  if (next() < 0.5) record.timestamp = BigInt(Math.floor(next() * 2 ** 50));
  if (next() < 0.4) {
    record.headers = Array.from({ length: 1 + Math.floor(next() * 3) }, (_, i) => ({
      key: `h${i}`,
      value: next() < 0.2 ? null : bytes(Math.floor(next() * 10)), // null: format version 2
    }));
  }
  return record;
}

s.test("shard record: random records survive encode → decode exactly", () => {
  const random = rng(7);
  const next = () => random.next();
  for (let i = 0; i < 2000; i++) {
    const record = randomRecord(next);
    const back = decodeShardRecord(encodeShardRecord(record));
    assert.equal(back, record, `record ${i}`);
  }
  // String keys/values/header values travel as their UTF-8 bytes.
  assert.equal(
    decodeShardRecord(encodeShardRecord({ topic: "t", key: "k", value: "v€", headers: [{ key: "h", value: "x" }] })),
    {
      topic: "t",
      key: Buffer.from("k"),
      value: Buffer.from("v€"),
      headers: [{ key: "h", value: Buffer.from("x") }],
    },
  );
  // A null header value (Kafka allows them) makes a version 2 record; without one the bytes stay version 1.
  const nullable = encodeShardRecord({ topic: "t", key: null, value: "v", headers: [{ key: "n", value: null }] });
  assert.is(nullable[0], 2);
  assert.equal(decodeShardRecord(nullable).headers, [{ key: "n", value: null }]);
  assert.is(encodeShardRecord({ topic: "t", key: null, value: "v", headers: [{ key: "e", value: "" }] })[0], 1);
});

s.test("shard record: corrupt bytes fail with a named error", () => {
  const bytes = encodeShardRecord({ topic: "t", key: Buffer.from("k"), value: Buffer.from("value") });
  for (const bad of [
    bytes.subarray(0, bytes.length - 1),
    Uint8Array.from([3, ...bytes.subarray(1)]),
    Uint8Array.from([...bytes, 0]),
  ]) {
    try {
      decodeShardRecord(bad);
      assert.unreachable("decoded corrupt bytes");
    } catch (err) {
      assert.instance(err, KafkaWriteError);
      assert.is((err as KafkaWriteError).code, "KAFKA_WRITE_EXACTLY_ONCE");
    }
  }
});

s.test(
  "shard chunk: records and digest survive; chunking does not change the digest; single records still read",
  () => {
    const random = rng(11);
    const next = () => random.next();
    const records = Array.from({ length: 500 }, () => randomRecord(next));
    const whole = new BatchDigest();
    for (const r of records) whole.add(encodeShardRecord(r));

    const writer = new ShardChunkWriter(64); // grows
    const encoder = new ShardRecordEncoder();
    const values: Uint8Array[] = [];
    for (const [i, r] of records.entries()) {
      assert.is(encoder.encode(r, 7), shardOf(r, 7), "the encoder's shard");
      assert.is(encoder.hash, hash32(encodeShardRecord(r)), "the encoder's hash: the digest's");
      writer.append(encoder);
      if (i % 170 === 169) values.push(writer.finish()); // three chunks: 170 + 170 + 160
    }
    assert.is(writer.records, 160);
    values.push(writer.finish());
    assert.is(writer.records, 0, "finish starts a new chunk");
    assert.equal(
      values.map((v) => [v[0], v.length > 13]),
      [
        [3, true],
        [3, true],
        [3, true],
      ],
    );

    const back: ProducerRecord[] = [];
    const digest = new BatchDigest();
    const reader = new ByteReader();
    for (const v of values) {
      addShardValueDigest(v, digest, reader);
      readShardValue(v, back, reader);
    }
    assert.equal(back, records);
    assert.is(digest.toString(), whole.toString());

    // A value from a shard step before chunks: one record.
    const single: ProducerRecord[] = [];
    const singleDigest = new BatchDigest();
    addShardValueDigest(encodeShardRecord(records[0]!), singleDigest);
    readShardValue(encodeShardRecord(records[0]!), single);
    assert.equal(single, [records[0]]);
    assert.is(singleDigest.records, 1);

    const chunk = values[2]!;
    for (const bad of [chunk.subarray(0, 10), chunk.subarray(0, chunk.length - 1), Uint8Array.from([...chunk, 0])]) {
      try {
        readShardValue(bad, []);
        assert.unreachable("read a corrupt chunk");
      } catch (err) {
        assert.instance(err, KafkaWriteError);
        assert.match((err as Error).message, /shard(ed)? (chunk|record)/);
      }
    }
  },
);

s.test("shard assignment: deterministic, in range, by partition or key (else the record's bytes), roughly even", () => {
  const counts = new Array<number>(8).fill(0);
  for (let i = 0; i < 16_000; i++) {
    const record = { topic: "t", key: Buffer.from(`key-${i}`), value: Buffer.from("same") };
    const shard = shardOf(record, 8);
    assert.ok(Number.isInteger(shard) && shard >= 0 && shard < 8);
    assert.is(shardOf({ ...record, value: Buffer.from("other") }, 8), shard, "same key, same shard");
    counts[shard]!++;
  }
  for (const c of counts) assert.ok(c > 1600 && c < 2400, `uneven shards: ${counts.join(",")}`);
  const unkeyed = new Array<number>(8).fill(0);
  for (let i = 0; i < 16_000; i++) {
    const record = { topic: "t", key: null, value: Buffer.from(`value-${i}`) };
    const shard = shardOf(record, 8);
    assert.is(shardOf({ ...record, value: Buffer.from(`value-${i}`) }, 8), shard, "same record, same shard");
    assert.is(shard, hash32(encodeShardRecord(record)) % 8, "the record hash");
    unkeyed[shard]!++;
  }
  for (const c of unkeyed) assert.ok(c > 1600 && c < 2400, `uneven unkeyed shards: ${unkeyed.join(",")}`);
  assert.is(shardOf({ topic: "t", key: Buffer.from("x"), value: null }, 1), 0);
  // Aligned with Kafka's partitioning: with 4 shards and 8 partitions, a partition's records all go to one shard.
  const shardsOfPartition = new Map<number, Set<number>>();
  for (let i = 0; i < 4_000; i++) {
    const key = Buffer.from(`key-${i}`);
    const partition = keyPartition(key, 8);
    const shard = shardOf({ topic: "t", key, value: null }, 4);
    shardsOfPartition.set(partition, (shardsOfPartition.get(partition) ?? new Set()).add(shard));
  }
  assert.equal(
    [...shardsOfPartition].sort(([a], [b]) => a - b).map(([p, shards]) => [p, [...shards]]),
    Array.from({ length: 8 }, (_, p) => [p, [p % 4]]),
  );
  assert.is(shardOf({ topic: "t", key: Buffer.from("x"), value: null, partition: 6 }, 4), 2, "a given partition");
});

s.test("batch id and digest: window + pane identify a firing; the digest ignores order, sees content", () => {
  assert.is(batchIdOf(GLOBAL_WINDOW, NO_FIRING_PANE), "g/0");
  assert.is(batchIdOf({ kind: "interval", start: 1000n, end: 2000n }, { ...NO_FIRING_PANE, index: 3n }), "1000~2000/3");
  const records = Array.from({ length: 50 }, (_, i) =>
    encodeShardRecord({ topic: "t", key: Buffer.from(`k${i}`), value: Buffer.from(`v${i}`) }),
  );
  const digest = (list: Uint8Array[]) => {
    const d = new BatchDigest();
    for (const r of list) d.add(r);
    return d.toString();
  };
  const forward = digest(records);
  assert.match(forward, /^50:m[0-9a-f]{16}$/);
  assert.is(digest([...records].reverse()), forward);
  assert.is.not(digest(records.slice(1)), forward);
  assert.is.not(
    digest([...records.slice(1), encodeShardRecord({ topic: "t", key: Buffer.from("k0"), value: Buffer.from("v0!") })]),
    forward,
  );
});

s.test(
  "hash32 is MurmurHash3 x86_32 (reference values), the same through the aligned word path and byte by byte",
  () => {
    const h = (text: string) => hash32(Buffer.from(text));
    assert.is(h(""), 0);
    assert.is(h("hello"), 0x248bfa47);
    assert.is(h("The quick brown fox jumps over the lazy dog"), 0x2e4ff723);
    const bytes = Array.from({ length: 203 }, (_, i) => (i * 7) & 0xff);
    const at = (offset: number) => {
      const view = new Uint8Array(new ArrayBuffer(216), offset, bytes.length);
      view.set(bytes);
      return hash32(view);
    };
    assert.is(at(5), at(8), "unaligned (bytes) = aligned (words)");
    const wide = new Uint8Array(new ArrayBuffer(216));
    wide.set(bytes, 4);
    assert.is(hash32(wide, 0, 4, 4 + bytes.length), at(8), "a range hashes as its own bytes");
  },
);

s.test("a batch committed before the murmur3 digest is recognised by its record count", () => {
  assert.ok(sameBatchDigest("50:m0011223344556677", "50:m0011223344556677"));
  assert.not.ok(sameBatchDigest("50:m0011223344556677", "50:m0011223344556678"), "new digests compare in full");
  assert.ok(sameBatchDigest("50:0011223344556677", "50:m8899aabbccddeeff"), "an FNV-era digest: same count");
  assert.not.ok(sameBatchDigest("50:0011223344556677", "51:m8899aabbccddeeff"), "an FNV-era digest: other count");
});

s.test("sequence: write, skip a retried batch, refuse a re-formed one, remember a bounded window", () => {
  const first = decideBatch(INITIAL_SHARD_STATE, "g/0", "2:aa");
  assert.equal(first, { kind: "write", seq: 1n, next: { seq: 1n, recent: [{ id: "g/0", digest: "2:aa", seq: 1n }] } });
  if (first.kind !== "write") throw new Error("unreachable");
  assert.equal(decideBatch(first.next, "g/0", "2:aa"), {
    kind: "skip",
    committed: { id: "g/0", digest: "2:aa", seq: 1n },
  });
  assert.equal(decideBatch(first.next, "g/0", "3:bb").kind, "conflict");
  let state = first.next;
  for (let i = 1; i <= RECENT_BATCHES + 5; i++) {
    const d = decideBatch(state, `g/${i}`, `1:${i}`);
    if (d.kind !== "write") throw new Error(`batch ${i}: ${d.kind}`);
    state = d.next;
  }
  assert.is(state.seq, BigInt(RECENT_BATCHES + 6));
  assert.is(state.recent.length, RECENT_BATCHES);
  assert.is(state.recent[state.recent.length - 1]!.id, `g/${RECENT_BATCHES + 5}`);
});

s.test(
  "sequence metadata: round-trips through the committed offset, fits Kafka's limit, rejects foreign offsets",
  () => {
    let state = INITIAL_SHARD_STATE;
    for (let i = 0; i < RECENT_BATCHES; i++) {
      const d = decideBatch(
        state,
        `${1_700_000_000_000 + i * 1000}~${1_700_000_001_000 + i * 1000}/${i}`,
        `123456:${"f".repeat(16)}`,
      );
      if (d.kind === "write") state = d.next;
    }
    const text = formatShardMetadata(state, "host/1");
    assert.ok(Buffer.byteLength(text) <= 3500, `${Buffer.byteLength(text)} bytes`);
    const back = parseShardState({ offset: state.seq, metadata: text }, "here");
    assert.is(back.seq, state.seq);
    assert.equal(back.recent, state.recent.slice(state.recent.length - back.recent.length));
    assert.ok(back.recent.length >= 20);
    assert.equal(parseShardState(null, "here"), INITIAL_SHARD_STATE);
    assert.equal(parseShardState({ offset: null, metadata: null }, "here"), INITIAL_SHARD_STATE);
    const foreign = (offset: bigint, metadata: string | null) => {
      try {
        parseShardState({ offset, metadata }, "group g, t-0");
        assert.unreachable("accepted foreign metadata");
      } catch (err) {
        assert.instance(err, KafkaWriteError);
        assert.match((err as Error).message, /group g, t-0 holds a committed offset this sink did not write/);
      }
    };
    foreign(42n, "");
    foreign(42n, null);
    foreign(42n, '{"v":2}');
    foreign(3n, formatShardMetadata(state, "w"));
  },
);

// ---- the shard writer against an in-memory log with Kafka's fencing rules ----

interface Txn {
  records: ProducerRecord[];
  offsets: GroupOffset[];
  groupId: string | undefined;
}

/** One transactional id's coordinator state plus the committed log and group offsets. */
class FakeCluster {
  readonly committed: ProducerRecord[] = [];
  readonly offsets = new Map<string, { offset: bigint; metadata: string | null }>();
  readonly epochs = new Map<string, number>();
  readonly open = new Map<string, Txn>();
  fetches = 0;
  partitions = 4;

  offsetsClient(): ShardOffsetsClient {
    return {
      commitOffsets: async () => undefined,
      fetchCommittedOffsets: async (groupId, parts) => {
        this.fetches++;
        return (parts as { topic: string; partition: number }[]).map(({ topic, partition }): CommittedOffset => {
          const c = this.offsets.get(`${groupId}/${topic}/${partition}`);
          return { topic, partition, offset: c?.offset ?? null, metadata: c?.metadata ?? null };
        });
      },
    };
  }
}

type Fault = "none" | "produce" | "abortable" | "commit-then-throw" | "commit-fails";

class FakeProducer implements KafkaProducer {
  epoch = -1;
  closed = false;
  fault: Fault = "none";
  constructor(
    readonly options: ProducerOptions,
    private readonly cluster: FakeCluster,
  ) {}
  async produce(): Promise<void> {
    throw new Error("not transactional");
  }
  async flush(): Promise<void> {}
  async partitionsFor(): Promise<number[]> {
    return Array.from({ length: this.cluster.partitions }, (_, i) => i);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  async beginTransaction(): Promise<KafkaTransaction> {
    const id = this.options.transactionalId!;
    if (this.epoch < 0) {
      // InitProducerId: bump the epoch, abort what the previous epoch left open.
      this.epoch = (this.cluster.epochs.get(id) ?? -1) + 1;
      this.cluster.epochs.set(id, this.epoch);
      this.cluster.open.delete(id);
    }
    const txn: Txn = { records: [], offsets: [], groupId: undefined };
    this.cluster.open.set(id, txn);
    const fenced = () => {
      if (this.cluster.epochs.get(id) !== this.epoch)
        throw Object.assign(new Error("PRODUCER_FENCED"), { retriable: false });
    };
    return {
      produce: async (records) => {
        fenced();
        txn.records.push(...records);
        if (this.fault === "produce") throw new Error("injected: failed after send");
        if (this.fault === "abortable")
          throw new KafkaClientError("produce to out-1: TRANSACTION_ABORTABLE", {
            kafkaErrorType: "TRANSACTION_ABORTABLE",
          });
      },
      sendOffsets: async (groupId, offsets) => {
        fenced();
        txn.groupId = groupId;
        txn.offsets.push(...offsets);
      },
      commit: async () => {
        fenced();
        if (this.fault === "commit-fails") throw new Error("injected: commit timed out");
        this.cluster.committed.push(...txn.records);
        for (const o of txn.offsets)
          this.cluster.offsets.set(`${txn.groupId}/${o.topic}/${o.partition}`, {
            offset: o.offset,
            metadata: o.metadata ?? null,
          });
        this.cluster.open.delete(id);
        if (this.fault === "commit-then-throw") throw new Error("injected: failed after commit");
      },
      abort: async () => {
        this.cluster.open.delete(id);
      },
    };
  }
}

const eosSpec = writeSpecFromOptions({
  producerConfig: { "bootstrap.servers": "127.0.0.1:9092" },
  topic: "out",
  exactlyOnce: { numShards: 4, sinkGroupId: "sink" },
}).exactlyOnce!;

function shardWriter(cluster: FakeCluster, shard = 1, producers: FakeProducer[] = []): ShardWriter {
  const options = parseProducerConfig(
    { "bootstrap.servers": "127.0.0.1:9092", "transactional.id": `kbt-sink-sink-${shard}` },
    { logger: () => undefined },
  );
  return new ShardWriter(eosSpec, shard, options, {
    createProducer: (o) => {
      const p = new FakeProducer(o, cluster);
      producers.push(p);
      return p;
    },
    offsets: cluster.offsetsClient(),
    writerId: "test",
  });
}

const batch = (n: number, tag: string): ProducerRecord[] =>
  Array.from({ length: n }, (_, i) => ({ topic: "out", key: null, value: Buffer.from(`${tag}-${i}`) }));

s.test(
  "shard writer: commits records and sequence together; a retried batch is skipped, also by a new writer",
  async () => {
    const cluster = new FakeCluster();
    const writer = shardWriter(cluster);
    assert.equal(await writer.writeBatch("g/0", "3:x", batch(3, "a")), { kind: "committed", seq: 1n, records: 3 });
    assert.equal(await writer.writeBatch("g/1", "2:y", batch(2, "b")), { kind: "committed", seq: 2n, records: 2 });
    assert.is(cluster.fetches, 1, "state is read once, then known");
    assert.equal(await writer.writeBatch("g/1", "2:y", batch(2, "b")), { kind: "skipped", seq: 2n, records: 0 });
    assert.is(cluster.committed.length, 5);
    const committed = cluster.offsets.get("sink/out/1")!;
    assert.is(committed.offset, 2n);
    assert.equal(
      parseShardState(committed, "x").recent.map((b) => b.id),
      ["g/0", "g/1"],
    );
    // A restarted worker: a fresh writer reads the state from the committed offset.
    const restarted = shardWriter(cluster);
    assert.equal(await restarted.writeBatch("g/0", "3:x", batch(3, "a")), { kind: "skipped", seq: 1n, records: 0 });
    assert.equal(await restarted.writeBatch("g/2", "1:z", batch(1, "c")), { kind: "committed", seq: 3n, records: 1 });
    assert.is(cluster.committed.length, 6);
  },
);

s.test("shard writer: a failure after the send aborts, drops the producer, and the retry writes once", async () => {
  const cluster = new FakeCluster();
  const producers: FakeProducer[] = [];
  const writer = shardWriter(cluster, 1, producers);
  await writer.writeBatch("g/0", "1:a", batch(1, "first"));
  producers[0]!.fault = "produce";
  await writer.writeBatch("g/1", "4:b", batch(4, "b")).then(
    () => assert.unreachable("no failure"),
    (err: Error) => assert.match(err.message, /failed after send/),
  );
  assert.ok(producers[0]!.closed, "the failed producer is closed");
  assert.is(cluster.committed.length, 1, "nothing of the failed batch is visible");
  assert.equal(await writer.writeBatch("g/1", "4:b", batch(4, "b")), { kind: "committed", seq: 2n, records: 4 });
  assert.is(producers.length, 2, "the retry used a new producer (which fenced the old one)");
  assert.is(cluster.committed.length, 5);
});

s.test(
  "shard writer: TRANSACTION_ABORTABLE aborts and writes the batch again at once, with a new producer",
  async () => {
    const cluster = new FakeCluster();
    const producers: FakeProducer[] = [];
    const writer = shardWriter(cluster, 1, producers);
    await writer.writeBatch("g/0", "1:a", batch(1, "first"));
    producers[0]!.fault = "abortable";
    assert.equal(await writer.writeBatch("g/1", "4:b", batch(4, "b")), { kind: "committed", seq: 2n, records: 4 });
    assert.ok(producers[0]!.closed, "the producer whose transaction could not commit is closed");
    assert.is(producers.length, 2);
    assert.equal(
      cluster.committed.map((r) => (r.value as Buffer).toString()),
      ["first-0", "b-0", "b-1", "b-2", "b-3"],
      "the batch once",
    );
  },
);

s.test("shard writer: committed but reported failed (unknown outcome) → the retry finds it committed", async () => {
  for (const fault of ["commit-then-throw", "commit-fails"] as const) {
    const cluster = new FakeCluster();
    const producers: FakeProducer[] = [];
    const writer = shardWriter(cluster, 2, producers);
    await writer.writeBatch("g/0", "1:w", batch(1, "warm-up"));
    producers[0]!.fault = fault;
    await writer.writeBatch("g/1", "3:a", batch(3, "a")).then(
      () => assert.unreachable("no failure"),
      () => undefined,
    );
    const retry = await writer.writeBatch("g/1", "3:a", batch(3, "a"));
    assert.equal(retry.kind, fault === "commit-then-throw" ? "skipped" : "committed", fault);
    assert.is(cluster.committed.length, 4, `${fault}: exactly once`);
  }
});

s.test("shard writer: a zombie is fenced by the newer producer and cannot commit", async () => {
  const cluster = new FakeCluster();
  const zombieProducers: FakeProducer[] = [];
  const zombie = shardWriter(cluster, 0, zombieProducers);
  await zombie.writeBatch("g/0", "1:a", batch(1, "a"));
  const fresh = shardWriter(cluster, 0);
  await fresh.writeBatch("g/1", "1:b", batch(1, "b"));
  await zombie.writeBatch("g/2", "1:c", batch(1, "zombie")).then(
    () => assert.unreachable("zombie committed"),
    (err: Error) => assert.match(err.message, /FENCED/),
  );
  assert.equal(
    cluster.committed.map((r) => String(r.value)),
    ["a-0", "b-0"],
  );
  // The zombie's retry re-fences, reads the state and continues after "g/1".
  assert.equal(await zombie.writeBatch("g/2", "1:c", batch(1, "c")), { kind: "committed", seq: 3n, records: 1 });
});

s.test(
  "shard writer: a batch re-formed with other records fails loudly; a too-small metadata topic is named",
  async () => {
    const cluster = new FakeCluster();
    const writer = shardWriter(cluster);
    await writer.writeBatch("g/0", "2:aa", batch(2, "a"));
    await writer.writeBatch("g/0", "3:bb", batch(3, "a")).then(
      () => assert.unreachable("accepted"),
      (err: KafkaWriteError) => {
        assert.is(err.code, "KAFKA_WRITE_EXACTLY_ONCE");
        assert.match(err.message, /batch g\/0 was committed as sequence 1 with other records/);
      },
    );
    const small = new FakeCluster();
    small.partitions = 1;
    await shardWriter(small, 3)
      .writeBatch("g/0", "1:a", batch(1, "a"))
      .then(
        () => assert.unreachable("accepted"),
        (err: Error) => {
          assert.match(err.message, /partition 3 of topic out, which has only 1/);
        },
      );
  },
);

s.test(
  "shard writer: a batch given in groups goes to the producer as they are read, <= 16 MiB unacknowledged",
  async () => {
    const cluster = new FakeCluster();
    let unacknowledged = 0;
    let most = 0;
    const options = parseProducerConfig(
      { "bootstrap.servers": "127.0.0.1:9092", "transactional.id": "kbt-sink-sink-1" },
      { logger: () => undefined },
    );
    const writer = new ShardWriter(eosSpec, 1, options, {
      createProducer: (o) => {
        const producer = new FakeProducer(o, cluster);
        const begin = producer.beginTransaction.bind(producer);
        // Each produce is acknowledged a moment later, as a broker's.
        producer.beginTransaction = async () => {
          const t = await begin();
          return {
            ...t,
            produce: async (records) => {
              const bytes = records.reduce((sum, r) => sum + (r.value as Buffer).length, 0);
              unacknowledged += bytes;
              most = Math.max(most, unacknowledged);
              await new Promise((resolve) => setTimeout(resolve, 1));
              await t.produce(records);
              unacknowledged -= bytes;
            },
          };
        };
        return producer;
      },
      offsets: cluster.offsetsClient(),
      writerId: "test",
    });
    const mib = 1024 * 1024;
    let reads = 0;
    function* groups(): Iterable<ProducerRecord[]> {
      reads++;
      for (let g = 0; g < 40; g++) yield [{ topic: "out", key: null, value: Buffer.alloc(mib, g) }];
    }
    assert.equal(await writer.writeBatch("g/0", "40:x", groups), { kind: "committed", seq: 1n, records: 40 });
    assert.is(reads, 1);
    assert.equal(
      cluster.committed.map((r) => (r.value as Buffer)[0]),
      Array.from({ length: 40 }, (_, g) => g),
      "every group, once, in order",
    );
    assert.ok(most > 8 * mib && most <= 17 * mib, `at most 16 MiB (+ one group) unacknowledged: ${most / mib} MiB`);
    // A batch committed before is not read at all.
    assert.equal(await writer.writeBatch("g/0", "40:x", groups), { kind: "skipped", seq: 1n, records: 0 });
    assert.is(reads, 1);
  },
);

s.test("shard writer pool: one writer per key, shared, closed when idle", async () => {
  const pool = new ShardWriterPool(10);
  const cluster = new FakeCluster();
  const a = pool.acquire("k", () => shardWriter(cluster));
  const b = pool.acquire("k", () => assert.unreachable("created twice") as never);
  assert.is(a.writer, b.writer);
  a.release();
  b.release();
  b.release();
  assert.is(pool.size, 1);
  await new Promise((r) => setTimeout(r, 30));
  assert.is(pool.size, 0);
  await pool.closeAll();
});

s.run();
