// A custom partitioner (native API), as Java's Partitioner: it sees the serialized record and the topic's partition
// count, and returns the partition. Counts come from topic metadata, cached for metadata.max.age.ms so new
// partitions show up as they would for Java's producer.
import type { KafkaMetadataClient, ProducerRecord } from "../client/index.js";
import { KafkaWriteError } from "./errors.js";

export interface PartitionerRecord {
  readonly topic: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** The element the record was made from. */
  readonly element: unknown;
}

/**
 * A custom partitioner (native API only), as Java's Partitioner: returns the partition, 0..numPartitions-1, from the
 * serialized record, its element and the topic's partition count (metadata cached for metadata.max.age.ms).
 * Not called for a record that names its partition; an out-of-range result fails the bundle with KafkaWriteError.
 */
export type Partitioner = (record: PartitionerRecord, numPartitions: number) => number;

export class PartitionCounts {
  private readonly counts = new Map<string, { count: number; atMs: number }>();
  private readonly loading = new Map<string, Promise<number>>();

  constructor(
    private readonly client: KafkaMetadataClient,
    private readonly maxAgeMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The topic's partition count: a number when cached, else a promise. */
  get(topic: string): number | Promise<number> {
    const cached = this.counts.get(topic);
    if (cached && this.clock() - cached.atMs < this.maxAgeMs) return cached.count;
    let loading = this.loading.get(topic);
    if (!loading) {
      loading = this.client
        .partitionsFor([topic])
        .then(([described]) => {
          const count = described?.partitions.length ?? 0;
          if (count === 0)
            throw new KafkaWriteError(
              "KAFKA_WRITE_RECORD",
              `partitioner: topic ${topic} does not exist (no partitions)`,
            );
          this.counts.set(topic, { count, atMs: this.clock() });
          return count;
        })
        .finally(() => this.loading.delete(topic));
      this.loading.set(topic, loading);
    }
    return loading;
  }
}

function checked(partition: number, count: number, topic: string): number {
  if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
    throw new KafkaWriteError(
      "KAFKA_WRITE_RECORD",
      `partitioner returned ${partition} for topic ${topic}, which has partitions 0..${count - 1}`,
    );
  }
  return partition;
}

/**
 * Sets record.partition from the partitioner unless the record names one. Synchronous when the count is cached
 * (the usual case), so the hot path stays free of promises.
 */
export function applyPartitioner(
  record: ProducerRecord,
  element: unknown,
  partitioner: Partitioner,
  counts: PartitionCounts,
): ProducerRecord | Promise<ProducerRecord> {
  if (record.partition !== undefined) return record;
  const input: PartitionerRecord = {
    topic: record.topic,
    key: (record.key as Buffer | null | undefined) ?? null,
    value: record.value as Buffer | null,
    element,
  };
  const place = (count: number): ProducerRecord => ({
    ...record,
    partition: checked(partitioner(input, count), count, record.topic),
  });
  const count = counts.get(record.topic);
  return typeof count === "number" ? place(count) : count.then(place);
}
