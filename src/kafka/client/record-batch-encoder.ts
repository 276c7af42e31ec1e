// Encodes one partition's records as a Kafka record batch (message format v2, magic 2), the counterpart of
// ./record-batch.ts. Written from the protocol specification (https://kafka.apache.org/documentation/#recordbatch):
// sizes first, then one buffer written in place; CRC-32C over attributes..end.
import { crc32c } from "./crc32c.js";
import {
  ATTRIBUTES_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORD_COUNT_OFFSET,
  RECORDS_OFFSET,
  TRANSACTIONAL_MASK,
} from "./record-batch-layout.js";
import type { ProducerRecord } from "./types.js";

/** Who writes the batch: an idempotent or transactional producer's id, epoch and first sequence; else -1s. */
export interface BatchProducer {
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly transactional: boolean;
}

export const NO_PRODUCER: BatchProducer = {
  producerId: -1n,
  producerEpoch: -1,
  baseSequence: -1,
  transactional: false,
};

/** Compresses a batch's records section; codec is the batch attribute's id (1 gzip, 2 snappy, 3 lz4, 4 zstd). */
export type Compressor = (codec: number, data: Buffer) => Promise<Buffer>;

function zigzag32(n: number): number {
  return ((n << 1) ^ (n >> 31)) >>> 0;
}

export function varintSize(n: number): number {
  let z = zigzag32(n);
  let size = 1;
  while (z >= 0x80) {
    z >>>= 7;
    size++;
  }
  return size;
}

/** Zigzag of a safe integer beyond 32 bits (timestamp deltas), by arithmetic: bit operators would truncate it. */
function zigzag64(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

export function varlongSize(n: number): number {
  let z = zigzag64(n);
  let size = 1;
  while (z >= 0x80) {
    z = Math.floor(z / 128);
    size++;
  }
  return size;
}

export function writeVarint(buf: Buffer, n: number, pos: number): number {
  let z = zigzag32(n);
  while (z >= 0x80) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[pos++] = z;
  return pos;
}

export function writeVarlong(buf: Buffer, n: number, pos: number): number {
  let z = zigzag64(n);
  while (z >= 0x80) {
    buf[pos++] = (z % 128) | 0x80;
    z = Math.floor(z / 128);
  }
  buf[pos++] = z;
  return pos;
}

function timestampOf(record: ProducerRecord, nowMs: number): number {
  return record.timestamp === undefined ? nowMs : Number(record.timestamp);
}

type Field = Buffer | string | null | undefined;

/** Bytes of a key, value or header field (0 for null): UTF-8 for strings. */
export function byteLength(value: Field): number {
  if (value === null || value === undefined) return 0;
  return typeof value === "string" ? Buffer.byteLength(value) : value.length;
}

/** Encoded size of a length-prefixed nullable field. */
function fieldSize(value: Field): number {
  if (value === null || value === undefined) return 1;
  const length = byteLength(value);
  return varintSize(length) + length;
}

function writeField(buf: Buffer, value: Field, pos: number): number {
  if (value === null || value === undefined) return writeVarint(buf, -1, pos);
  if (typeof value === "string") {
    pos = writeVarint(buf, Buffer.byteLength(value), pos);
    return pos + buf.write(value, pos, "utf8");
  }
  pos = writeVarint(buf, value.length, pos);
  return pos + value.copy(buf, pos);
}

/** A record's size without its length prefix. No allocation: a batch of small records is measured, then written. */
function bodySize(record: ProducerRecord, timestampDelta: number, offsetDelta: number): number {
  let size =
    1 + // attributes
    varlongSize(timestampDelta) +
    varintSize(offsetDelta) +
    fieldSize(record.key) +
    fieldSize(record.value);
  const headers = record.headers;
  if (headers) {
    for (const h of headers) size += fieldSize(h.key) + fieldSize(h.value);
    return size + varintSize(headers.length);
  }
  return size + 1;
}

function writeRecord(
  buf: Buffer,
  pos: number,
  record: ProducerRecord,
  size: number,
  timestampDelta: number,
  offsetDelta: number,
): number {
  pos = writeVarint(buf, size, pos);
  buf[pos++] = 0; // record attributes: unused
  pos = writeVarlong(buf, timestampDelta, pos);
  pos = writeVarint(buf, offsetDelta, pos);
  pos = writeField(buf, record.key, pos);
  pos = writeField(buf, record.value, pos);
  const headers = record.headers ?? [];
  pos = writeVarint(buf, headers.length, pos);
  for (const h of headers) {
    pos = writeField(buf, h.key, pos);
    pos = writeField(buf, h.value, pos);
  }
  return pos;
}

/** Writes the header's fields that do not depend on the producer (stampRecordBatch writes those, and the CRC). */
function writeHeader(buf: Buffer, count: number, baseTimestamp: number, maxTimestamp: number, codec: number): void {
  buf.writeBigInt64BE(0n, 0); // base offset: the broker assigns it
  buf.writeInt32BE(buf.length - LOG_OVERHEAD, LENGTH_OFFSET);
  buf.writeInt32BE(-1, PARTITION_LEADER_EPOCH_OFFSET); // the broker's to set
  buf.writeInt8(2, MAGIC_OFFSET);
  buf.writeInt16BE(codec, ATTRIBUTES_OFFSET); // CreateTime; the transactional bit is stamped
  buf.writeInt32BE(count - 1, LAST_OFFSET_DELTA_OFFSET);
  buf.writeBigInt64BE(BigInt(baseTimestamp), BASE_TIMESTAMP_OFFSET);
  buf.writeBigInt64BE(BigInt(maxTimestamp), MAX_TIMESTAMP_OFFSET);
  buf.writeInt32BE(count, RECORD_COUNT_OFFSET);
}

/**
 * Writes who sends the batch (producer id, epoch, first sequence, the transactional flag) into an encoded batch and
 * computes its CRC. The producer learns these only when the batch first goes, after the records were encoded; a
 * resend under a new producer id stamps the same batch again. Compression is unaffected: the header is outside it.
 */
export function stampRecordBatch(buf: Buffer, producer: BatchProducer): void {
  const attributes = buf.readInt16BE(ATTRIBUTES_OFFSET);
  buf.writeInt16BE(
    producer.transactional ? attributes | TRANSACTIONAL_MASK : attributes & ~TRANSACTIONAL_MASK,
    ATTRIBUTES_OFFSET,
  );
  buf.writeBigInt64BE(producer.producerId, PRODUCER_ID_OFFSET);
  buf.writeInt16BE(producer.producerEpoch, PRODUCER_EPOCH_OFFSET);
  buf.writeInt32BE(producer.baseSequence, BASE_SEQUENCE_OFFSET);
  buf.writeUInt32BE(crc32c(buf, ATTRIBUTES_OFFSET), CRC_OFFSET);
}

/**
 * Encodes `records` (one partition's, at least one) as a record batch. Timestamps default to `nowMs`; the first
 * record's is the batch's base. With a codec other than 0, the records section is compressed by `compress`.
 */
export async function encodeRecordBatch(
  records: readonly ProducerRecord[],
  producer: BatchProducer,
  nowMs: number,
  codec = 0,
  compress?: Compressor,
): Promise<Buffer> {
  if (codec === 0) return encodeUncompressedRecordBatch(records, producer, nowMs);
  if (!compress) throw new Error("a compressed record batch needs a compressor");
  const { section, baseTimestamp, maxTimestamp } = encodeRecords(records, nowMs, 0);
  return encodeCompressedEncodedBatch(
    { frame: section, count: records.length, baseTimestamp, maxTimestamp },
    producer,
    codec,
    compress,
    0,
  );
}

/** encodeRecordBatch without compression, synchronously: the records are written straight into the batch. */
export function encodeUncompressedRecordBatch(
  records: readonly ProducerRecord[],
  producer: BatchProducer,
  nowMs: number,
): Buffer {
  const batch = encodeUnstampedRecordBatch(records, nowMs);
  stampRecordBatch(batch, producer);
  return batch;
}

/** An uncompressed batch whose producer fields and CRC are left for stampRecordBatch. */
export function encodeUnstampedRecordBatch(
  records: readonly ProducerRecord[],
  nowMs: number,
  allocate: (size: number) => Buffer = Buffer.allocUnsafe,
): Buffer {
  const { section, baseTimestamp, maxTimestamp } = encodeRecords(records, nowMs, RECORDS_OFFSET, allocate);
  writeHeader(section, records.length, baseTimestamp, maxTimestamp, 0);
  return section;
}

/**
 * Records of one partition already in Kafka's record format (v2), as a batch holds them: offset deltas 0..count-1,
 * timestamp deltas from `baseTimestamp` (the exactly-once write's transactions step writes them straight from the
 * shard step's bytes, see ../write/shard-transcoder.ts). `frame` holds the records after RECORDS_OFFSET bytes left
 * for the batch header, so an uncompressed batch is the frame itself.
 */
export interface EncodedRecords {
  readonly frame: Buffer;
  readonly count: number;
  readonly baseTimestamp: number;
  readonly maxTimestamp: number;
}

/** An uncompressed batch of encoded records: the header written into the frame; producer fields left for stamping. */
export function encodeUnstampedEncodedBatch(records: EncodedRecords): Buffer {
  writeHeader(records.frame, records.count, records.baseTimestamp, records.maxTimestamp, 0);
  return records.frame;
}

/** A compressed batch of encoded records (from `recordsAt` in the frame: after the header's room), stamped. */
export async function encodeCompressedEncodedBatch(
  records: EncodedRecords,
  producer: BatchProducer,
  codec: number,
  compress: Compressor,
  recordsAt = RECORDS_OFFSET,
): Promise<Buffer> {
  const compressed = await compress(codec, records.frame.subarray(recordsAt));
  const buf = Buffer.allocUnsafe(RECORDS_OFFSET + compressed.length);
  compressed.copy(buf, RECORDS_OFFSET);
  writeHeader(buf, records.count, records.baseTimestamp, records.maxTimestamp, codec);
  stampRecordBatch(buf, producer);
  return buf;
}

/** Records' sizes while a batch is encoded (synchronously, so one array serves every batch). */
let sizesScratch = new Int32Array(1024);

function recordSizes(count: number): Int32Array {
  if (sizesScratch.length < count) sizesScratch = new Int32Array(Math.max(count, sizesScratch.length * 2));
  return sizesScratch;
}

/** The records section, written after `reserve` bytes left for the batch header. */
function encodeRecords(
  records: readonly ProducerRecord[],
  nowMs: number,
  reserve: number,
  allocate: (size: number) => Buffer = Buffer.allocUnsafe,
): { section: Buffer; baseTimestamp: number; maxTimestamp: number } {
  if (records.length === 0) throw new Error("a record batch holds at least one record");
  const baseTimestamp = timestampOf(records[0]!, nowMs);
  let maxTimestamp = baseTimestamp;
  const sizes = recordSizes(records.length);
  let total = reserve;
  for (let i = 0; i < records.length; i++) {
    const timestamp = timestampOf(records[i]!, nowMs);
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    const size = bodySize(records[i]!, timestamp - baseTimestamp, i);
    sizes[i] = size;
    total += varintSize(size) + size;
  }
  const section = allocate(total);
  let pos = reserve;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    pos = writeRecord(section, pos, record, sizes[i]!, timestampOf(record, nowMs) - baseTimestamp, i);
  }
  return { section, baseTimestamp, maxTimestamp };
}
