// Helpers of the kafka-read integration suites: produce known records, collect what a pipeline read (with its
// event time), wait for conditions, and check exactly-once per partition.
import * as assert from "uvu/assert";
import type { Kafka } from "kafkajs";
import { ParDo, Pipeline, type DoFn, type PCollection } from "../../src/pipeline/index.js";
import { readFromKafka, type KafkaRecordRow, type ReadFromKafkaOptions } from "../../src/kafka/index.js";
import type { Instant } from "../../src/model/windowing.js";

export interface ProducedRecord {
  readonly partition: number;
  readonly key: string;
  readonly value: string;
  /** CreateTime in ms; the producer's clock when absent. */
  readonly timestamp?: number;
}

/** What the pipeline emitted, copied out of the fetch buffers. */
export interface SeenRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly key: string | null;
  readonly value: string | null;
  readonly recordTimestamp: bigint;
  readonly timestampType: string;
  /** The element's event time, as the timestamp policy assigned it. */
  readonly eventTime: Instant;
}

/** Sends the records in batches of `batchSize` (acks=all) in the given order. */
export async function produce(
  kafka: Kafka,
  topic: string,
  records: readonly ProducedRecord[],
  batchSize = 5_000,
): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += batchSize) {
      await producer.send({
        topic,
        acks: -1,
        messages: records.slice(i, i + batchSize).map((r) => ({
          partition: r.partition,
          key: r.key,
          value: r.value,
          ...(r.timestamp !== undefined ? { timestamp: String(r.timestamp) } : {}),
        })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Records `p<partition>-<index>` for `perPartition` records in each of `partitions` partitions, interleaved. */
export function recordsFor(partitions: number, perPartition: number, tag = "v", from = 0): ProducedRecord[] {
  const out: ProducedRecord[] = [];
  for (let i = from; i < from + perPartition; i++) {
    for (let p = 0; p < partitions; p++) out.push({ partition: p, key: `k${p}-${i}`, value: `${tag}${p}-${i}` });
  }
  return out;
}

/** A DoFn (fused after the read) that copies every row it sees into `into`. */
export function collectRows(rows: PCollection<KafkaRecordRow>, into: SeenRecord[], label = "Collect"): void {
  const fn: DoFn<KafkaRecordRow, never> = {
    process(row, context) {
      into.push({
        topic: row.topic,
        partition: row.partition,
        offset: row.offset,
        key: row.key === null ? null : Buffer.from(row.key).toString("utf8"),
        value: row.value === null ? null : Buffer.from(row.value).toString("utf8"),
        recordTimestamp: row.timestamp,
        timestampType: row.timestampTypeName,
        eventTime: context.timestamp,
      });
    },
  };
  rows.apply(label, ParDo.of(fn));
}

export async function until(predicate: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Per partition, the values in the order the pipeline emitted them. */
export function byPartition(seen: readonly SeenRecord[]): Map<number, SeenRecord[]> {
  const out = new Map<number, SeenRecord[]>();
  for (const r of seen) {
    const list = out.get(r.partition);
    if (list) list.push(r);
    else out.set(r.partition, [r]);
  }
  return out;
}

/**
 * The pipeline emitted exactly `expected` (as a multiset of partition/key/value), each partition in offset order with
 * offsets `firstOffset[p]`, `firstOffset[p] + 1`, ... (no gap, no duplicate).
 */
export function assertExactly(
  seen: readonly SeenRecord[],
  expected: readonly ProducedRecord[],
  firstOffset: (p: number) => bigint = () => 0n,
): void {
  assert.is(seen.length, expected.length, "record count");
  const want = byPartition(
    expected.map((r) => ({
      topic: "",
      partition: r.partition,
      offset: 0n,
      key: r.key,
      value: r.value,
      recordTimestamp: 0n,
      timestampType: "",
      eventTime: 0n,
    })),
  );
  const got = byPartition(seen);
  assert.equal([...got.keys()].sort(), [...want.keys()].sort(), "partitions read");
  for (const [partition, records] of want) {
    const actual = got.get(partition)!;
    const start = firstOffset(partition);
    actual.forEach((r, i) => {
      if (r.offset !== start + BigInt(i))
        assert.unreachable(`partition ${partition}: record ${i} has offset ${r.offset}, expected ${start + BigInt(i)}`);
    });
    assert.equal(
      actual.map((r) => `${r.key}=${r.value}`),
      records.map((r) => `${r.key}=${r.value}`),
      `partition ${partition} in order`,
    );
  }
}

export type ReadOptions = Omit<ReadFromKafkaOptions, "consumerConfig"> & { consumerConfig?: Record<string, string> };

/** A pipeline reading rows with metadata (from earliest unless the options say otherwise) into `seen`. */
export function readPipeline(bootstrap: string, options: ReadOptions, seen: SeenRecord[]) {
  const pipeline = Pipeline.create();
  const rows = pipeline.apply(
    readFromKafka({
      ...options,
      consumerConfig: { "bootstrap.servers": bootstrap, "auto.offset.reset": "earliest", ...options.consumerConfig },
      withMetadata: true,
    }),
  );
  collectRows(rows, seen);
  return { pipeline, rows };
}
