// Decodes Kafka record batches (message format v2, magic 2) of one partition from a fetch response, in place:
// keys, values and header values are views of the response buffer. Written from the protocol specification
// (https://kafka.apache.org/documentation/#recordbatch). The next offset to fetch comes from batch headers, so gaps
// from compaction, control batches (transaction markers) and aborted transactions are stepped over.
import { KafkaClientError, KafkaUnsupportedError } from "../errors.js";
import { crc32c } from "./crc32c.js";
import {
  ATTRIBUTES_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  COMPRESSION_MASK,
  CONTROL_MASK,
  CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORD_COUNT_OFFSET,
  RECORDS_OFFSET,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_MASK,
} from "./record-batch-layout.js";
import type { KafkaRecord, RecordHeader, TimestampType } from "./types.js";

const CONTROL_TYPE_ABORT = 0;

export interface AbortedTransaction {
  readonly producerId: bigint;
  readonly firstOffset: bigint;
}

/** Decompresses a batch's records section; codec is the batch attribute's compression id (1 gzip ... 4 zstd). */
export type Decompressor = (codec: number, data: Buffer) => Promise<Buffer>;

export interface RecordSetInput {
  readonly buffer: Buffer;
  /** The partition's RECORDS bytes are buffer[start, end). */
  readonly start: number;
  readonly end: number;
  readonly fromOffset: bigint;
  readonly readCommitted: boolean;
  /** From the fetch response (read_committed only), any order. */
  readonly abortedTransactions: readonly AbortedTransaction[] | null;
  /** check.crcs: each batch's CRC-32C is verified before it is read (default true, as Java's consumer). */
  readonly checkCrcs?: boolean;
  /** "topic-partition", for error messages. */
  readonly source?: string;
}

export interface DecodedRecordSet {
  readonly records: KafkaRecord[];
  readonly nextOffset: bigint;
}

const EMPTY_HEADERS: readonly RecordHeader[] = Object.freeze([]);

// Offsets and timestamps are base + small delta: reuse the delta's bigint instead of allocating it per record.
const smallBigInts: bigint[] = [];
function smallBigInt(n: number): bigint {
  if (n < 0 || n >= 65_536) return BigInt(n);
  let value = smallBigInts[n];
  if (value === undefined) {
    for (let i = smallBigInts.length; i <= n; i++) smallBigInts.push(BigInt(i));
    value = smallBigInts[n]!;
  }
  return value;
}

/** Reads varints from a buffer at a moving position. One per record set, reused for every record. */
class VarintCursor {
  pos = 0;
  constructor(public buf: Buffer) {}

  /** Zig-zag int32. */
  varint(): number {
    const buf = this.buf;
    let byte = buf[this.pos++]!;
    let raw = byte & 0x7f;
    let shift = 7;
    while (byte & 0x80) {
      byte = buf[this.pos++]!;
      raw |= (byte & 0x7f) << shift;
      shift += 7;
      if (shift > 35) throw new KafkaUnsupportedError("malformed varint in a record batch");
    }
    return (raw >>> 1) ^ -(raw & 1);
  }

  /** Zig-zag int64 as a number (exact below 2^53, which covers timestamp deltas). */
  varlong(): number {
    const buf = this.buf;
    let byte = buf[this.pos++]!;
    if ((byte & 0x80) === 0) return (byte >>> 1) ^ -(byte & 1);
    let raw = byte & 0x7f;
    let multiplier = 128;
    do {
      byte = buf[this.pos++]!;
      raw += (byte & 0x7f) * multiplier;
      multiplier *= 128;
      if (multiplier > 2 ** 70) throw new KafkaUnsupportedError("malformed varlong in a record batch");
    } while (byte & 0x80);
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }

  /** Length-prefixed bytes as a view, or null for length -1. */
  bytes(): Buffer | null {
    const length = this.varint();
    if (length < 0) return null;
    const start = this.pos;
    this.pos += length;
    return this.buf.subarray(start, this.pos);
  }
}

/**
 * Decodes every complete batch in the range. Records below `fromOffset` (the batch holding it starts earlier) are
 * skipped; a partial batch at the end (cut by max bytes) is left for the next fetch.
 */
export async function decodeRecordSet(input: RecordSetInput, decompress: Decompressor): Promise<DecodedRecordSet> {
  const { buffer, end, fromOffset, readCommitted } = input;
  const records: KafkaRecord[] = [];
  let nextOffset = fromOffset;
  let pos = input.start;

  // Aborted transactions by first offset; producers whose aborted records we are inside.
  const aborted =
    readCommitted && input.abortedTransactions && input.abortedTransactions.length > 0
      ? [...input.abortedTransactions].sort((a, b) =>
          a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0,
        )
      : undefined;
  let abortedIndex = 0;
  const abortedProducers = new Set<bigint>();
  let cursor: VarintCursor | undefined;

  while (end - pos >= LOG_OVERHEAD) {
    const batchLength = buffer.readInt32BE(pos + LENGTH_OFFSET);
    const batchEnd = pos + LOG_OVERHEAD + batchLength;
    if (batchLength < RECORDS_OFFSET - LOG_OVERHEAD)
      throw new KafkaUnsupportedError(`malformed record batch (length ${batchLength})`);
    if (batchEnd > end) break; // partial batch (cut by max bytes): fetched again from its start next time
    const magic = buffer.readInt8(pos + MAGIC_OFFSET);
    if (magic !== 2) {
      throw new KafkaUnsupportedError(
        `record batch with message format v${magic}: only v2 (Kafka >= 0.11) is supported`,
      );
    }
    const baseOffset = buffer.readBigInt64BE(pos);
    const attributes = buffer.readInt16BE(pos + ATTRIBUTES_OFFSET);
    const lastOffsetDelta = buffer.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET);
    const lastOffset = baseOffset + smallBigInt(lastOffsetDelta);
    const batchStart = pos;
    pos = batchEnd;
    if (lastOffset < fromOffset) continue; // wholly before the requested offset
    nextOffset = lastOffset + 1n;
    if (input.checkCrcs !== false) checkCrc(buffer, batchStart, batchEnd, baseOffset, input.source);

    const isControl = (attributes & CONTROL_MASK) !== 0;
    if (readCommitted && (attributes & TRANSACTIONAL_MASK) !== 0) {
      const producerId = buffer.readBigInt64BE(batchStart + PRODUCER_ID_OFFSET);
      while (aborted && abortedIndex < aborted.length && aborted[abortedIndex]!.firstOffset <= lastOffset) {
        abortedProducers.add(aborted[abortedIndex++]!.producerId);
      }
      if (isControl) {
        if (controlType(buffer, batchStart, batchEnd) === CONTROL_TYPE_ABORT) abortedProducers.delete(producerId);
        continue;
      }
      if (abortedProducers.has(producerId)) continue;
    }
    if (isControl) continue;

    const count = buffer.readInt32BE(batchStart + RECORD_COUNT_OFFSET);
    if (count <= 0) continue; // compaction can leave empty batches; their offsets still count
    const codec = attributes & COMPRESSION_MASK;
    let recordsBuffer = buffer;
    let recordsStart = batchStart + RECORDS_OFFSET;
    if (codec !== 0) {
      recordsBuffer = await decompress(codec, buffer.subarray(recordsStart, batchEnd));
      recordsStart = 0;
    }
    if (cursor === undefined) cursor = new VarintCursor(recordsBuffer);
    else cursor.buf = recordsBuffer;
    cursor.pos = recordsStart;

    const logAppendTime = (attributes & TIMESTAMP_TYPE_MASK) !== 0;
    const baseTimestamp = buffer.readBigInt64BE(batchStart + BASE_TIMESTAMP_OFFSET);
    const maxTimestamp = logAppendTime ? buffer.readBigInt64BE(batchStart + MAX_TIMESTAMP_OFFSET) : -1n;
    const createTimeType: TimestampType = baseTimestamp === -1n ? "NoTimestamp" : "CreateTime";
    // Records below fromOffset in this batch are skipped by delta, with no bigint arithmetic per record.
    const skipBelowDelta = fromOffset > baseOffset ? Number(fromOffset - baseOffset) : 0;
    decodeRecords(
      cursor,
      count,
      baseOffset,
      skipBelowDelta,
      logAppendTime,
      baseTimestamp,
      maxTimestamp,
      createTimeType,
      records,
    );
  }
  return { records, nextOffset };
}

function decodeRecords(
  cursor: VarintCursor,
  count: number,
  baseOffset: bigint,
  skipBelowDelta: number,
  logAppendTime: boolean,
  baseTimestamp: bigint,
  maxTimestamp: bigint,
  createTimeType: TimestampType,
  out: KafkaRecord[],
): void {
  const buf = cursor.buf;
  for (let i = 0; i < count; i++) {
    const lengthStart = cursor.pos;
    const length = cursor.varint();
    const bodyStart = cursor.pos;
    const recordEnd = bodyStart + length;
    cursor.pos++; // record attributes: unused
    const timestampDelta = cursor.varlong();
    const offsetDelta = cursor.varint();
    if (offsetDelta < skipBelowDelta) {
      cursor.pos = recordEnd;
      continue;
    }
    const key = cursor.bytes();
    const value = cursor.bytes();
    const headerCount = cursor.varint();
    let headers = EMPTY_HEADERS;
    if (headerCount > 0) {
      const list: RecordHeader[] = new Array(headerCount);
      for (let h = 0; h < headerCount; h++) {
        const keyLength = cursor.varint();
        const keyStart = cursor.pos;
        cursor.pos += keyLength;
        list[h] = { key: buf.toString("utf8", keyStart, cursor.pos), value: cursor.bytes() };
      }
      headers = list;
    }
    cursor.pos = recordEnd;
    out.push({
      offset: baseOffset + smallBigInt(offsetDelta),
      timestamp: logAppendTime
        ? maxTimestamp
        : timestampDelta === 0
          ? baseTimestamp
          : baseTimestamp + smallBigInt(timestampDelta),
      timestampType: logAppendTime ? "LogAppendTime" : createTimeType,
      key,
      value,
      headers,
      sizeBytes: recordEnd - lengthStart,
    });
  }
}

/** A batch's CRC-32C covers its bytes from the attributes to its end; a mismatch is corruption, not retried. */
function checkCrc(
  buffer: Buffer,
  batchStart: number,
  batchEnd: number,
  baseOffset: bigint,
  source = "a partition",
): void {
  const stored = buffer.readUInt32BE(batchStart + CRC_OFFSET);
  const computed = crc32c(buffer, batchStart + ATTRIBUTES_OFFSET, batchEnd) >>> 0;
  if (stored === computed) return;
  const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;
  throw new KafkaClientError(
    `${source}: the record batch at offset ${baseOffset} is corrupt: CRC-32C ${hex(stored)} stored, ${hex(computed)} computed (check.crcs=false skips the check)`,
    { retriable: false, kafkaErrorType: "CORRUPT_MESSAGE" },
  );
}

/** The control record's type (0 abort, 1 commit) from the key of a control batch's first record. */
function controlType(buffer: Buffer, batchStart: number, batchEnd: number): number {
  const cursor = new VarintCursor(buffer);
  cursor.pos = batchStart + RECORDS_OFFSET;
  if (cursor.pos >= batchEnd) return -1;
  cursor.varint(); // length
  cursor.pos++; // attributes
  cursor.varlong(); // timestamp delta
  cursor.varint(); // offset delta
  const key = cursor.bytes();
  return key && key.length >= 4 ? key.readInt16BE(2) : -1;
}
