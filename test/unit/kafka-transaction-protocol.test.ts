// Transactions v2's requests (KIP-890): Produce v12, TxnOffsetCommit v5, EndTxn v5 and ApiVersions v3, byte for byte
// as Kafka's protocol specification lays them out (flexible versions: varint lengths + 1, tagged fields).
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import {
  decodeProduceResponse,
  encodeProduceRequest,
  PRODUCE_TXN_V2_VERSION,
} from "../../src/kafka/client/produce-protocol.js";
import { FieldReader, FieldWriter, uvarintSize } from "../../src/kafka/client/protocol-codec.js";
import {
  decodeApiVersionsResponse,
  decodeEndTxnResponse,
  decodeTxnOffsetCommitResponse,
  encodeApiVersionsRequest,
  encodeEndTxnRequest,
  encodeTxnOffsetCommitRequest,
} from "../../src/kafka/client/transaction-protocol.js";

const s = suite("kafka: transactions v2 protocol encoding");

type Part = number | string | readonly number[];
/** Bytes from numbers (one byte each), strings (UTF-8) and byte lists. */
const bytes = (...parts: Part[]): number[] =>
  parts.flatMap((p) => (typeof p === "number" ? [p] : typeof p === "string" ? [...Buffer.from(p)] : [...p]));
const int16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];
const int32 = (v: number) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
const int64 = (v: bigint) => [...Buffer.from(BigInt.asUintN(64, v).toString(16).padStart(16, "0"), "hex")];
/** A COMPACT_STRING (length + 1, then the text; under 127 bytes here). */
const compact = (text: string) => bytes(Buffer.byteLength(text) + 1, text);
/** One tagged field: tag, size, content. */
const tagged = (tag: number, ...content: Part[]) => {
  const body = bytes(...content);
  return bytes(tag, body.length, body);
};

s.test("unsigned varints: sizes and round trips at the byte boundaries", () => {
  for (const v of [0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 2 ** 31 - 1]) {
    const w = new FieldWriter(uvarintSize(v)).uvarint(v);
    const r = new FieldReader(w.done(), "test");
    assert.is(r.uvarint(), v);
    assert.is(r.pos, uvarintSize(v));
  }
  assert.equal([...new FieldWriter(2).uvarint(300).done()], [0xac, 0x02]);
  assert.throws(() => new FieldWriter(3).uvarint(1).done(), /wrote 1 bytes of 3 computed/);
});

s.test("Produce v12: compact strings and arrays, the batch's length + 1, empty tags after each struct", () => {
  const batchA = Buffer.from([0xa1, 0xa2, 0xa3]);
  const batchB = Buffer.from([0xb1]);
  const parts = encodeProduceRequest(
    {
      transactionalId: "tx",
      acks: -1,
      timeoutMs: 1000,
      partitions: [
        { topic: "t", partition: 0, batch: batchA },
        { topic: "t", partition: 3, batch: batchB },
      ],
    },
    PRODUCE_TXN_V2_VERSION,
  );
  assert.ok(parts.includes(batchA) && parts.includes(batchB), "batches are parts of their own, not copied");
  // biome-ignore format: the request's layout
  const expected = bytes(
    compact("tx"), int16(-1), int32(1000),
    2, compact("t"), 3,                      // one topic, two partitions
    int32(0), 4, [0xa1, 0xa2, 0xa3], 0,      // index, records (length + 1), tags
    int32(3), 2, [0xb1], 0,
    0,                                       // topic tags
    0,                                       // request tags
  );
  assert.equal([...Buffer.concat(parts)], expected);
  // Without a transactional id: a null compact string.
  const plain = encodeProduceRequest({ transactionalId: null, acks: 1, timeoutMs: 5, partitions: [] }, 12);
  assert.equal([...Buffer.concat(plain)], bytes(0, int16(1), int32(5), 1, 0));
});

s.test("Produce v12 response: record errors, a tagged current leader and trailing tagged fields", () => {
  // biome-ignore format: the response's layout
  const body = Buffer.from(bytes(
    2, compact("t"), 3,                                            // one topic, two partitions
    int32(0), int16(0), int64(42n), int64(-1n), int64(0n),         // index, error, base offset, append time, start
    1, 0, 0,                                                       // no record errors, null message, no tags
    int32(1), int16(6), int64(-1n), int64(-1n), int64(0n),
    2, int32(0), compact("bad"), 0,                                // one record error
    0,                                                             // null message
    1, tagged(0, int32(2), int32(7)),                              // current leader
    0,                                                             // topic tags
    int32(25),                                                     // throttle
    1, tagged(0, 1, 0, 0),                                         // node endpoints (skipped)
  ));
  assert.equal(decodeProduceResponse(body, 12), {
    throttleTimeMs: 25,
    partitions: [
      { topic: "t", partition: 0, errorCode: 0, baseOffset: 42n, errorMessage: null },
      { topic: "t", partition: 1, errorCode: 6, baseOffset: -1n, errorMessage: "bad" },
    ],
  });
  assert.throws(() => decodeProduceResponse(body.subarray(0, 20), 12), /truncated Produce response/);
});

s.test("EndTxn v5: request bytes; the response's next producer id and epoch", () => {
  assert.equal(
    [...encodeEndTxnRequest({ transactionalId: "tx", producerId: 7n, producerEpoch: 3, commit: true })],
    bytes(compact("tx"), int64(7n), int16(3), 1, 0),
  );
  assert.equal(decodeEndTxnResponse(Buffer.from(bytes(int32(0), int16(0), int64(7n), int16(4), 0))), {
    throttleTimeMs: 0,
    errorCode: 0,
    producerId: 7n,
    producerEpoch: 4,
  });
});

s.test("TxnOffsetCommit v5: no generation or member, offsets grouped by topic; per-partition errors", () => {
  const body = encodeTxnOffsetCommitRequest({
    transactionalId: "tx",
    groupId: "g",
    producerId: 9n,
    producerEpoch: 1,
    offsets: [
      { topic: "m", partition: 2, offset: 5n, metadata: "{}" },
      { topic: "m", partition: 3, offset: 6n, metadata: null },
    ],
  });
  // biome-ignore format: the request's layout
  const expected = bytes(
    compact("tx"), compact("g"), int64(9n), int16(1),
    int32(-1), compact(""), 0,                          // generation -1, member "", group instance null
    2, compact("m"), 3,                                 // one topic, two partitions
    int32(2), int64(5n), int32(-1), compact("{}"), 0,   // index, offset, leader epoch, metadata, tags
    int32(3), int64(6n), int32(-1), 0, 0,
    0, 0,                                               // topic tags, request tags
  );
  assert.equal([...body], expected);
  // biome-ignore format: the response's layout
  const response = Buffer.from(bytes(
    int32(0), 2, compact("m"), 3,
    int32(2), int16(0), 0,
    int32(3), int16(51), 0,
    0, 0,
  ));
  assert.equal(decodeTxnOffsetCommitResponse(response), {
    throttleTimeMs: 0,
    partitions: [
      { topic: "m", partition: 2, errorCode: 0 },
      { topic: "m", partition: 3, errorCode: 51 },
    ],
  });
});

s.test("ApiVersions v3: our client name; max versions, and the finalized features from tagged field 2", () => {
  assert.equal([...encodeApiVersionsRequest()], bytes(compact("kafka-beam-ts"), compact("1"), 0));
  const feature = (name: string, a: number, b: number) => bytes(compact(name), int16(a), int16(b), 0);
  // biome-ignore format: the response's layout
  const response = Buffer.from(bytes(
    int16(0),
    3, int16(0), int16(3), int16(13), 0, int16(26), int16(0), int16(5), 0,   // two API keys: min, max, tags
    int32(0),
    3,                                                                        // three tagged fields:
    tagged(0, 2, feature("metadata.version", 7, 27)),                         // supported (not finalized)
    tagged(1, int64(12n)),                                                    // finalized features' epoch
    tagged(2, 3, feature("transaction.version", 2, 2), feature("group.version", 1, 1)),
  ));
  const decoded = decodeApiVersionsResponse(response);
  assert.equal(
    [...decoded.maxVersions],
    [
      [0, 13],
      [26, 5],
    ],
  );
  assert.equal(
    [...decoded.finalizedFeatures],
    [
      ["transaction.version", 2],
      ["group.version", 1],
    ],
  );
});

s.run();
