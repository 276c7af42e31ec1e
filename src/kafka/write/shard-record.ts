// The exactly-once path's wire form. Records are made final (serialized, topic/partition/timestamp decided) before
// the GroupByKey on shard, then travel as bytes, in chunks (below): KV<varint shard, bytes> is made of standard
// coders every runner can group by, and a record decided once cannot change when a later step is retried.
//
// Record bytes (version 1):
//   u8 version=1 | u8 flags (1 partition, 2 timestamp, 4 key, 8 value, 16 headers) | topic: varint length + UTF-8
//   | partition: varint | timestamp: int64 BE | key: varint length + bytes | value: varint length + bytes
//   | headers: varint count, each (key: varint length + UTF-8, value: varint length + bytes)
// Optional parts are present only when their flag is set; a null key/value is an absent part.
// Version 2, written only for a record with a null header value (Kafka allows them): the same, but each header value
// is varint (length + 1) + bytes, 0 meaning null. A reader of version 1 only refuses it with a clear error.
import { ByteReader, ByteWriter } from "../../model/coders/index.js";
import type { BoundedWindow, PaneInfo } from "../../model/windowing.js";
import { keyPartition, type ProducerRecord } from "../client/index.js";
import { KafkaWriteError } from "./errors.js";
import { bytesOf } from "./record.js";

// (shard-transcoder.ts reads the same format)
export const VERSION = 1;
export const VERSION_NULLABLE_HEADERS = 2;
export const HAS_PARTITION = 1;
export const HAS_TIMESTAMP = 2;
export const HAS_KEY = 4;
export const HAS_VALUE = 8;
export const HAS_HEADERS = 16;

/** Encodes a final record; `out` is reset first and reusable (finish() copies). */
export function encodeShardRecord(record: ProducerRecord, out: ByteWriter = new ByteWriter()): Uint8Array {
  writeShardRecord(record, out.reset());
  return out.finish();
}

/** Appends a final record's bytes to `out`. */
function writeShardRecord(record: ProducerRecord, out: ByteWriter): void {
  const key = bytesOf(record.key);
  const value = bytesOf(record.value);
  const headers = record.headers ?? [];
  let flags = 0;
  if (record.partition !== undefined) flags |= HAS_PARTITION;
  if (record.timestamp !== undefined) flags |= HAS_TIMESTAMP;
  if (key !== null) flags |= HAS_KEY;
  if (value !== null) flags |= HAS_VALUE;
  if (headers.length > 0) flags |= HAS_HEADERS;
  const nullable = headers.some((h) => h.value === null);
  out.writeByte(nullable ? VERSION_NULLABLE_HEADERS : VERSION);
  out.writeByte(flags);
  out.writeUtf8LengthPrefixed(record.topic);
  if (record.partition !== undefined) out.writeVarInt(record.partition);
  if (record.timestamp !== undefined) out.writeInt64BE(BigInt(record.timestamp));
  if (key !== null) {
    out.writeVarInt(key.length);
    out.writeBytes(key);
  }
  if (value !== null) {
    out.writeVarInt(value.length);
    out.writeBytes(value);
  }
  if (headers.length > 0) {
    out.writeVarInt(headers.length);
    for (const h of headers) {
      out.writeUtf8LengthPrefixed(h.key);
      const v = bytesOf(h.value);
      if (nullable) out.writeVarInt(v === null ? 0 : v.length + 1);
      else out.writeVarInt(v!.length);
      if (v !== null) out.writeBytes(v);
    }
  }
}

/** The last topic decoded, by its UTF-8 bytes: a batch's records mostly share one, read once as a string. */
let lastTopic: { readonly name: string; readonly utf8: Uint8Array } | undefined;

function readTopic(bytes: Uint8Array, reader: ByteReader): string {
  const length = reader.readLength("topic");
  const at = reader.position;
  const last = lastTopic;
  if (last !== undefined && last.utf8.length === length) {
    let same = true;
    for (let i = 0; i < length && same; i++) same = bytes[at + i] === last.utf8[i];
    if (same) {
      reader.skip(length);
      return last.name;
    }
  }
  const name = reader.readUtf8(length);
  lastTopic = { name, utf8: bytes.slice(at, at + length) };
  return name;
}

/** Decodes record bytes (of `bytes` from `start` to `end`); key, value and header values are views into `bytes`. */
export function decodeShardRecord(
  bytes: Uint8Array,
  reader: ByteReader = new ByteReader(),
  start = 0,
  end = bytes.length,
): ProducerRecord {
  try {
    reader.reset(bytes, start, end);
    const version = reader.readByte();
    if (version !== VERSION && version !== VERSION_NULLABLE_HEADERS) throw new Error(`unknown version ${version}`);
    const flags = reader.readByte();
    const topic = readTopic(bytes, reader);
    const record: { -readonly [K in keyof ProducerRecord]: ProducerRecord[K] } = { topic, key: null, value: null };
    if (flags & HAS_PARTITION) record.partition = reader.readVarInt32();
    if (flags & HAS_TIMESTAMP) record.timestamp = reader.readInt64BE();
    if (flags & HAS_KEY) record.key = reader.readBytesView(reader.readLength("key"));
    if (flags & HAS_VALUE) record.value = reader.readBytesView(reader.readLength("value"));
    if (flags & HAS_HEADERS) {
      const count = reader.readLength("header count");
      const headers: { key: string; value: Buffer | null }[] = [];
      for (let i = 0; i < count; i++) {
        const key = reader.readUtf8(reader.readLength("header key"));
        // Version 2 writes length + 1 (0: null), which may exceed what is left by one: bounded loosely here, the
        // bytes themselves are bounds-checked when read.
        const length =
          version === VERSION_NULLABLE_HEADERS
            ? reader.readLength("header value", reader.remaining + 1) - 1
            : reader.readLength("header value");
        headers.push({ key, value: length < 0 ? null : reader.readBytesView(length) });
      }
      record.headers = headers;
    }
    if (!reader.atEnd) throw new Error(`${reader.remaining} trailing bytes`);
    return record;
  } catch (err) {
    throw new KafkaWriteError(
      "KAFKA_WRITE_EXACTLY_ONCE",
      `a sharded record (${end - start} bytes) does not decode: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Below this many bytes an aligned word view costs more than it saves. */
const WORD_VIEW_MIN_BYTES = 64;

function mixWord(h: number, word: number): number {
  let k = Math.imul(word, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/**
 * The last two buffers hashed by words, as words: records hashed in one chunk (or one slab) share a view, and the
 * shard step alternates between a record's value and its chunk.
 */
const wordViews: { buffer: ArrayBufferLike; words: Int32Array }[] = [];

function wordView(buffer: ArrayBufferLike, wordsNeeded: number): Int32Array {
  for (const view of wordViews) if (view.buffer === buffer && view.words.length >= wordsNeeded) return view.words;
  const view = { buffer, words: new Int32Array(buffer, 0, buffer.byteLength >>> 2) };
  if (wordViews.unshift(view) > 2) wordViews.pop();
  return view.words;
}

/**
 * MurmurHash3 (x86, 32 bit) of bytes (from `start` to `end`), from `seed`: four bytes per step, read as one
 * little-endian word (through an Int32Array where the bytes are 4-aligned, as slab copies are). Three times
 * FNV-1a's byte-by-byte speed at 1 KB.
 */
export function hash32(bytes: Uint8Array, seed = 0, start = 0, end = bytes.length): number {
  const n = end - start;
  const words = n >>> 2;
  let h = seed | 0;
  let i = start;
  if (LITTLE_ENDIAN && n >= WORD_VIEW_MIN_BYTES && ((bytes.byteOffset + start) & 3) === 0) {
    const first = (bytes.byteOffset + start) >>> 2;
    const view = wordView(bytes.buffer, first + words);
    for (let w = first; w < first + words; w++) h = mixWord(h, view[w]!);
    i += words << 2;
  } else {
    for (const last = start + (words << 2); i < last; i += 4)
      h = mixWord(h, bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
  }
  const tail = n & 3;
  if (tail > 0) {
    let k = bytes[i]!;
    if (tail > 1) k |= bytes[i + 1]! << 8;
    if (tail > 2) k |= bytes[i + 2]! << 16;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
  }
  return finalMix(h ^ n);
}

function finalMix(h: number): number {
  // murmur3's fmix32
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The shard of a record: its partition (given, or Kafka's default one for its key: murmur2) modulo numShards;
 * without either, the hash of its bytes (`recordHash`, the one the batch digest takes; computed here if not given).
 * Deterministic, so a replayed input lands in the same shards, and one key's records share a shard and keep their
 * relative order inside a batch. Where numShards divides the partition count, each shard's transactions write to
 * partitions no other shard writes to (fewer partitions per transaction, and one producer per partition).
 */
export function shardOf(record: ProducerRecord, numShards: number, recordHash?: number): number {
  if (numShards === 1) return 0;
  if (record.partition !== undefined) return record.partition % numShards;
  const key = bytesOf(record.key);
  if (key !== null) return keyPartition(key, numShards);
  return (recordHash ?? hash32(encodeShardRecord(record))) % numShards;
}

/**
 * The identity of one batch of a shard: the GroupByKey firing that produced it (window and pane index). A runner
 * fires a key's window pane once and delivers that same element to every retry of the write (stable input).
 */
export function batchIdOf(window: BoundedWindow, pane: PaneInfo): string {
  const where = window.kind === "global" ? "g" : `${window.start}~${window.end}`;
  return `${where}/${pane.index}`;
}

/** Order-independent fingerprint of a batch's records: count and two sums of per-record hashes. */
export class BatchDigest {
  private count = 0;
  private sum1 = 0;
  private sum2 = 0;

  /** Adds a record by its bytes (of `bytes` from `start` to `end`). */
  add(bytes: Uint8Array, start = 0, end = bytes.length): void {
    this.addHash(hash32(bytes, 0, start, end));
  }

  /** Adds a record by the hash32 of its bytes. */
  addHash(h: number): void {
    this.count++;
    this.sum1 = (this.sum1 + h) >>> 0;
    this.sum2 = (this.sum2 + finalMix(h ^ 0x9e3779b9)) >>> 0;
  }

  /** Adds another digest's records (sums are additive: a batch's digest is the same however it was chunked). */
  merge(count: number, sum1: number, sum2: number): void {
    this.count += count;
    this.sum1 = (this.sum1 + sum1) >>> 0;
    this.sum2 = (this.sum2 + sum2) >>> 0;
  }

  get records(): number {
    return this.count;
  }

  /** The two sums, as merge() takes them. */
  get sums(): readonly [number, number] {
    return [this.sum1, this.sum2];
  }

  /** `<count>:m<16 hex digits>` ("m": murmur3; digests before it had no letter, see sameBatchDigest). */
  toString(): string {
    return `${this.count}:m${this.sum1.toString(16).padStart(8, "0")}${this.sum2.toString(16).padStart(8, "0")}`;
  }
}

/**
 * Whether a committed batch's digest and a new one describe the same records. A digest written by a version that
 * hashed with FNV-1a (no "m" after the count) is compared by record count only: a batch committed before an upgrade
 * and retried after it is still recognised (a runner hands a retry the same records).
 */
export function sameBatchDigest(committed: string, digest: string): boolean {
  if (committed === digest) return true;
  const colon = committed.indexOf(":");
  return colon > 0 && committed[colon + 1] !== "m" && digest.startsWith(committed.slice(0, colon + 1));
}

// A shard chunk: the records one bundle gave one shard in one window, as one element through the GroupByKey, so
// the runner's per-element costs (objects, grouping, coding) are paid per chunk, not per record; each record is
// hashed once, where it is encoded: the chunk carries its digest, a keyless record's shard comes from that hash.
//   u8 version=3 | 3 zero bytes | u32 BE record count | u32 BE digest sum1 | u32 BE digest sum2
//   | per record: u32 BE length | record bytes (version 1 or 2 above) | zero bytes to a multiple of 4
// (records start 4-aligned, as the words a reader may hash them by). A value whose first byte is 1 or 2 is one record, as
// shard steps before chunks wrote (still read).
const CHUNK_VERSION = 3;
const CHUNK_HEADER_BYTES = 16;

/** Encodes one record at a time for the shard step: its bytes, their hash (the digest's) and so its shard. */
export class ShardRecordEncoder {
  private readonly out = new ByteWriter(1024);
  private hashValue = 0;

  /** Encodes the record (replacing the last one); returns its shard. */
  encode(record: ProducerRecord, numShards: number): number {
    writeShardRecord(record, this.out.reset());
    this.hashValue = hash32(this.out.buffer, 0, 0, this.out.length);
    return shardOf(record, numShards, this.hashValue);
  }

  get hash(): number {
    return this.hashValue;
  }

  get length(): number {
    return this.out.length;
  }

  /** The last record's bytes: valid until the next encode. */
  get bytes(): Uint8Array {
    return this.out.view();
  }
}

/** Builds chunks; reusable: finish() hands the bytes over and starts the next chunk. */
export class ShardChunkWriter {
  private readonly out: ByteWriter;
  private digest = new BatchDigest();
  /** The buffer size for the next chunk: the largest chunk so far, and a margin (it does not grow while written). */
  private capacity: number;

  constructor(initialCapacity = 64 * 1024) {
    this.capacity = initialCapacity;
    this.out = new ByteWriter(initialCapacity);
    this.start();
  }

  private start(): void {
    for (let i = 0; i < CHUNK_HEADER_BYTES; i++) this.out.writeByte(0);
    this.digest = new BatchDigest();
  }

  /** Appends a record as the encoder last encoded it. */
  append(encoded: ShardRecordEncoder): void {
    const out = this.out;
    out.writeInt32BE(encoded.length);
    out.writeBytes(encoded.bytes);
    this.digest.addHash(encoded.hash);
    for (let pad = (4 - (encoded.length & 3)) & 3; pad > 0; pad--) out.writeByte(0);
  }

  get records(): number {
    return this.digest.records;
  }

  /** The chunk's size so far. */
  get byteLength(): number {
    return this.out.length;
  }

  /** The chunk's bytes (handed over, not copied); the writer starts a new chunk. */
  finish(): Uint8Array {
    const out = this.out;
    out.setUint32BE(0, CHUNK_VERSION << 24);
    const [sum1, sum2] = this.digest.sums;
    out.setUint32BE(4, this.digest.records);
    out.setUint32BE(8, sum1);
    out.setUint32BE(12, sum2);
    this.capacity = Math.max(this.capacity, out.length + (out.length >>> 3));
    // A chunk that fills the buffer takes it; a small one (the end of a bundle) is copied out, so it does not pin a
    // whole buffer while it waits for its transaction, and the buffer serves the next chunk.
    const chunk = out.length * 2 < out.buffer.length ? out.finish() : out.take(this.capacity);
    out.reset();
    this.start();
    return chunk;
  }
}

/**
 * Adds one GroupByKey value of the shard step (a chunk, or one record from a version before chunks) to `digest`:
 * a chunk's from its header, without reading its records (a retry decides from the digest before it writes).
 */
export function addShardValueDigest(
  bytes: Uint8Array,
  digest: BatchDigest,
  reader: ByteReader = new ByteReader(),
): void {
  if (bytes[0] !== CHUNK_VERSION) {
    digest.add(bytes);
    return;
  }
  const { count, sum1, sum2 } = readChunkHeader(bytes, reader);
  digest.merge(count, sum1, sum2);
}

function readChunkHeader(bytes: Uint8Array, reader: ByteReader): { count: number; sum1: number; sum2: number } {
  try {
    reader.reset(bytes);
    reader.readInt32BE(); // version and padding
    return {
      count: reader.readInt32BE() >>> 0,
      sum1: reader.readInt32BE() >>> 0,
      sum2: reader.readInt32BE() >>> 0,
    };
  } catch (err) {
    throw chunkError(bytes, err);
  }
}

/**
 * Reads one GroupByKey value of the shard step (a chunk, or one record from a version before chunks): its records
 * are appended to `records` (views into `bytes`). Its digest is addShardValueDigest's.
 */
export function readShardValue(
  bytes: Uint8Array,
  records: ProducerRecord[],
  reader: ByteReader = new ByteReader(),
): void {
  if (!isShardChunk(bytes)) {
    records.push(decodeShardRecord(bytes, reader));
    return;
  }
  shardChunkRecords(
    bytes,
    (start, end) => {
      records.push(decodeShardRecord(bytes, reader, start, end));
      return true;
    },
    reader,
  );
}

/** Whether a GroupByKey value of the shard step is a chunk (else one record, from a version before chunks). */
export function isShardChunk(bytes: Uint8Array): boolean {
  return bytes[0] === CHUNK_VERSION;
}

/**
 * Visits the byte range of each record of a chunk from record `from` on, in order, until `visit` returns false
 * (then returns false).
 * Throws KafkaWriteError for a chunk whose framing is corrupt.
 */
export function shardChunkRecords(
  bytes: Uint8Array,
  visit: (start: number, end: number, index: number) => boolean,
  reader: ByteReader = new ByteReader(),
  from = 0,
): boolean {
  const { count } = readChunkHeader(bytes, reader);
  let pos = CHUNK_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    let length: number;
    try {
      reader.reset(bytes, pos);
      length = reader.readInt32BE() >>> 0;
      pos += 4;
      if (length > bytes.length - pos) throw new Error(`record ${i} of ${length} bytes, ${bytes.length - pos} left`);
    } catch (err) {
      throw chunkError(bytes, err);
    }
    if (i >= from && !visit(pos, pos + length, i)) return false;
    pos += (length + 3) & ~3;
  }
  if (pos !== bytes.length) throw chunkError(bytes, new Error(`${bytes.length - pos} bytes after ${count} records`));
  return true;
}

function chunkError(bytes: Uint8Array, err: unknown): KafkaWriteError {
  return new KafkaWriteError(
    "KAFKA_WRITE_EXACTLY_ONCE",
    `a shard chunk (${bytes.length} bytes) does not decode: ${(err as Error).message}`,
    { cause: err },
  );
}
