// Produce v8 and InitProducerId v1 requests and responses (the newest non-flexible versions; Kafka 2.4+ serves them,
// 4.x included), written from the protocol specification (https://kafka.apache.org/protocol#The_Messages_Produce).
// Record batches arrive encoded (./record-batch-encoder.ts): a request only frames them.
import { KafkaUnsupportedError } from "../errors.js";

export const PRODUCE_API_KEY = 0;
export const PRODUCE_VERSION = 8;
export const INIT_PRODUCER_ID_API_KEY = 22;
export const INIT_PRODUCER_ID_VERSION = 1;

export interface ProducePartitionData {
  readonly topic: string;
  readonly partition: number;
  readonly batch: Buffer;
}

export interface ProduceRequest {
  readonly transactionalId: string | null;
  /** -1 all, 0 none (the broker sends no response), 1 leader */
  readonly acks: number;
  readonly timeoutMs: number;
  /** Partitions of one topic must be adjacent (they are encoded under one topic entry). */
  readonly partitions: readonly ProducePartitionData[];
}

export interface ProducePartitionResponse {
  readonly topic: string;
  readonly partition: number;
  readonly errorCode: number;
  readonly baseOffset: bigint;
  /** The broker's message, if any (v8+), else the first per-record error message. */
  readonly errorMessage: string | null;
}

export interface ProduceResponse {
  readonly throttleTimeMs: number;
  readonly partitions: ProducePartitionResponse[];
}

function nullableStringSize(value: string | null): number {
  return 2 + (value === null ? 0 : Buffer.byteLength(value));
}

function writeNullableString(buf: Buffer, value: string | null, pos: number): number {
  if (value === null) return buf.writeInt16BE(-1, pos);
  const length = Buffer.byteLength(value);
  pos = buf.writeInt16BE(length, pos);
  return pos + buf.write(value, pos, "utf8");
}

/**
 * Encodes the request body (after the request header) as parts to send back to back: the fields in one buffer, cut
 * before each batch, and the batches themselves (not copied: a batch is most of a request's bytes).
 */
export function encodeProduceRequest(request: ProduceRequest): Buffer[] {
  const groups: { topic: string; partitions: ProducePartitionData[] }[] = [];
  for (const p of request.partitions) {
    const last = groups[groups.length - 1];
    if (last && last.topic === p.topic) last.partitions.push(p);
    else groups.push({ topic: p.topic, partitions: [p] });
  }
  let size = nullableStringSize(request.transactionalId) + 2 + 4 + 4;
  for (const g of groups) size += nullableStringSize(g.topic) + 4 + g.partitions.length * (4 + 4);
  const fields = Buffer.allocUnsafe(size);
  const parts: Buffer[] = [];
  let from = 0;
  let pos = writeNullableString(fields, request.transactionalId, 0);
  pos = fields.writeInt16BE(request.acks, pos);
  pos = fields.writeInt32BE(request.timeoutMs, pos);
  pos = fields.writeInt32BE(groups.length, pos);
  for (const g of groups) {
    pos = writeNullableString(fields, g.topic, pos);
    pos = fields.writeInt32BE(g.partitions.length, pos);
    for (const p of g.partitions) {
      pos = fields.writeInt32BE(p.partition, pos);
      pos = fields.writeInt32BE(p.batch.length, pos);
      parts.push(fields.subarray(from, pos), p.batch);
      from = pos;
    }
  }
  if (from < pos) parts.push(fields.subarray(from, pos));
  return parts;
}

/** A bounds-checked reader of a response body. */
class Reader {
  pos = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new KafkaUnsupportedError(`truncated ${this.what} response`);
  }

  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  int64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  nullableString(): string | null {
    const length = this.int16();
    if (length < 0) return null;
    this.need(length);
    const v = this.buf.toString("utf8", this.pos, this.pos + length);
    this.pos += length;
    return v;
  }
}

/** Decodes the response body (after the correlation id). */
export function decodeProduceResponse(buf: Buffer): ProduceResponse {
  const r = new Reader(buf, "Produce");
  const partitions: ProducePartitionResponse[] = [];
  const topicCount = r.int32();
  for (let t = 0; t < topicCount; t++) {
    const topic = r.nullableString() ?? "";
    const partitionCount = r.int32();
    for (let p = 0; p < partitionCount; p++) {
      const partition = r.int32();
      const errorCode = r.int16();
      const baseOffset = r.int64();
      r.int64(); // log_append_time_ms
      r.int64(); // log_start_offset
      let recordError: string | null = null;
      const recordErrors = r.int32();
      for (let e = 0; e < recordErrors; e++) {
        r.int32(); // batch_index
        const message = r.nullableString();
        recordError ??= message;
      }
      const errorMessage = r.nullableString() ?? recordError;
      partitions.push({ topic, partition, errorCode, baseOffset, errorMessage });
    }
  }
  const throttleTimeMs = r.int32();
  return { throttleTimeMs, partitions };
}

export interface InitProducerIdResponse {
  readonly throttleTimeMs: number;
  readonly errorCode: number;
  readonly producerId: bigint;
  readonly producerEpoch: number;
}

/** An idempotent producer's id request: no transactional id. */
export function encodeInitProducerIdRequest(transactionalId: string | null, transactionTimeoutMs: number): Buffer {
  const buf = Buffer.allocUnsafe(nullableStringSize(transactionalId) + 4);
  const pos = writeNullableString(buf, transactionalId, 0);
  buf.writeInt32BE(transactionTimeoutMs, pos);
  return buf;
}

export function decodeInitProducerIdResponse(buf: Buffer): InitProducerIdResponse {
  const r = new Reader(buf, "InitProducerId");
  return { throttleTimeMs: r.int32(), errorCode: r.int16(), producerId: r.int64(), producerEpoch: r.int16() };
}
