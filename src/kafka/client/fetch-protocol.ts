// Fetch request/response, version 11 (Kafka >= 2.3; served by 4.x), written from the protocol specification
// (https://kafka.apache.org/protocol#The_Messages_Fetch). A sessionless full fetch from the partition leader, by
// consumer (replica id -1). The response is decoded only down to each partition's RECORDS byte range; record
// batches are decoded lazily by ./record-batch.ts in the reader's own turn.
import { KafkaUnsupportedError } from "../errors.js";
import type { AbortedTransaction } from "./record-batch.js";

export const FETCH_API_KEY = 1;
export const FETCH_VERSION = 11;

export interface FetchPartitionRequest {
  readonly topic: string;
  readonly partition: number;
  readonly fetchOffset: bigint;
  readonly maxBytes: number;
}

export interface FetchRequest {
  readonly maxWaitMs: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  /** 0 read_uncommitted, 1 read_committed */
  readonly isolationLevel: 0 | 1;
  /** Partitions of one topic must be adjacent (they are encoded under one topic entry). */
  readonly partitions: readonly FetchPartitionRequest[];
}

export interface FetchPartitionResponse {
  readonly topic: string;
  readonly partition: number;
  readonly errorCode: number;
  readonly highWatermark: bigint;
  readonly lastStableOffset: bigint;
  readonly logStartOffset: bigint;
  readonly abortedTransactions: AbortedTransaction[] | null;
  /** The response buffer and this partition's RECORDS range in it. */
  readonly buffer: Buffer;
  readonly recordsStart: number;
  readonly recordsEnd: number;
}

export interface FetchResponse {
  readonly throttleTimeMs: number;
  readonly errorCode: number;
  readonly partitions: FetchPartitionResponse[];
}

/** Encodes the request body (after the request header). */
export function encodeFetchRequest(request: FetchRequest): Buffer {
  // Group adjacent partitions by topic.
  const groups: { topic: string; topicBytes: Buffer; partitions: FetchPartitionRequest[] }[] = [];
  for (const p of request.partitions) {
    const last = groups[groups.length - 1];
    if (last && last.topic === p.topic) last.partitions.push(p);
    else groups.push({ topic: p.topic, topicBytes: Buffer.from(p.topic, "utf8"), partitions: [p] });
  }
  let size = 4 + 4 + 4 + 4 + 1 + 4 + 4 + 4 + 4 + 2; // header fields, topics count, forgotten count, rack id
  for (const g of groups) size += 2 + g.topicBytes.length + 4 + g.partitions.length * (4 + 4 + 8 + 8 + 4);

  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  pos = buf.writeInt32BE(-1, pos); // replica_id: a consumer
  pos = buf.writeInt32BE(request.maxWaitMs, pos);
  pos = buf.writeInt32BE(request.minBytes, pos);
  pos = buf.writeInt32BE(request.maxBytes, pos);
  pos = buf.writeInt8(request.isolationLevel, pos);
  pos = buf.writeInt32BE(0, pos); // session_id: no fetch session
  pos = buf.writeInt32BE(-1, pos); // session_epoch: -1 = sessionless full fetch
  pos = buf.writeInt32BE(groups.length, pos);
  for (const g of groups) {
    pos = buf.writeInt16BE(g.topicBytes.length, pos);
    pos += g.topicBytes.copy(buf, pos);
    pos = buf.writeInt32BE(g.partitions.length, pos);
    for (const p of g.partitions) {
      pos = buf.writeInt32BE(p.partition, pos);
      pos = buf.writeInt32BE(-1, pos); // current_leader_epoch: not tracked
      pos = buf.writeBigInt64BE(p.fetchOffset, pos);
      pos = buf.writeBigInt64BE(-1n, pos); // log_start_offset: followers only
      pos = buf.writeInt32BE(p.maxBytes, pos);
    }
  }
  pos = buf.writeInt32BE(0, pos); // forgotten_topics_data
  pos = buf.writeInt16BE(0, pos); // rack_id "": always read from the leader
  return buf;
}

/** Decodes the response body (after the correlation id). */
export function decodeFetchResponse(buf: Buffer): FetchResponse {
  let pos = 0;
  const need = (n: number): void => {
    if (pos + n > buf.length) throw new KafkaUnsupportedError("truncated Fetch response");
  };
  need(14);
  const throttleTimeMs = buf.readInt32BE(pos);
  pos += 4;
  const errorCode = buf.readInt16BE(pos);
  pos += 2;
  pos += 4; // session_id
  const topicCount = buf.readInt32BE(pos);
  pos += 4;
  const partitions: FetchPartitionResponse[] = [];
  for (let t = 0; t < topicCount; t++) {
    need(2);
    const topicLength = buf.readInt16BE(pos);
    pos += 2;
    need(topicLength + 4);
    const topic = buf.toString("utf8", pos, pos + topicLength);
    pos += topicLength;
    const partitionCount = buf.readInt32BE(pos);
    pos += 4;
    for (let p = 0; p < partitionCount; p++) {
      need(4 + 2 + 8 + 8 + 8 + 4);
      const partition = buf.readInt32BE(pos);
      pos += 4;
      const partitionError = buf.readInt16BE(pos);
      pos += 2;
      const highWatermark = buf.readBigInt64BE(pos);
      pos += 8;
      const lastStableOffset = buf.readBigInt64BE(pos);
      pos += 8;
      const logStartOffset = buf.readBigInt64BE(pos);
      pos += 8;
      const abortedCount = buf.readInt32BE(pos);
      pos += 4;
      let abortedTransactions: AbortedTransaction[] | null = null;
      if (abortedCount > 0) {
        need(abortedCount * 16);
        abortedTransactions = new Array(abortedCount);
        for (let a = 0; a < abortedCount; a++) {
          abortedTransactions[a] = { producerId: buf.readBigInt64BE(pos), firstOffset: buf.readBigInt64BE(pos + 8) };
          pos += 16;
        }
      }
      need(8);
      pos += 4; // preferred_read_replica: -1 since we send no rack id
      const recordsLength = buf.readInt32BE(pos);
      pos += 4;
      const recordsStart = pos;
      if (recordsLength > 0) {
        need(recordsLength);
        pos += recordsLength;
      }
      partitions.push({
        topic,
        partition,
        errorCode: partitionError,
        highWatermark,
        lastStableOffset,
        logStartOffset,
        abortedTransactions,
        buffer: buf,
        recordsStart,
        recordsEnd: pos,
      });
    }
  }
  return { throttleTimeMs, errorCode, partitions };
}
