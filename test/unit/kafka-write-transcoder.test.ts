// The exactly-once transactions step's transcoder: shard chunks in, Kafka record batches' records out. Checked
// byte for byte against the producer's own encoder for the same records, decoded back with our batch decoder, and
// for partitions, per-partition order, batch limits and a topic's count learned part-way through a value.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { rng } from "./sdf-prng.js";
import {
  BatchBuffers,
  decodeRecordSet,
  keyPartition,
  RECORDS_OFFSET,
  type ProducerRecord,
} from "../../src/kafka/client/index.js";
import {
  encodeUnstampedEncodedBatch,
  encodeUnstampedRecordBatch,
  NO_PRODUCER,
  stampRecordBatch,
} from "../../src/kafka/client/record-batch-encoder.js";
import { ShardChunkWriter, ShardRecordEncoder } from "../../src/kafka/write/shard-record.js";
import { ShardTranscoder, type TranscodedRun } from "../../src/kafka/write/shard-transcoder.js";
import { KafkaWriteError } from "../../src/kafka/write/index.js";

const s = suite("kafka write: shard chunks transcoded into Kafka batches");
const NOW = 1_700_000_000_000;
const COUNTS = new Map([
  ["orders", 5],
  ["audit-ü", 3],
  ["wide", 40],
]);

/** `tagged`: each record gets a last header with its index, so equal records can be told apart. */
function randomRecords(n: number, seed: number, timestamps: "all" | "some", tagged = false): ProducerRecord[] {
  const random = rng(seed);
  const next = () => random.next();
  const bytes = (k: number) => Buffer.from(Array.from({ length: k }, () => Math.floor(next() * 256)));
  return Array.from({ length: n }, (_, i) => {
    const record: { -readonly [K in keyof ProducerRecord]: ProducerRecord[K] } = {
      topic: next() < 0.7 ? "orders" : "audit-ü",
      key: next() < 0.3 ? null : Buffer.from(`key-${Math.floor(next() * 20)}`),
      value: next() < 0.1 ? null : bytes(Math.floor(next() * 300)),
    };
    if (next() < 0.2) record.partition = Math.floor(next() * 3);
    if (timestamps === "all" || next() < 0.5) record.timestamp = BigInt(NOW - 5_000 + i);
    if (next() < 0.3) {
      record.headers = Array.from({ length: 1 + Math.floor(next() * 3) }, (_, h) => ({
        key: `h${h}`,
        value: next() < 0.2 ? null : bytes(Math.floor(next() * 10)),
      }));
    }
    if (tagged) record.headers = [...(record.headers ?? []), { key: "i", value: Buffer.from(String(i)) }];
    return record;
  });
}

/** The shard step's values for `records`: chunks of about `chunkBytes`. */
function chunksOf(records: readonly ProducerRecord[], chunkBytes: number): Uint8Array[] {
  const encoder = new ShardRecordEncoder();
  const writer = new ShardChunkWriter(256);
  const out: Uint8Array[] = [];
  for (const record of records) {
    encoder.encode(record, 1);
    writer.append(encoder);
    if (writer.byteLength >= chunkBytes) out.push(writer.finish());
  }
  out.push(writer.finish());
  return out;
}

/** Every value through a transcoder whose counts start empty (each topic's is learned where it is missing). */
function transcodeAll(values: readonly Uint8Array[], limit: number): { runs: TranscodedRun[]; lookups: string[] } {
  const counts = new Map<string, number>();
  const transcoder = new ShardTranscoder(limit, new BatchBuffers(RECORDS_OFFSET + limit + 64), counts);
  const lookups: string[] = [];
  const runs: TranscodedRun[] = [];
  for (const value of values) {
    let result = transcoder.transcode(value, NOW);
    while (!Array.isArray(result)) {
      lookups.push(result.topic);
      counts.set(result.topic, COUNTS.get(result.topic)!);
      result = transcoder.transcode(value, NOW, result.record);
    }
    runs.push(...result);
  }
  runs.push(...transcoder.flush());
  return { runs, lookups };
}

async function decodeRun(run: TranscodedRun) {
  const batch = encodeUnstampedEncodedBatch(run.records);
  stampRecordBatch(batch, NO_PRODUCER); // the CRC, as the producer writes it when it sends
  return (
    await decodeRecordSet(
      { buffer: batch, start: 0, end: batch.length, fromOffset: 0n, readCommitted: false, abortedTransactions: null },
      async () => Buffer.alloc(0),
    )
  ).records;
}

const text = (b: Buffer | string | null | undefined) =>
  b === null || b === undefined ? null : Buffer.from(b).toString("hex");

s.test("records come back whole, each once, per partition in order, on the producer's partition", async () => {
  const records = randomRecords(2_000, 5, "some", true);
  const { runs, lookups } = transcodeAll(chunksOf(records, 4_096), 2_000);
  assert.equal(lookups.sort(), ["audit-ü", "orders"], "each topic's count looked up once, where first needed");
  const got = new Map<string, string[]>();
  for (const run of runs) {
    assert.ok(run.records.frame.length - RECORDS_OFFSET <= 2_000 + 400, "a batch closes at the limit");
    const decoded = await decodeRun(run);
    assert.is(decoded.length, run.records.count);
    assert.equal(
      decoded.map((r) => r.offset),
      decoded.map((_, i) => BigInt(i)),
      "offset deltas 0..",
    );
    const list = got.get(`${run.topic}/${run.partition}`) ?? [];
    for (const r of decoded) {
      const headers = r.headers.map((h) => `${h.key}=${text(h.value)}`).join(",");
      list.push(`${text(r.key)}|${text(r.value)}|${headers}|${r.timestamp}`);
    }
    got.set(`${run.topic}/${run.partition}`, list);
  }
  // The expected partition of each record: named, else murmur2 of the key; keyless ones wherever the run was.
  const expected = new Map<string, string[]>();
  const keyless = new Map<string, string[]>();
  for (const r of records) {
    const line = `${text(r.key)}|${text(r.value)}|${(r.headers ?? []).map((h) => `${h.key}=${text(h.value)}`).join(",")}|${r.timestamp ?? BigInt(NOW)}`;
    const count = COUNTS.get(r.topic)!;
    const partition = r.partition ?? (r.key ? keyPartition(r.key as Buffer, count) : undefined);
    const where = partition === undefined ? keyless : expected;
    const id = partition === undefined ? r.topic : `${r.topic}/${partition}`;
    where.set(id, [...(where.get(id) ?? []), line]);
  }
  for (const [id, lines] of expected) {
    const ours = (got.get(id) ?? []).filter((l) => lines.includes(l));
    assert.equal(ours, lines, `${id}: its records, in order`);
  }
  const all = [...got.values()].flat().sort();
  assert.equal(
    all,
    [
      ...records.map(
        (r) =>
          `${text(r.key)}|${text(r.value)}|${(r.headers ?? []).map((h) => `${h.key}=${text(h.value)}`).join(",")}|${r.timestamp ?? BigInt(NOW)}`,
      ),
    ].sort(),
  );
  assert.ok(keyless.size > 0, "(keyless records were in the input)");
});

s.test("byte for byte the producer's own encoding of the same records", () => {
  const records = randomRecords(500, 9, "all").map((r) => ({ ...r, partition: 1, topic: "orders" }));
  const { runs } = transcodeAll(chunksOf(records, 1_000), 1 << 20);
  assert.is(runs.length, 1);
  const producer = { producerId: 7n, producerEpoch: 3, baseSequence: 11, transactional: true };
  const ours = encodeUnstampedEncodedBatch(runs[0]!.records);
  const producers = encodeUnstampedRecordBatch(records, NOW);
  stampRecordBatch(ours, producer);
  stampRecordBatch(producers, producer);
  assert.is(ours.length, producers.length);
  assert.ok(ours.equals(producers), "the same batch, CRC included");
});

s.test(
  "keyed records over 40 partitions: at most 16 batches open, each partition's records once and in order",
  async () => {
    const records = Array.from({ length: 4_000 }, (_, i) => ({
      topic: "wide",
      key: Buffer.from(`k${i % 200}`),
      value: Buffer.from(`v${i}`),
    }));
    const { runs } = transcodeAll(chunksOf(records, 8_192), 1 << 20);
    // Without the bound, one batch per partition (40); with it, the fullest goes whenever a 17th would open.
    assert.ok(runs.length > 40, `${runs.length} batches`);
    const byPartition = new Map<number, string[]>();
    for (const run of runs) {
      const list = byPartition.get(run.partition) ?? [];
      for (const r of await decodeRun(run)) list.push(r.value!.toString());
      byPartition.set(run.partition, list);
    }
    for (const [partition, values] of byPartition) {
      const expected = records.filter((r) => keyPartition(r.key, 40) === partition).map((r) => r.value.toString());
      assert.equal(values, expected, `partition ${partition}`);
    }
    assert.is([...byPartition.values()].flat().length, records.length);
  },
);

s.test("a corrupt record fails with KafkaWriteError", () => {
  const [chunk] = chunksOf(randomRecords(3, 2, "all"), 1 << 20);
  const bad = Buffer.from(chunk!);
  bad[16 + 4] = 9; // the first record's format version
  const transcoder = new ShardTranscoder(1 << 20, new BatchBuffers(RECORDS_OFFSET + (1 << 20)), COUNTS);
  assert.throws(
    () => transcoder.transcode(bad, NOW),
    (err: unknown) =>
      err instanceof KafkaWriteError && /does not decode: unknown version 9/.test((err as Error).message),
  );
});

s.run();
