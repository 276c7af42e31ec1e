// The read's public pieces and its native API transform.
import { PTransform, PCollection, PBegin, Impulse, ParDo, type ExpandContext } from "../../pipeline/index.js";
import { readSpecFromOptions, type ReadFromKafkaOptions, type ReadSpec } from "./spec.js";
import { SourceDescriptorsDoFn } from "./descriptors-dofn.js";
import { ReadFromKafkaDoFn } from "./read-dofn.js";
import type { KafkaRecordRow } from "./record-row.js";

export { readSpecFromOptions, isBoundedRead, READ_DEFAULTS } from "./spec.js";
export type { ReadFromKafkaOptions, ReadSpec, TimestampPolicyName, TopicPartitionRef } from "./spec.js";
export { SourceDescriptorsDoFn } from "./descriptors-dofn.js";
export { ReadFromKafkaDoFn } from "./read-dofn.js";
export type { ReadBounds } from "./read-dofn.js";
export { kafkaRecordRowSchema, TIMESTAMP_TYPE_IDS, TIMESTAMP_TYPE_NAMES } from "./record-row.js";
export type { KafkaRecordRow } from "./record-row.js";
export { encodeSourceDescriptor, decodeSourceDescriptor } from "./source-descriptor.js";
export type { SourceDescriptor } from "./source-descriptor.js";
export { readOutputCoder, restrictionWithWatermarkCoder, sourceDescriptorCoder } from "./coders.js";
export { allocateRecords } from "./start-offsets.js";

/** A key/value record as a read without metadata emits it (values per deserializer; null for tombstones). */
export interface KafkaKV<K = Buffer, V = Buffer> {
  readonly key: K | null;
  readonly value: V | null;
}

/** Impulse → source descriptors → the read SDF: the same graph the expansion service builds for other SDKs. */
export class ReadFromKafka<T> extends PTransform<PBegin, PCollection<T>> {
  readonly spec: ReadSpec;
  constructor(options: ReadFromKafkaOptions, label = "ReadFromKafka") {
    super(label);
    this.spec = readSpecFromOptions(options);
  }

  expand(input: PBegin, _context: ExpandContext): PCollection<T> {
    return input.pipeline
      .apply("Impulse", new Impulse())
      .apply("SourceDescriptors", ParDo.of(new SourceDescriptorsDoFn(this.spec)))
      .apply("Read", ParDo.of(new ReadFromKafkaDoFn(this.spec))) as PCollection<T>;
  }
}

/** Reads Kafka in a TypeScript pipeline: `p.apply(readFromKafka({ consumerConfig, topics, ... }))`. */
export function readFromKafka(options: ReadFromKafkaOptions & { withMetadata: true }): ReadFromKafka<KafkaRecordRow>;
export function readFromKafka<K = Buffer, V = Buffer>(options: ReadFromKafkaOptions): ReadFromKafka<KafkaKV<K, V>>;
export function readFromKafka(options: ReadFromKafkaOptions): ReadFromKafka<unknown> {
  return new ReadFromKafka(options);
}
