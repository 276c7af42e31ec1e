// Produce v8 and InitProducerId v1 requests and responses (the newest non-flexible versions; Kafka 2.4+ serves them,
// 4.x included), and Produce v12 for transactions v2 (KIP-890: the broker adds a partition to the transaction
// itself), written from the protocol specification (https://kafka.apache.org/protocol#The_Messages_Produce).
// Record batches arrive encoded (./record-batch-encoder.ts): a request only frames them.
import { compactStringSize, FieldReader, FieldWriter, nullableStringSize, uvarintSize } from "./protocol-codec.js";

export const PRODUCE_API_KEY = 0;
export const PRODUCE_VERSION = 8;
/** The first version whose transactional batches join their transaction without AddPartitionsToTxn (KIP-890). */
export const PRODUCE_TXN_V2_VERSION = 12;
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

/**
 * Encodes the request body (after the request header) as parts to send back to back: the fields in one buffer, cut
 * before each batch, and the batches themselves (not copied: a batch is most of a request's bytes). `version` is
 * PRODUCE_VERSION, or PRODUCE_TXN_V2_VERSION (flexible: compact lengths and empty tagged fields).
 */
export function encodeProduceRequest(request: ProduceRequest, version = PRODUCE_VERSION): Buffer[] {
  const flexible = version >= 9;
  const groups: { topic: string; partitions: ProducePartitionData[] }[] = [];
  for (const p of request.partitions) {
    const last = groups[groups.length - 1];
    if (last && last.topic === p.topic) last.partitions.push(p);
    else groups.push({ topic: p.topic, partitions: [p] });
  }
  const stringSize = flexible ? compactStringSize : nullableStringSize;
  const countSize = (n: number) => (flexible ? uvarintSize(n + 1) : 4);
  let size = stringSize(request.transactionalId) + 2 + 4 + countSize(groups.length) + (flexible ? 1 : 0);
  for (const g of groups) {
    size += stringSize(g.topic) + countSize(g.partitions.length) + (flexible ? 1 : 0);
    for (const p of g.partitions) size += 4 + countSize(p.batch.length) + (flexible ? 1 : 0);
  }
  const w = new FieldWriter(size);
  const string = (value: string | null) => (flexible ? w.compactString(value) : w.nullableString(value));
  const count = (n: number) => (flexible ? w.compactArray(n) : w.int32(n));
  const parts: Buffer[] = [];
  let from = 0;
  string(request.transactionalId).int16(request.acks).int32(request.timeoutMs);
  count(groups.length);
  for (const g of groups) {
    string(g.topic);
    count(g.partitions.length);
    for (const p of g.partitions) {
      w.int32(p.partition);
      count(p.batch.length); // (COMPACT_RECORDS: length + 1, as a compact array's count)
      parts.push(w.buf.subarray(from, w.pos), p.batch);
      from = w.pos;
      if (flexible) w.noTags();
    }
    if (flexible) w.noTags();
  }
  if (flexible) w.noTags();
  w.done();
  if (from < w.pos) parts.push(w.buf.subarray(from, w.pos));
  return parts;
}

/** Decodes the response body (after the response header) of `version` (as encodeProduceRequest). */
export function decodeProduceResponse(buf: Buffer, version = PRODUCE_VERSION): ProduceResponse {
  const flexible = version >= 9;
  const r = new FieldReader(buf, "Produce");
  const string = () => (flexible ? r.compactString() : r.nullableString());
  const count = () => (flexible ? r.compactArray() : r.int32());
  const partitions: ProducePartitionResponse[] = [];
  const topicCount = count();
  for (let t = 0; t < topicCount; t++) {
    const topic = string() ?? "";
    const partitionCount = count();
    for (let p = 0; p < partitionCount; p++) {
      const partition = r.int32();
      const errorCode = r.int16();
      const baseOffset = r.int64();
      r.int64(); // log_append_time_ms
      r.int64(); // log_start_offset
      let recordError: string | null = null;
      const recordErrors = count();
      for (let e = 0; e < recordErrors; e++) {
        r.int32(); // batch_index
        const message = string();
        recordError ??= message;
        if (flexible) r.taggedFields();
      }
      const errorMessage = string() ?? recordError;
      if (flexible) r.taggedFields(); // (current_leader: the metadata refresh after a leader error finds it too)
      partitions.push({ topic, partition, errorCode, baseOffset, errorMessage });
    }
    if (flexible) r.taggedFields();
  }
  const throttleTimeMs = r.int32();
  if (flexible) r.taggedFields();
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
  return new FieldWriter(nullableStringSize(transactionalId) + 4)
    .nullableString(transactionalId)
    .int32(transactionTimeoutMs)
    .done();
}

export function decodeInitProducerIdResponse(buf: Buffer): InitProducerIdResponse {
  const r = new FieldReader(buf, "InitProducerId");
  return { throttleTimeMs: r.int32(), errorCode: r.int16(), producerId: r.int64(), producerEpoch: r.int16() };
}
