// The exactly-once transactions step's fast path: a shard batch's GroupByKey values (chunks of records in the shard
// step's wire form, ./shard-record.ts) become Kafka record batches directly, byte range by byte range, without a
// record object per record. Each record goes to a partition as the producer would send it: the one it names, else
// murmur2 of its key over the topic's partition count, else the topic's sticky partition (moved on when its batch
// closes, as Kafka's producer moves on). A partition's records fill one batch (up to the producer's batch.size, in
// the producer's own pooled buffers) across the values of a shard batch. A record without a timestamp gets the time
// it is transcoded, as the producer stamps one when its batch closes.
import { ByteReader } from "../../model/coders/index.js";
import {
  keyPartition,
  RECORDS_OFFSET,
  type BatchBuffers,
  varintSize,
  varlongSize,
  writeVarint,
  writeVarlong,
  type EncodedRecords,
} from "../client/index.js";
import { KafkaWriteError } from "./errors.js";
import {
  HAS_HEADERS,
  HAS_KEY,
  HAS_PARTITION,
  HAS_TIMESTAMP,
  HAS_VALUE,
  isShardChunk,
  shardChunkRecords,
  VERSION,
  VERSION_NULLABLE_HEADERS,
} from "./shard-record.js";

/** Open runs of one shard batch at most (each holds a batch buffer): keyed records over many partitions. */
const MAX_OPEN_RUNS = 16;

/** One partition's records of a value, with what the sink's counters count. */
export interface TranscodedRun {
  readonly topic: string;
  readonly partition: number;
  readonly records: EncodedRecords;
  /** Key + value bytes of its records. */
  readonly payloadBytes: number;
}

/** The records of one partition being written, in a batch buffer (the header's room first). */
class Run {
  private buf: Buffer;
  private pos = RECORDS_OFFSET;
  count = 0;
  baseTimestamp = 0;
  maxTimestamp = 0;
  payloadBytes = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
    buffers: BatchBuffers,
  ) {
    this.buf = buffers.take(buffers.capacity);
  }

  get bytes(): number {
    return this.pos - RECORDS_OFFSET;
  }

  /** Room for `n` more bytes (only a record larger than batch.size outgrows the buffer). */
  reserve(n: number): Buffer {
    if (this.pos + n > this.buf.length) {
      const grown = Buffer.allocUnsafe(this.pos + n);
      this.buf.copy(grown, 0, 0, this.pos);
      this.buf = grown;
    }
    return this.buf;
  }

  advance(to: number): void {
    this.pos = to;
  }

  get position(): number {
    return this.pos;
  }

  done(): TranscodedRun {
    return {
      topic: this.topic,
      partition: this.partition,
      records: {
        frame: this.buf.subarray(0, this.pos),
        count: this.count,
        baseTimestamp: this.baseTimestamp,
        maxTimestamp: this.maxTimestamp,
      },
      payloadBytes: this.payloadBytes,
    };
  }
}

/** What transcode() needs before it can go on: a topic's partition count, from record `record` of the value. */
export interface MissingCount {
  readonly topic: string;
  readonly record: number;
}

/** Where a field lies in the value being read: start offset and length; -1 length for null. */
interface Range {
  start: number;
  length: number;
}

export class ShardTranscoder {
  private readonly reader = new ByteReader();
  private readonly sticky = new Map<string, number>();
  private lastTopic: { readonly name: string; readonly utf8: Buffer } | undefined;
  // The record being read (reused: no object per record).
  private topic = "";
  private partition = -1;
  private timestamp = 0;
  private named = false;
  private readonly key: Range = { start: 0, length: -1 };
  private readonly value: Range = { start: 0, length: -1 };
  private readonly headers: { key: Range; value: Range }[] = [];
  private headerCount = 0;
  // The value being transcoded, and the shard batch's open runs.
  private bytes: Buffer = Buffer.alloc(0);
  private nowMs = 0;
  private runs = new Map<string, Run>();
  private lastRun: Run | undefined;
  private closed: TranscodedRun[] = [];
  private missing: MissingCount | undefined;

  /**
   * One per shard batch attempt. `limit`: a batch's records bytes (within the producer's send limit); `buffers`: the
   * producer's batch buffers; `counts`: the partition counts of the topics met (the caller adds missing ones).
   */
  constructor(
    private readonly limit: number,
    private readonly buffers: BatchBuffers,
    private readonly counts: ReadonlyMap<string, number>,
  ) {}

  /**
   * Adds one GroupByKey value's records (from record `from`) to the batch's runs; returns the runs that filled, in
   * order, or what it lacks to go on: a topic's partition count (get it into `counts`, then call again from there).
   */
  transcode(value: Uint8Array, nowMs: number, from = 0): TranscodedRun[] | MissingCount {
    this.bytes = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    this.nowMs = nowMs;
    this.missing = undefined;
    const complete = isShardChunk(this.bytes)
      ? shardChunkRecords(this.bytes, this.add, this.reader, from)
      : this.add(0, this.bytes.length, 0);
    if (!complete) return this.missing!; // runs filled so far stay for the call that goes on
    const closed = this.closed;
    this.closed = [];
    return closed;
  }

  /** The batch's open runs, each one last batch of its partition. */
  flush(): TranscodedRun[] {
    const out = [...this.runs.values()].map((run) => run.done());
    this.runs = new Map();
    this.lastRun = undefined;
    for (const topic of this.sticky.keys()) this.moveSticky(topic);
    return out;
  }

  /** Transcodes the record at bytes[start, end) (record `index`); false if its topic's count is missing. */
  private readonly add = (start: number, end: number, index: number): boolean => {
    try {
      this.read(start, end);
    } catch (err) {
      throw new KafkaWriteError(
        "KAFKA_WRITE_EXACTLY_ONCE",
        `a sharded record (${end - start} bytes) does not decode: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const { key, value, headers, headerCount, bytes, topic, timestamp, named } = this;
    let partition = this.partition;
    if (!named) {
      if (key.length >= 0) {
        const count = this.counts.get(topic);
        if (count === undefined) {
          this.missing = { topic, record: index };
          return false;
        }
        partition = keyPartition(bytes.subarray(key.start, key.start + key.length), count);
      } else {
        partition = this.stickyPartition(topic);
        if (partition < 0) {
          this.missing = { topic, record: index };
          return false;
        }
      }
    }
    let run = this.runOf(topic, partition);
    let body = recordBody(run, timestamp, key.length, value.length, headers, headerCount);
    if (run.count > 0 && run.bytes + varintSize(body) + body > this.limit) {
      // Full: it goes as one batch; the record starts the partition's next (a keyless one, on the next partition).
      this.runs.delete(runKey(topic, partition));
      this.lastRun = undefined;
      this.closed.push(run.done());
      if (!named && key.length < 0 && this.sticky.get(topic) === partition) {
        this.moveSticky(topic);
        partition = this.sticky.get(topic)!;
      }
      run = this.runOf(topic, partition);
      body = recordBody(run, timestamp, key.length, value.length, headers, headerCount);
    }
    if (run.count === 0) {
      run.baseTimestamp = timestamp;
      run.maxTimestamp = timestamp;
    } else if (timestamp > run.maxTimestamp) run.maxTimestamp = timestamp;
    const buf = run.reserve(varintSize(body) + body);
    let pos = writeVarint(buf, body, run.position);
    buf[pos++] = 0; // record attributes: unused
    pos = writeVarlong(buf, timestamp - run.baseTimestamp, pos);
    pos = writeVarint(buf, run.count, pos);
    pos = writeRange(buf, pos, bytes, key);
    pos = writeRange(buf, pos, bytes, value);
    pos = writeVarint(buf, headerCount, pos);
    for (let i = 0; i < headerCount; i++) {
      pos = writeRange(buf, pos, bytes, headers[i]!.key);
      pos = writeRange(buf, pos, bytes, headers[i]!.value);
    }
    run.advance(pos);
    run.count++;
    run.payloadBytes += Math.max(key.length, 0) + Math.max(value.length, 0);
    return true;
  };

  /** Reads a shard record's fields into this record's fields (partition -1: not named). */
  private read(start: number, end: number): void {
    const r = this.reader.reset(this.bytes, start, end);
    const version = r.readByte();
    if (version !== VERSION && version !== VERSION_NULLABLE_HEADERS) throw new Error(`unknown version ${version}`);
    const flags = r.readByte();
    const topicLength = r.readLength("topic");
    this.topic = this.topicName(r.position, topicLength);
    r.skip(topicLength);
    this.named = (flags & HAS_PARTITION) !== 0;
    this.partition = this.named ? r.readVarInt32() : -1;
    this.timestamp = flags & HAS_TIMESTAMP ? Number(r.readInt64BE()) : this.nowMs;
    readRange(r, flags & HAS_KEY, this.key, "key");
    readRange(r, flags & HAS_VALUE, this.value, "value");
    this.headerCount = 0;
    if (flags & HAS_HEADERS) {
      const count = r.readLength("header count");
      for (let i = 0; i < count; i++) {
        const h = (this.headers[i] ??= { key: { start: 0, length: 0 }, value: { start: 0, length: 0 } });
        readRange(r, 1, h.key, "header key");
        h.value.length =
          version === VERSION_NULLABLE_HEADERS
            ? r.readLength("header value", r.remaining + 1) - 1
            : r.readLength("header value");
        h.value.start = r.position;
        if (h.value.length > 0) r.skip(h.value.length);
      }
      this.headerCount = count;
    }
    if (!r.atEnd) throw new Error(`${r.remaining} trailing bytes`);
  }

  /** The open run of a topic-partition (the last one used, most of the time). */
  private runOf(topic: string, partition: number): Run {
    const last = this.lastRun;
    if (last !== undefined && last.partition === partition && last.topic === topic) return last;
    const key = runKey(topic, partition);
    let run = this.runs.get(key);
    if (!run) {
      if (this.runs.size >= MAX_OPEN_RUNS) this.closeFullest();
      run = new Run(topic, partition, this.buffers);
      this.runs.set(key, run);
    }
    this.lastRun = run;
    return run;
  }

  /** Sends the fullest open run now: at most MAX_OPEN_RUNS batch buffers are held, however many partitions. */
  private closeFullest(): void {
    let fullest: [string, Run] | undefined;
    for (const entry of this.runs) if (!fullest || entry[1].bytes > fullest[1].bytes) fullest = entry;
    if (!fullest) return;
    this.runs.delete(fullest[0]);
    if (this.lastRun === fullest[1]) this.lastRun = undefined;
    this.closed.push(fullest[1].done());
  }

  /** The topic's name: a value's records mostly share one, decoded once while its bytes do not change. */
  private topicName(at: number, length: number): string {
    const bytes = this.bytes;
    const last = this.lastTopic;
    if (last !== undefined && last.utf8.length === length) {
      let same = true;
      for (let i = 0; i < length && same; i++) same = bytes[at + i] === last.utf8[i];
      if (same) return last.name;
    }
    const name = bytes.toString("utf8", at, at + length);
    this.lastTopic = { name, utf8: Buffer.from(bytes.subarray(at, at + length)) };
    return name;
  }

  private stickyPartition(topic: string): number {
    let partition = this.sticky.get(topic);
    if (partition === undefined) {
      const count = this.counts.get(topic);
      if (count === undefined) return -1;
      partition = Math.floor(Math.random() * count);
      this.sticky.set(topic, partition);
    }
    return partition;
  }

  private moveSticky(topic: string): void {
    const count = this.counts.get(topic);
    const current = this.sticky.get(topic);
    if (count === undefined || current === undefined || count <= 1) return;
    this.sticky.set(topic, (current + 1 + Math.floor(Math.random() * (count - 1))) % count);
  }
}

/** Reads a length-prefixed field (absent: null) into `range`. */
function readRange(r: ByteReader, present: number, range: Range, what: string): void {
  if (!present) {
    range.length = -1;
    return;
  }
  range.length = r.readLength(what);
  range.start = r.position;
  r.skip(range.length);
}

function runKey(topic: string, partition: number): string {
  return `${partition}:${topic}`;
}

/** A record's encoded size in `run`, without its length prefix. */
function recordBody(
  run: Run,
  timestamp: number,
  keyLength: number,
  valueLength: number,
  headers: readonly { key: Range; value: Range }[],
  headerCount: number,
): number {
  const base = run.count === 0 ? timestamp : run.baseTimestamp;
  let body =
    1 +
    varlongSize(timestamp - base) +
    varintSize(run.count) +
    fieldSize(keyLength) +
    fieldSize(valueLength) +
    varintSize(headerCount);
  for (let i = 0; i < headerCount; i++) body += fieldSize(headers[i]!.key.length) + fieldSize(headers[i]!.value.length);
  return body;
}

/** A length-prefixed nullable field's size in a Kafka record. */
function fieldSize(length: number): number {
  return length < 0 ? 1 : varintSize(length) + length;
}

function writeRange(buf: Buffer, pos: number, from: Buffer, range: Range): number {
  pos = writeVarint(buf, range.length, pos);
  if (range.length <= 0) return pos;
  from.copy(buf, pos, range.start, range.start + range.length);
  return pos + range.length;
}
