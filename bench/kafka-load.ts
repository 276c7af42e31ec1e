// The Kafka side of the Kafka benches: 4-partition topics filled by the raw kafkajs producer, and the two raw
// readers the connector is measured against (kafkajs's group consumer, our KafkaClient's fetch loop).
import { randomBytes } from "node:crypto";
import kafkajs from "kafkajs";
import type { KafkaClient } from "../src/kafka/client/index.js";

const { Kafka, logLevel } = kafkajs;

export const PARTITIONS = 4;
/** Every reader fetches this much per partition, so they compare like for like. */
export const PARTITION_BYTES = 4 * 1024 * 1024;
const IN_FLIGHT = 4;

/** 5,000 records per send for small records; fewer for large ones so each partition's batch stays under the
 * broker's 1 MiB message.max.bytes. */
export function recordsPerSend(size: number): number {
  return Math.min(5_000, Math.floor(2_000_000 / size));
}

/** Calls send(first, count) over [0, total) in chunks of perSend, 4 calls at once. */
export async function sendInChunks(
  total: number,
  perSend: number,
  send: (first: number, count: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < total) {
        const first = next;
        next += perSend;
        await send(first, Math.min(perSend, total - first));
      }
    }),
  );
}

/** Writes `records` null-key records of one random `size`-byte value with kafkajs (acks=all, partitions round-robin);
 * returns records/s, connect and disconnect excluded. */
export async function produceRaw(
  bootstrap: string,
  topic: string,
  records: number,
  size: number,
  clientId: string,
): Promise<number> {
  const producer = new Kafka({ brokers: [bootstrap], clientId, logLevel: logLevel.ERROR }).producer({
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  const value = randomBytes(size);
  const started = performance.now();
  await sendInChunks(records, recordsPerSend(size), (first, count) =>
    producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: count }, (_, i) => ({ partition: (first + i) % PARTITIONS, key: null, value })),
    }),
  );
  const rate = records / ((performance.now() - started) / 1000);
  await producer.disconnect();
  return rate;
}

/** performance.now() when a reader started (connect included), got its first records and its last; value bytes read. */
export interface ReadTiming {
  readonly started: number;
  readonly first: number;
  readonly end: number;
  readonly bytes: number;
}

export interface ReadRate {
  /** records/s from the first record to the last */
  readonly rate: number;
  /** seconds from start to the last record */
  readonly wall: number;
  readonly bytes: number;
}

export function readRate({ started, first, end, bytes }: ReadTiming, records: number): ReadRate {
  return { rate: records / ((end - first) / 1000), wall: (end - started) / 1000, bytes };
}

/** kafkajs's group consumer (eachBatch, no commits) from the beginning until `records` records arrived. */
export async function consumeWithGroup(
  bootstrap: string,
  topic: string,
  records: number,
  groupId: string,
  clientId: string,
): Promise<ReadTiming> {
  const kafka = new Kafka({ brokers: [bootstrap], clientId, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({
    groupId,
    maxBytesPerPartition: PARTITION_BYTES,
    maxBytes: PARTITION_BYTES * PARTITIONS,
    readUncommitted: true,
  });
  const started = performance.now();
  let first = 0;
  let count = 0;
  let bytes = 0;
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (first === 0) first = performance.now();
        for (const m of batch.messages) bytes += m.value?.length ?? 0;
        count += batch.messages.length;
        if (count >= records) resolve();
      },
    });
  });
  const end = performance.now();
  await consumer.disconnect();
  return { started, first, end, bytes };
}

/** Our group-less KafkaClient.fetch from offset 0 to the latest offsets; fails unless exactly `records` were read. */
export async function fetchAll(client: KafkaClient, topic: string, records: number): Promise<ReadTiming> {
  const started = performance.now();
  let first = 0;
  let count = 0;
  let bytes = 0;
  const ends = await client.listOffsets(
    Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition })),
    "latest",
  );
  // One loop per partition, one fetch in flight each; the client merges them into one request per broker.
  await Promise.all(
    ends.map(async ({ partition, offset: end }) => {
      let offset = 0n;
      while (offset < end) {
        const result = await client.fetch(topic, partition, offset, { maxBytes: PARTITION_BYTES });
        if (first === 0) first = performance.now();
        for (const r of result.records) bytes += r.value?.length ?? 0;
        count += result.records.length;
        offset = result.nextOffset;
      }
    }),
  );
  const end = performance.now();
  if (count !== records) throw new Error(`fetch loop read ${count} records, expected ${records}`);
  return { started, first, end, bytes };
}
