// The requests of Kafka's transactions v2 (KIP-890 part 2, Kafka 4.0+: the finalized feature transaction.version >= 2),
// written from the protocol specification (https://kafka.apache.org/protocol): ApiVersions v3 (which tells the
// finalized features), TxnOffsetCommit v5 (adds the group to the transaction itself: no AddOffsetsToTxn) and
// EndTxn v5 (bumps the producer epoch at every transaction's end and answers the new one). All flexible versions.
import { compactStringSize, FieldReader, FieldWriter, uvarintSize } from "./protocol-codec.js";

export const API_VERSIONS_API_KEY = 18;
export const API_VERSIONS_FEATURES_VERSION = 3;
export const TXN_OFFSET_COMMIT_API_KEY = 28;
export const TXN_OFFSET_COMMIT_V2_VERSION = 5;
export const END_TXN_API_KEY = 26;
export const END_TXN_V2_VERSION = 5;

const CLIENT_SOFTWARE_NAME = "kafka-beam-ts";
const CLIENT_SOFTWARE_VERSION = "1";

export interface ApiVersionsResponse {
  readonly throttleTimeMs: number;
  readonly errorCode: number;
  /** Max version per API key. */
  readonly maxVersions: ReadonlyMap<number, number>;
  /** Finalized feature → its max version level (e.g. transaction.version → 2). */
  readonly finalizedFeatures: ReadonlyMap<string, number>;
}

export function encodeApiVersionsRequest(): Buffer {
  return new FieldWriter(compactStringSize(CLIENT_SOFTWARE_NAME) + compactStringSize(CLIENT_SOFTWARE_VERSION) + 1)
    .compactString(CLIENT_SOFTWARE_NAME)
    .compactString(CLIENT_SOFTWARE_VERSION)
    .noTags()
    .done();
}

/** ApiVersions v3's body. (Its response header is v0, without tagged fields, whatever the version: KIP-511.) */
export function decodeApiVersionsResponse(buf: Buffer): ApiVersionsResponse {
  const r = new FieldReader(buf, "ApiVersions");
  const errorCode = r.int16();
  const maxVersions = new Map<number, number>();
  const apiCount = r.compactArray();
  for (let i = 0; i < apiCount; i++) {
    const apiKey = r.int16();
    r.int16(); // min version
    maxVersions.set(apiKey, r.int16());
    r.taggedFields();
  }
  const throttleTimeMs = r.int32();
  const finalizedFeatures = new Map<string, number>();
  r.taggedFields((tag) => {
    if (tag !== 2) return false; // FinalizedFeatures
    const count = r.compactArray();
    for (let i = 0; i < count; i++) {
      const name = r.compactString() ?? "";
      finalizedFeatures.set(name, r.int16()); // max version level
      r.int16(); // min version level
      r.taggedFields();
    }
    return true;
  });
  return { throttleTimeMs, errorCode, maxVersions, finalizedFeatures };
}

export interface TxnOffsetCommitRequest {
  readonly transactionalId: string;
  readonly groupId: string;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  /** Partitions of one topic must be adjacent (they are encoded under one topic entry). */
  readonly offsets: readonly {
    readonly topic: string;
    readonly partition: number;
    readonly offset: bigint;
    readonly metadata: string | null;
  }[];
}

export interface PartitionError {
  readonly topic: string;
  readonly partition: number;
  readonly errorCode: number;
}

/** TxnOffsetCommit v5: a producer outside any consumer group (generation -1, no member). */
export function encodeTxnOffsetCommitRequest(request: TxnOffsetCommitRequest): Buffer {
  const topics: { topic: string; partitions: TxnOffsetCommitRequest["offsets"][number][] }[] = [];
  for (const o of request.offsets) {
    const last = topics[topics.length - 1];
    if (last && last.topic === o.topic) last.partitions.push(o);
    else topics.push({ topic: o.topic, partitions: [o] });
  }
  let size =
    compactStringSize(request.transactionalId) +
    compactStringSize(request.groupId) +
    8 + // producer id
    2 + // producer epoch
    4 + // generation id
    compactStringSize("") + // member id
    compactStringSize(null) + // group instance id
    uvarintSize(topics.length + 1) +
    1;
  for (const t of topics) {
    size += compactStringSize(t.topic) + uvarintSize(t.partitions.length + 1) + 1;
    for (const p of t.partitions) size += 4 + 8 + 4 + compactStringSize(p.metadata) + 1;
  }
  const w = new FieldWriter(size)
    .compactString(request.transactionalId)
    .compactString(request.groupId)
    .int64(request.producerId)
    .int16(request.producerEpoch)
    .int32(-1)
    .compactString("")
    .compactString(null)
    .compactArray(topics.length);
  for (const t of topics) {
    w.compactString(t.topic).compactArray(t.partitions.length);
    for (const p of t.partitions) {
      w.int32(p.partition).int64(p.offset).int32(-1).compactString(p.metadata).noTags();
    }
    w.noTags();
  }
  return w.noTags().done();
}

export interface TxnOffsetCommitResponse {
  readonly throttleTimeMs: number;
  readonly partitions: readonly PartitionError[];
}

export function decodeTxnOffsetCommitResponse(buf: Buffer): TxnOffsetCommitResponse {
  const r = new FieldReader(buf, "TxnOffsetCommit");
  const throttleTimeMs = r.int32();
  const partitions: PartitionError[] = [];
  const topicCount = r.compactArray();
  for (let t = 0; t < topicCount; t++) {
    const topic = r.compactString() ?? "";
    const partitionCount = r.compactArray();
    for (let p = 0; p < partitionCount; p++) {
      partitions.push({ topic, partition: r.int32(), errorCode: r.int16() });
      r.taggedFields();
    }
    r.taggedFields();
  }
  r.taggedFields();
  return { throttleTimeMs, partitions };
}

export interface EndTxnRequest {
  readonly transactionalId: string;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly commit: boolean;
}

export interface EndTxnResponse {
  readonly throttleTimeMs: number;
  readonly errorCode: number;
  /** The producer id and epoch of the next transaction (the epoch bumped; a new id when the epoch ran out). */
  readonly producerId: bigint;
  readonly producerEpoch: number;
}

export function encodeEndTxnRequest(request: EndTxnRequest): Buffer {
  return new FieldWriter(compactStringSize(request.transactionalId) + 8 + 2 + 1 + 1)
    .compactString(request.transactionalId)
    .int64(request.producerId)
    .int16(request.producerEpoch)
    .bool(request.commit)
    .noTags()
    .done();
}

export function decodeEndTxnResponse(buf: Buffer): EndTxnResponse {
  const r = new FieldReader(buf, "EndTxn");
  const response = { throttleTimeMs: r.int32(), errorCode: r.int16(), producerId: r.int64(), producerEpoch: r.int16() };
  r.taggedFields();
  return response;
}
