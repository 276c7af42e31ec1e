// The Kafka client as the connector needs it: small interfaces, bigint offsets and timestamps, no consumer group.
// kafkajs (./kafkajs.ts) is the default implementation; a second one would implement the same interfaces.
import type { ConsumerOptions, IsolationLevel, ProducerOptions } from "../config/index.js";
import type { EncodedRecords } from "./record-batch-encoder.js";

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface TopicPartitions {
  readonly topic: string;
  /** Partition ids in ascending order; empty if the topic does not exist. */
  readonly partitions: readonly number[];
}

export interface PartitionOffset extends TopicPartition {
  readonly offset: bigint;
}

export interface PartitionOffsetForTime extends TopicPartition {
  /** First offset whose timestamp is >= the requested time; null if there is none (all records are older). */
  readonly offset: bigint | null;
  /** Timestamp of the record at `offset`; null with it. */
  readonly timestamp: bigint | null;
}

export type TimestampType = "CreateTime" | "LogAppendTime" | "NoTimestamp";

export interface RecordHeader {
  readonly key: string;
  readonly value: Buffer | null;
}

/**
 * One record as fetched. `key`, `value` and header values are views into the fetch response buffer (no copy):
 * copy them if you keep a few records for long while dropping the rest.
 */
export interface KafkaRecord {
  readonly offset: bigint;
  /** Milliseconds since the epoch; -1n when timestampType is NoTimestamp. */
  readonly timestamp: bigint;
  readonly timestampType: TimestampType;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** In wire order; repeated keys kept. */
  readonly headers: readonly RecordHeader[];
  /** Encoded size of the record in its (uncompressed) batch. */
  readonly sizeBytes: number;
}

export interface FetchOptions {
  /** Bytes for this partition in one response (the broker still returns at least one whole batch). */
  readonly maxBytes?: number;
  /** How long the broker may hold the request waiting for minBytes. */
  readonly maxWaitMs?: number;
  readonly minBytes?: number;
  readonly isolationLevel?: IsolationLevel;
}

export interface FetchResult extends TopicPartition {
  /** Records at offsets >= the requested offset, in offset order (with gaps where compaction or markers were). */
  readonly records: readonly KafkaRecord[];
  /**
   * The offset to fetch next: past every batch this response covered, including control batches, aborted
   * transactional records and compacted gaps. Equals the requested offset when nothing was returned.
   */
  readonly nextOffset: bigint;
  readonly highWatermark: bigint;
  /** -1n if the broker did not report it. */
  readonly lastStableOffset: bigint;
  readonly logStartOffset: bigint;
  /** Bytes of record batches received for this partition. */
  readonly bytes: number;
}

export interface GroupOffset extends TopicPartition {
  /** The next offset to consume (Kafka's convention: last processed + 1). */
  readonly offset: bigint;
  readonly metadata?: string;
}

export interface CommittedOffset extends TopicPartition {
  /** null if the group has no committed offset for this partition. */
  readonly offset: bigint | null;
  readonly metadata: string | null;
}

/** Topic metadata: partition discovery. */
export interface KafkaMetadataClient {
  /** Current partitions of each topic (fresh metadata: new partitions show up). Unknown topics get []. */
  partitionsFor(topics: readonly string[]): Promise<TopicPartitions[]>;
  /** Topic names, sorted; with a pattern only those it matches in full (as Java's Pattern.matches). */
  listTopics(pattern?: RegExp): Promise<string[]>;
}

/** Offsets by position and by time. Results come in the order of the request. */
export interface KafkaOffsetsClient {
  listOffsets(
    partitions: readonly TopicPartition[],
    position: "earliest" | "latest",
    isolationLevel?: IsolationLevel,
  ): Promise<PartitionOffset[]>;
  offsetsForTimes(
    partitions: readonly TopicPartition[],
    timestampMs: bigint | number,
  ): Promise<PartitionOffsetForTime[]>;
}

/** Reads one partition from an explicit offset, without a consumer group. */
export interface KafkaFetchClient {
  fetch(topic: string, partition: number, fromOffset: bigint, options?: FetchOptions): Promise<FetchResult>;
}

/** Group offsets committed and read without joining the group (the group must have no active members). */
export interface KafkaGroupOffsetsClient {
  commitOffsets(groupId: string, offsets: readonly GroupOffset[]): Promise<void>;
  /** Committed offsets for all partitions of the topics, or for the listed partitions. */
  fetchCommittedOffsets(
    groupId: string,
    topicsOrPartitions: readonly string[] | readonly TopicPartition[],
  ): Promise<CommittedOffset[]>;
}

/** The reading side of the connector: one per (cluster, config), shared through the client cache. */
export interface KafkaClient
  extends KafkaMetadataClient,
    KafkaOffsetsClient,
    KafkaFetchClient,
    KafkaGroupOffsetsClient {
  readonly options: ConsumerOptions;
  close(): Promise<void>;
}

export interface ProducerRecord {
  readonly topic: string;
  /** Explicit partition; otherwise the key's murmur2 hash (as Java's default partitioner), or spread if no key. */
  readonly partition?: number;
  readonly key?: Buffer | string | null;
  /** null is a tombstone. */
  readonly value: Buffer | string | null;
  /** In order; a key may repeat; a value may be null (Kafka allows it). */
  readonly headers?: readonly { readonly key: string; readonly value: Buffer | string | null }[];
  /** CreateTime in ms; default now. */
  readonly timestamp?: bigint | number;
}

export interface KafkaTransaction {
  /**
   * Sends the records at once (no linger.ms: the transaction waits for them) and resolves when they are acknowledged
   * (visible to read_committed readers only after commit).
   */
  produce(records: readonly ProducerRecord[]): Promise<void>;
  /**
   * Sends one partition's records given already in Kafka's record format, after the records given before; resolves
   * when acknowledged. Optional: a producer without it takes records only.
   */
  produceEncoded?(topic: string, partition: number, records: EncodedRecords): Promise<void>;
  /** The topic's partition count, once it exists (as partitionsFor); with produceEncoded. */
  partitionCount?(topic: string): Promise<number>;
  /** Commits group offsets (with optional metadata) atomically with the transaction's records. */
  sendOffsets(groupId: string, offsets: readonly GroupOffset[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface KafkaProducer {
  readonly options: ProducerOptions;
  /**
   * Queues the records (batched up to batch.size, lingering up to linger.ms) and resolves when every one of them
   * is acknowledged per `acks`; rejects with the Kafka error of the send that failed. Not for transactional producers.
   */
  produce(records: readonly ProducerRecord[]): Promise<void>;
  /**
   * Sends whatever lingers and waits until every record given to produce() before this call has settled (errors go
   * to produce's promise); not for records others give it meanwhile.
   */
  flush(): Promise<void>;
  /**
   * The topic's partitions, once it exists with a leader for each: asked with auto-creation allowed and waited for
   * up to max.block.ms, as Kafka's producer's partitionsFor does (where the broker allows, a new topic is created).
   */
  partitionsFor(topic: string): Promise<number[]>;
  /** Starts a transaction (transactional.id required); one at a time per producer. */
  beginTransaction(): Promise<KafkaTransaction>;
  close(): Promise<void>;
}
