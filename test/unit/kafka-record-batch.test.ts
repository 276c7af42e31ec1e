// Record batch and Fetch response decoding on hand-built bytes: the cases a real broker rarely produces on demand
// (compaction gaps, empty batches, partial tails, aborted transactions interleaved with committed ones).
import * as assert from "uvu/assert";
import { gzipSync, gunzipSync } from "node:zlib";
import { suite } from "../harness.js";
import { rejection } from "../assertions.js";
import { decodeRecordSet, type Decompressor, type KafkaRecord } from "../../src/kafka/client/index.js";
import { crc32c } from "../../src/kafka/client/crc32c.js";
import { decodeFetchResponse, encodeFetchRequest } from "../../src/kafka/client/fetch-protocol.js";
import { KafkaClientError, KafkaUnsupportedError } from "../../src/kafka/errors.js";

const s = suite("kafka record batches");

function varint(n: number): number[] {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  const out: number[] = [];
  while (z >= 0x80) {
    out.push((z % 0x80) | 0x80);
    z = Math.floor(z / 0x80);
  }
  out.push(z);
  return out;
}

function bytesField(b: Buffer | null): number[] {
  return b === null ? varint(-1) : [...varint(b.length), ...b];
}

interface TestRecord {
  offsetDelta: number;
  timestampDelta?: number;
  key?: Buffer | null;
  value?: Buffer | null;
  headers?: [string, Buffer | null][];
}

function encodeRecord(r: TestRecord): number[] {
  const body = [
    0,
    ...varint(r.timestampDelta ?? 0),
    ...varint(r.offsetDelta),
    ...bytesField(r.key ?? null),
    ...bytesField(r.value === undefined ? Buffer.from(`v${r.offsetDelta}`) : r.value),
    ...varint(r.headers?.length ?? 0),
    ...(r.headers ?? []).flatMap(([k, v]) => [...bytesField(Buffer.from(k)), ...bytesField(v)]),
  ];
  return [...varint(body.length), ...body];
}

interface TestBatch {
  baseOffset: bigint;
  lastOffsetDelta?: number;
  records: TestRecord[];
  baseTimestamp?: bigint;
  maxTimestamp?: bigint;
  logAppendTime?: boolean;
  transactional?: boolean;
  control?: boolean;
  producerId?: bigint;
  gzip?: boolean;
  magic?: number;
}

function encodeBatch(b: TestBatch): Buffer {
  let records = Buffer.from(b.records.flatMap(encodeRecord));
  if (b.gzip) records = gzipSync(records);
  const attributes =
    (b.gzip ? 1 : 0) | (b.logAppendTime ? 0x08 : 0) | (b.transactional ? 0x10 : 0) | (b.control ? 0x20 : 0);
  const header = Buffer.alloc(61);
  header.writeBigInt64BE(b.baseOffset, 0);
  header.writeInt32BE(61 - 12 + records.length, 8);
  header.writeInt32BE(0, 12);
  header.writeInt8(b.magic ?? 2, 16);
  header.writeInt16BE(attributes, 21);
  header.writeInt32BE(b.lastOffsetDelta ?? Math.max(0, ...b.records.map((r) => r.offsetDelta)), 23);
  header.writeBigInt64BE(b.baseTimestamp ?? 1_700_000_000_000n, 27);
  header.writeBigInt64BE(b.maxTimestamp ?? b.baseTimestamp ?? 1_700_000_000_000n, 35);
  header.writeBigInt64BE(b.producerId ?? -1n, 43);
  header.writeInt16BE(0, 51);
  header.writeInt32BE(-1, 53);
  header.writeInt32BE(b.records.length, 57);
  const batch = Buffer.concat([header, records]);
  batch.writeUInt32BE(crc32c(batch, 21), 17); // CRC-32C of the attributes onwards
  return batch;
}

function marker(baseOffset: bigint, producerId: bigint, commit: boolean): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(commit ? 1 : 0, 2);
  return encodeBatch({
    baseOffset,
    producerId,
    transactional: true,
    control: true,
    records: [{ offsetDelta: 0, key, value: Buffer.alloc(6) }],
  });
}

const gunzip: Decompressor = async (codec, data) => {
  assert.is(codec, 1);
  return gunzipSync(data);
};

async function decode(
  batches: Buffer[],
  fromOffset: bigint,
  options: { readCommitted?: boolean; aborted?: { producerId: bigint; firstOffset: bigint }[]; cut?: number } = {},
) {
  const whole = Buffer.concat(batches);
  const buffer = Buffer.concat([Buffer.from("prefix"), whole]); // the record set sits inside a larger response
  return decodeRecordSet(
    {
      buffer,
      start: 6,
      end: buffer.length - (options.cut ?? 0),
      fromOffset,
      readCommitted: options.readCommitted ?? false,
      abortedTransactions: options.aborted ?? null,
    },
    gunzip,
  );
}

const offsets = (records: readonly KafkaRecord[]): bigint[] => records.map((r) => r.offset);

s.test("records: keys, values, nulls, headers in wire order with repeats, timestamps, sizes", async () => {
  const big = Buffer.alloc(300, 7); // multi-byte varint lengths
  const { records, nextOffset } = await decode(
    [
      encodeBatch({
        baseOffset: 100n,
        baseTimestamp: 1_700_000_000_000n,
        records: [
          {
            offsetDelta: 0,
            key: Buffer.from("k0"),
            value: big,
            headers: [
              ["b", Buffer.from("1")],
              ["a", null],
              ["b", Buffer.from("2")],
            ],
          },
          { offsetDelta: 1, key: null, value: null, timestampDelta: 70_000 },
          { offsetDelta: 2, key: Buffer.alloc(0), value: Buffer.from("x"), timestampDelta: -5 },
        ],
      }),
    ],
    100n,
  );
  assert.equal(offsets(records), [100n, 101n, 102n]);
  assert.equal(
    records[0]!.headers.map((h) => [h.key, h.value?.toString() ?? null]),
    [
      ["b", "1"],
      ["a", null],
      ["b", "2"],
    ],
  );
  assert.is(records[0]!.value!.length, 300);
  assert.equal([records[1]!.key, records[1]!.value, records[1]!.timestamp], [null, null, 1_700_000_070_000n]);
  assert.equal(
    [records[2]!.key!.length, records[2]!.timestamp, records[2]!.timestampType],
    [0, 1_699_999_999_995n, "CreateTime"],
  );
  assert.equal(records[1]!.headers, []);
  assert.is(
    records[1]!.sizeBytes,
    encodeRecord({ offsetDelta: 1, key: null, value: null, timestampDelta: 70_000 }).length,
  );
  assert.is(nextOffset, 103n);
});

s.test(
  "offsets: records below the requested offset are skipped, gaps (compaction) kept, next offset from the batch",
  async () => {
    const batches = [
      encodeBatch({ baseOffset: 0n, records: [0, 1, 2, 3].map((d) => ({ offsetDelta: d })) }),
      // Compacted: offsets 5 and 7 survive of 4..9; the batch still ends at 9.
      encodeBatch({ baseOffset: 4n, lastOffsetDelta: 5, records: [{ offsetDelta: 1 }, { offsetDelta: 3 }] }),
      // Fully compacted away: no records, offsets 10..12 still consumed.
      encodeBatch({ baseOffset: 10n, lastOffsetDelta: 2, records: [] }),
      encodeBatch({ baseOffset: 13n, records: [{ offsetDelta: 0 }] }),
    ];
    assert.equal(offsets((await decode(batches, 2n)).records), [2n, 3n, 5n, 7n, 13n]);
    assert.equal(offsets((await decode(batches, 6n)).records), [7n, 13n]);
    const { records, nextOffset } = await decode(batches.slice(0, 3), 8n);
    assert.equal([offsets(records), nextOffset], [[], 13n]);
    assert.is((await decode(batches, 14n)).nextOffset, 14n, "nothing at or after the offset: unchanged");
  },
);

s.test("partial tail: a batch cut by max bytes is left for the next fetch", async () => {
  const batches = [
    encodeBatch({ baseOffset: 0n, records: [{ offsetDelta: 0 }] }),
    encodeBatch({ baseOffset: 1n, records: [{ offsetDelta: 0 }, { offsetDelta: 1 }] }),
  ];
  for (const cut of [1, 20, batches[1]!.length - 5]) {
    const { records, nextOffset } = await decode(batches, 0n, { cut });
    assert.equal([offsets(records), nextOffset], [[0n], 1n], `cut ${cut}`);
  }
  const onlyPartial = await decode([batches[1]!], 1n, { cut: 3 });
  assert.equal([onlyPartial.records, onlyPartial.nextOffset], [[], 1n]);
});

s.test("gzip batches: decompressed, and skipped whole when before the offset", async () => {
  const batches = [
    encodeBatch({
      baseOffset: 0n,
      gzip: true,
      records: [0, 1, 2].map((d) => ({ offsetDelta: d, key: Buffer.from(`k${d}`) })),
    }),
    encodeBatch({ baseOffset: 3n, gzip: true, records: [0, 1].map((d) => ({ offsetDelta: d })) }),
  ];
  const { records, nextOffset } = await decode(batches, 1n);
  assert.equal([offsets(records), records[0]!.key!.toString(), nextOffset], [[1n, 2n, 3n, 4n], "k1", 5n]);
  let calls = 0;
  const counting: Decompressor = async (codec, data) => {
    calls++;
    return gunzip(codec, data);
  };
  const buffer = Buffer.concat(batches);
  await decodeRecordSet(
    { buffer, start: 0, end: buffer.length, fromOffset: 3n, readCommitted: false, abortedTransactions: null },
    counting,
  );
  assert.is(calls, 1, "the first batch ends before offset 3 and is not decompressed");
});

s.test("timestamps: LogAppendTime uses the batch max timestamp; -1 means NoTimestamp", async () => {
  const lat = await decode(
    [
      encodeBatch({
        baseOffset: 0n,
        logAppendTime: true,
        baseTimestamp: 5n,
        maxTimestamp: 1_700_000_123_456n,
        records: [{ offsetDelta: 0, timestampDelta: 3 }],
      }),
    ],
    0n,
  );
  assert.equal([lat.records[0]!.timestamp, lat.records[0]!.timestampType], [1_700_000_123_456n, "LogAppendTime"]);
  const none = await decode([encodeBatch({ baseOffset: 0n, baseTimestamp: -1n, records: [{ offsetDelta: 0 }] })], 0n);
  assert.equal([none.records[0]!.timestamp, none.records[0]!.timestampType], [-1n, "NoTimestamp"]);
});

s.test(
  "transactions: read_committed drops aborted batches and all markers; read_uncommitted drops only markers",
  async () => {
    const p1 = 1000n;
    const p2 = 2000n;
    const batches = [
      encodeBatch({
        baseOffset: 0n,
        producerId: p1,
        transactional: true,
        records: [{ offsetDelta: 0 }, { offsetDelta: 1 }],
      }), // p1 0-1 (aborted)
      encodeBatch({ baseOffset: 2n, producerId: p2, transactional: true, records: [{ offsetDelta: 0 }] }), // p2 2 (committed)
      marker(3n, p1, false), // abort p1
      encodeBatch({ baseOffset: 4n, records: [{ offsetDelta: 0 }] }), // non-transactional 4
      encodeBatch({ baseOffset: 5n, producerId: p1, transactional: true, records: [{ offsetDelta: 0 }] }), // p1 5 (committed later)
      marker(6n, p2, true),
      marker(7n, p1, true),
    ];
    const aborted = [{ producerId: p1, firstOffset: 0n }];
    const committed = await decode(batches, 0n, { readCommitted: true, aborted });
    assert.equal([offsets(committed.records), committed.nextOffset], [[2n, 4n, 5n], 8n]);
    const uncommitted = await decode(batches, 0n, { aborted });
    assert.equal([offsets(uncommitted.records), uncommitted.nextOffset], [[0n, 1n, 2n, 4n, 5n], 8n]);
    const fromMarker = await decode(batches.slice(5), 6n, { readCommitted: true });
    assert.equal([fromMarker.records, fromMarker.nextOffset], [[], 8n]);
  },
);

s.test("a corrupt batch fails with its offset and both CRCs; check.crcs=false reads it as it is", async () => {
  const good = encodeBatch({ baseOffset: 40n, records: [{ offsetDelta: 0, key: null, value: Buffer.from("value") }] });
  const corrupt = Buffer.from(good);
  corrupt[corrupt.length - 2]! ^= 0x01; // a bit of the value's last byte (the header count follows)
  const input = { start: 0, end: corrupt.length, fromOffset: 40n, readCommitted: false, abortedTransactions: null };
  const noCodec: Decompressor = async () => Buffer.alloc(0);
  const stored = `0x${good.readUInt32BE(17).toString(16).padStart(8, "0")}`;
  const err = await rejection(decodeRecordSet({ ...input, buffer: corrupt, source: "events-3" }, noCodec));
  assert.instance(err, KafkaClientError);
  assert.is((err as KafkaClientError).kafkaErrorType, "CORRUPT_MESSAGE");
  assert.is((err as KafkaClientError).retriable, false);
  assert.match((err as Error).message, `events-3: the record batch at offset 40 is corrupt: CRC-32C ${stored} stored`);
  const unchecked = await decodeRecordSet({ ...input, buffer: corrupt, checkCrcs: false }, noCodec);
  assert.is(unchecked.records[0]!.value!.toString(), "valud");
  assert.is((await decodeRecordSet({ ...input, buffer: good }, noCodec)).records[0]!.value!.toString(), "value");
});

s.test("legacy message formats are refused clearly", async () => {
  try {
    await decode([encodeBatch({ baseOffset: 0n, magic: 1, records: [{ offsetDelta: 0 }] })], 0n);
    assert.unreachable();
  } catch (err) {
    assert.instance(err, KafkaUnsupportedError);
    assert.match((err as Error).message, /format v1/);
  }
});

s.test("fetch v11: request bytes by the spec; response partitions located in the buffer", () => {
  const request = encodeFetchRequest({
    maxWaitMs: 500,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 1,
    partitions: [
      { topic: "t", partition: 0, fetchOffset: 5n, maxBytes: 100 },
      { topic: "t", partition: 1, fetchOffset: 6n, maxBytes: 100 },
      { topic: "u", partition: 0, fetchOffset: 7n, maxBytes: 100 },
    ],
  });
  assert.is(request.length, 4 * 4 + 1 + 4 * 2 + 4 + (2 + 1 + 4 + 2 * 28) + (2 + 1 + 4 + 28) + 4 + 2);
  assert.equal(
    [
      request.readInt32BE(0),
      request.readInt32BE(4),
      request.readInt8(16),
      request.readInt32BE(21),
      request.readInt32BE(25),
    ],
    [-1, 500, 1, -1, 2],
  );

  const records = encodeBatch({ baseOffset: 5n, records: [{ offsetDelta: 0 }] });
  const parts: Buffer[] = [];
  const i32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  };
  const i64 = (n: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(n);
    return b;
  };
  const i16 = (n: number) => {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    return b;
  };
  parts.push(i32(0), i16(0), i32(0), i32(1), i16(1), Buffer.from("t"), i32(2));
  parts.push(
    i32(0),
    i16(0),
    i64(6n),
    i64(6n),
    i64(0n),
    i32(1),
    i64(77n),
    i64(3n),
    i32(-1),
    i32(records.length),
    records,
  );
  parts.push(i32(1), i16(1), i64(-1n), i64(-1n), i64(-1n), i32(-1), i32(-1), i32(-1));
  const response = decodeFetchResponse(Buffer.concat(parts));
  assert.is(response.partitions.length, 2);
  const [p0, p1] = response.partitions;
  assert.equal(
    [p0!.topic, p0!.partition, p0!.errorCode, p0!.highWatermark, p0!.abortedTransactions],
    ["t", 0, 0, 6n, [{ producerId: 77n, firstOffset: 3n }]],
  );
  assert.ok(p0!.buffer.subarray(p0!.recordsStart, p0!.recordsEnd).equals(records));
  assert.equal(
    [p1!.partition, p1!.errorCode, p1!.recordsStart, p1!.recordsEnd],
    [1, 1, p1!.recordsEnd, p1!.recordsEnd],
  );
});

s.run();
