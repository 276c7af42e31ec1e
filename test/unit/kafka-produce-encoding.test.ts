// Our produce path's bytes: CRC-32C against the standard check value, murmur2 against kafkajs's (Java's) partitions,
// record batches decoded back by our reader (keys, values, nulls, headers, timestamps, producer fields, gzip), and the
// Produce / InitProducerId framing by the protocol specification.
import * as assert from "uvu/assert";
import { createRequire } from "node:module";
import { gunzipSync, gzipSync } from "node:zlib";
import { suite } from "../harness.js";
import { CRC32C_IMPLEMENTATION, crc32c, crc32cJs } from "../../src/kafka/client/crc32c.js";
import { keyPartition, murmur2 } from "../../src/kafka/client/murmur2.js";
import {
  encodeRecordBatch,
  encodeUncompressedRecordBatch,
  encodeUnstampedRecordBatch,
  NO_PRODUCER,
  stampRecordBatch,
} from "../../src/kafka/client/record-batch-encoder.js";
import { decodeRecordSet } from "../../src/kafka/client/index.js";
import { BatchBuffers } from "../../src/kafka/client/batch-buffers.js";
import {
  decodeInitProducerIdResponse,
  decodeProduceResponse,
  encodeInitProducerIdRequest,
  encodeProduceRequest,
} from "../../src/kafka/client/produce-protocol.js";
import type { ProducerRecord } from "../../src/kafka/client/index.js";

const s = suite("kafka produce encoding");
const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require("kafkajs/src/producer/partitioners/default/murmur2.js") as (key: Buffer) => number;

async function decode(batch: Buffer) {
  return decodeRecordSet(
    { buffer: batch, start: 0, end: batch.length, fromOffset: 0n, readCommitted: false, abortedTransactions: null },
    async (_codec, data) => gunzipSync(data),
  );
}

s.test("crc32c: the check value of '123456789', any alignment and length", () => {
  assert.is(crc32c(Buffer.from("123456789")), 0xe3069283);
  assert.is(crc32c(Buffer.alloc(0)), 0);
  // Slicing-by-8 against the byte-at-a-time definition on every length and offset up to 40.
  const data = Buffer.from(Array.from({ length: 48 }, (_, i) => (i * 37 + 11) & 0xff));
  const bytewise = (buf: Buffer, start: number, end: number): number => {
    let crc = 0xffffffff;
    for (let i = start; i < end; i++) {
      crc ^= buf[i]!;
      for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
    }
    return (crc ^ 0xffffffff) >>> 0;
  };
  for (let start = 0; start < 8; start++)
    for (let end = start; end <= 40; end++) assert.is(crc32c(data, start, end), bytewise(data, start, end));
});

s.test("crc32c: long ranges (the native CRC where installed) equal the JavaScript one at any offset", () => {
  // This repo installs the optional @node-rs/crc32: the test would pass vacuously if it stopped loading.
  assert.is(CRC32C_IMPLEMENTATION, "native");
  const data = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 131 + (i >> 7)) & 0xff));
  for (const [start, end] of [
    [0, 256],
    [1, 300],
    [3, 4099],
    [21, 65_557],
    [0, data.length],
  ] as const) {
    assert.is(crc32c(data, start, end), crc32cJs(data, start, end), `${start}..${end}`);
    assert.is(crc32c(data.subarray(start, end)), crc32cJs(data, start, end), `view ${start}..${end}`);
  }
  assert.is(crc32c(Buffer.from("123456789".repeat(40))), crc32cJs(Buffer.from("123456789".repeat(40))));
});

s.test("murmur2: the same hash and partition as kafkajs's Java-compatible partitioner", () => {
  const keys = ["", "a", "ab", "abc", "21", "foobar", "a-little-bit-long-string", "key-123", "ü日本"];
  for (let i = 0; i < 200; i++) keys.push(`k${i * 7919}`);
  for (const key of keys) {
    const bytes = Buffer.from(key);
    assert.is(murmur2(bytes) | 0, kafkajsMurmur2(bytes) | 0, key);
    for (const count of [1, 3, 4, 12])
      assert.is(keyPartition(bytes, count), (kafkajsMurmur2(bytes) & 0x7fffffff) % count);
  }
});

const RECORDS: ProducerRecord[] = [
  { topic: "t", key: "k1", value: "v1", timestamp: 1_700_000_000_000 },
  { topic: "t", key: null, value: Buffer.from([0, 1, 2, 255]), timestamp: 1_700_000_000_500 },
  { topic: "t", key: Buffer.from("k3"), value: null, timestamp: 1_699_999_999_000 }, // earlier than the base
  {
    topic: "t",
    key: "k4",
    value: "x".repeat(300), // multi-byte varint lengths
    headers: [
      { key: "h", value: "1" },
      { key: "h", value: Buffer.from("2") },
      { key: "n", value: null },
    ],
    timestamp: 1_700_000_123_456,
  },
];

s.test("a batch decodes back: keys, values, nulls, repeated headers, timestamps, offsets, sizes", async () => {
  const batch = encodeUncompressedRecordBatch(RECORDS, NO_PRODUCER, 0);
  const { records, nextOffset } = await decode(batch);
  assert.is(nextOffset, 4n);
  assert.equal(
    records.map((r) => [
      r.offset,
      r.timestamp,
      r.timestampType,
      r.key?.toString() ?? null,
      r.value?.toString("hex") ?? null,
    ]),
    [
      [0n, 1_700_000_000_000n, "CreateTime", "k1", Buffer.from("v1").toString("hex")],
      [1n, 1_700_000_000_500n, "CreateTime", null, "000102ff"],
      [2n, 1_699_999_999_000n, "CreateTime", "k3", null],
      [3n, 1_700_000_123_456n, "CreateTime", "k4", Buffer.from("x".repeat(300)).toString("hex")],
    ],
  );
  assert.equal(
    records[3]!.headers.map((h) => [h.key, h.value?.toString() ?? null]),
    [
      ["h", "1"],
      ["h", "2"],
      ["n", null],
    ],
  );
  // Header fields by the spec: length, magic 2, CRC over attributes..end, counts, timestamps, no producer.
  assert.is(batch.readInt32BE(8), batch.length - 12);
  assert.is(batch.readInt8(16), 2);
  assert.is(batch.readUInt32BE(17), crc32c(batch, 21));
  assert.is(batch.readInt32BE(23), 3); // last offset delta
  assert.is(batch.readBigInt64BE(27), 1_700_000_000_000n);
  assert.is(batch.readBigInt64BE(35), 1_700_000_123_456n); // max timestamp
  assert.is(batch.readBigInt64BE(43), -1n);
  assert.is(batch.readInt16BE(51), -1);
  assert.is(batch.readInt32BE(53), -1);
  assert.is(batch.readInt32BE(57), 4);
});

s.test(
  "records without a timestamp get now; an idempotent producer's id, epoch and sequence are in the header",
  async () => {
    const batch = encodeUncompressedRecordBatch(
      [
        { topic: "t", value: "a" },
        { topic: "t", value: "b" },
      ],
      { producerId: 4242n, producerEpoch: 3, baseSequence: 2_000_000_000, transactional: true },
      1_765_000_000_000,
    );
    const { records } = await decode(batch);
    assert.equal(
      records.map((r) => r.timestamp),
      [1_765_000_000_000n, 1_765_000_000_000n],
    );
    assert.is(batch.readBigInt64BE(43), 4242n);
    assert.is(batch.readInt16BE(51), 3);
    assert.is(batch.readInt32BE(53), 2_000_000_000);
    assert.is(batch.readInt16BE(21) & 0x10, 0x10, "transactional flag");
  },
);

s.test(
  "a batch encoded before its producer is known, stamped later, equals one encoded for it; a re-stamp replaces it",
  () => {
    const records = [
      { topic: "t", value: "a", timestamp: 5 },
      { topic: "t", key: "k", value: "b", timestamp: 7 },
    ];
    const transactional = { producerId: 77n, producerEpoch: 2, baseSequence: 10, transactional: true };
    const stamped = encodeUnstampedRecordBatch(records, 0);
    stampRecordBatch(stamped, transactional);
    assert.equal(stamped, encodeUncompressedRecordBatch(records, transactional, 0));
    // A resend under a new producer id: the same bytes stamped again (the transactional flag cleared too).
    const next = { producerId: 78n, producerEpoch: 0, baseSequence: 0, transactional: false };
    stampRecordBatch(stamped, next);
    assert.equal(stamped, encodeUncompressedRecordBatch(records, next, 0));
    assert.is(stamped.readUInt32BE(17), crc32c(stamped, 21));
  },
);

s.test("gzip: the records section is compressed, the header and CRC cover the compressed bytes", async () => {
  const batch = await encodeRecordBatch(RECORDS, NO_PRODUCER, 0, 1, async (_codec, data) => gzipSync(data));
  assert.is(batch.readInt16BE(21) & 0x07, 1);
  assert.is(batch.readUInt32BE(17), crc32c(batch, 21));
  const { records } = await decode(batch);
  assert.equal(
    records.map((r) => r.key?.toString() ?? null),
    ["k1", null, "k3", "k4"],
  );
});

s.test("produce v8 request framing; response with errors and messages; init producer id", () => {
  const a = Buffer.from([1, 2, 3]);
  const b = Buffer.from([4, 5]);
  const body = encodeProduceRequest({
    transactionalId: null,
    acks: -1,
    timeoutMs: 30_000,
    partitions: [
      { topic: "t", partition: 0, batch: a },
      { topic: "t", partition: 2, batch: b },
    ],
  });
  const expected = Buffer.concat([
    Buffer.from([0xff, 0xff]), // null transactional id
    Buffer.from([0xff, 0xff]), // acks -1
    Buffer.from([0, 0, 0x75, 0x30]), // timeout
    Buffer.from([0, 0, 0, 1, 0, 1, 0x74]), // one topic "t"
    Buffer.from([0, 0, 0, 2]),
    Buffer.from([0, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]),
    Buffer.from([0, 0, 0, 2, 0, 0, 0, 2, 4, 5]),
  ]);
  assert.equal([...Buffer.concat(body)], [...expected]);
  assert.ok(body[1] === a && body[3] === b, "the batches are parts of the request, not copies");

  const response = Buffer.alloc(200);
  let pos = response.writeInt32BE(1, 0);
  pos = response.writeInt16BE(1, pos);
  pos += response.write("t", pos);
  pos = response.writeInt32BE(2, pos);
  // partition 0: ok at offset 7
  pos = response.writeInt32BE(0, pos);
  pos = response.writeInt16BE(0, pos);
  pos = response.writeBigInt64BE(7n, pos);
  pos = response.writeBigInt64BE(-1n, pos);
  pos = response.writeBigInt64BE(0n, pos);
  pos = response.writeInt32BE(0, pos);
  pos = response.writeInt16BE(-1, pos);
  // partition 2: NOT_LEADER_OR_FOLLOWER with a record error message
  pos = response.writeInt32BE(2, pos);
  pos = response.writeInt16BE(6, pos);
  pos = response.writeBigInt64BE(-1n, pos);
  pos = response.writeBigInt64BE(-1n, pos);
  pos = response.writeBigInt64BE(-1n, pos);
  pos = response.writeInt32BE(1, pos);
  pos = response.writeInt32BE(0, pos);
  pos = response.writeInt16BE(3, pos);
  pos += response.write("bad", pos);
  pos = response.writeInt16BE(-1, pos);
  pos = response.writeInt32BE(5, pos); // throttle
  assert.equal(decodeProduceResponse(response.subarray(0, pos)), {
    throttleTimeMs: 5,
    partitions: [
      { topic: "t", partition: 0, errorCode: 0, baseOffset: 7n, errorMessage: null },
      { topic: "t", partition: 2, errorCode: 6, baseOffset: -1n, errorMessage: "bad" },
    ],
  });
  assert.throws(() => decodeProduceResponse(response.subarray(0, 20)), /truncated Produce response/);

  assert.equal([...encodeInitProducerIdRequest(null, 60_000)], [0xff, 0xff, 0, 0, 0xea, 0x60]);
  const init = Buffer.alloc(16);
  init.writeInt32BE(0, 0);
  init.writeInt16BE(0, 4);
  init.writeBigInt64BE(1001n, 6);
  init.writeInt16BE(0, 14);
  assert.equal(decodeInitProducerIdResponse(init), {
    throttleTimeMs: 0,
    errorCode: 0,
    producerId: 1001n,
    producerEpoch: 0,
  });
});

s.test(
  "batch buffers: given back, a buffer carries the next full batch; bigger and small ones are their own; few are kept",
  async () => {
    const buffers = new BatchBuffers(2048);
    const records = (tag: string): ProducerRecord[] =>
      Array.from({ length: 20 }, (_, i) => ({ topic: "t", key: `${tag}${i}`, value: Buffer.alloc(50, i) }));
    const take = (size: number) => buffers.take(size);
    const first = encodeUnstampedRecordBatch(records("a"), 1000, take);
    stampRecordBatch(first, NO_PRODUCER);
    buffers.give(first);
    const second = encodeUnstampedRecordBatch(records("b"), 1000, take);
    stampRecordBatch(second, NO_PRODUCER);
    assert.ok(second.buffer === first.buffer, "the same memory");
    // Written over in full: the second batch decodes as itself, nothing of the first left in it.
    const { records: back } = await decode(second);
    assert.equal(
      back.map((r) => r.key?.toString()),
      records("b").map((r) => r.key),
    );

    assert.ok(first.length > 1024 && first.length <= 2048, `a batch of ${first.length} bytes: over half the capacity`);
    const big = buffers.take(5000);
    assert.is(big.length, 5000);
    buffers.give(big); // not of the pool's size: left to the collector
    assert.ok(buffers.take(2000).buffer !== big.buffer);
    buffers.give(second);
    const small = buffers.take(1000);
    assert.ok(small.buffer !== second.buffer, "half the capacity or less: not a pooled buffer");
    assert.ok(buffers.take(2000).buffer === second.buffer, "the pooled one waits for a full batch");

    // 16 MiB of free buffers at most are kept, for the whole process: of 4 MiB ones, 4.
    const pools = [new BatchBuffers(4 * 1024 * 1024), new BatchBuffers(4 * 1024 * 1024)];
    const taken = Array.from({ length: 6 }, (_, i) => pools[i % 2]!.take(3 * 1024 * 1024));
    for (const [i, b] of taken.entries()) pools[i % 2]!.give(b);
    const again = Array.from({ length: 6 }, () => pools[0]!.take(3 * 1024 * 1024));
    assert.is(again.filter((b) => taken.some((t) => t.buffer === b.buffer)).length, 4);
  },
);

s.run();
