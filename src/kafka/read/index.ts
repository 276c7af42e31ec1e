// The read's public pieces and its native API transform.
import {
  PTransform,
  type PCollection,
  type PBegin,
  Impulse,
  ParDo,
  MAIN_OUTPUT,
  type ExpandContext,
} from "../../pipeline/index.js";
import { KafkaConfigError } from "../errors.js";
import {
  discoversPartitions,
  readSpecFromOptions,
  type ReadFromKafkaOptions,
  type ReadSpec,
  type TimestampFn,
} from "./spec.js";
import { SourceDescriptorsDoFn } from "./descriptors-dofn.js";
import { ReadFromKafkaDoFn, DEAD_LETTER_TAG, type KafkaDeadLetter } from "./read-dofn.js";
import { PartitionDiscoveryDoFn } from "./discovery-dofn.js";
import type { KafkaRecordRow } from "./record-row.js";
import { RedistributeRecords, redistributeSpec, type RedistributeSpec } from "./redistribute.js";

export { readSpecFromOptions, isBoundedRead, discoversPartitions, READ_DEFAULTS } from "./spec.js";
export type { ReadFromKafkaOptions, ReadSpec, TimestampFn, TimestampPolicyName, TopicPartitionRef } from "./spec.js";
export { SourceDescriptorsDoFn } from "./descriptors-dofn.js";
export { ReadFromKafkaDoFn, DEAD_LETTER_TAG } from "./read-dofn.js";
export type { KafkaDeadLetter } from "./read-dofn.js";
export { partitionReadGauges } from "./partition-gauges.js";
export type { PartitionReadGauge } from "./partition-gauges.js";
export {
  PartitionDiscoveryDoFn,
  DiscoveryTracker,
  discoveryRestrictionCoder,
  discoveryRestrictionWithWatermarkCoder,
} from "./discovery-dofn.js";
export type { DiscoveryRestriction } from "./discovery-dofn.js";
export type { ReadBounds } from "./read-dofn.js";
export { kafkaRecordRowSchema, TIMESTAMP_TYPE_IDS, TIMESTAMP_TYPE_NAMES } from "./record-row.js";
export type { KafkaRecordRow } from "./record-row.js";
export { encodeSourceDescriptor, decodeSourceDescriptor } from "./source-descriptor.js";
export type { SourceDescriptor } from "./source-descriptor.js";
export { readOutputCoder, restrictionWithWatermarkCoder, sourceDescriptorCoder } from "./coders.js";
export { allocateRecords } from "./start-offsets.js";
export {
  RedistributeKeyDoFn,
  RedistributedValuesDoFn,
  RedistributeRecords,
  redistributeSpec,
  keyedRecordCoder,
  groupedRecordsCoder,
  DEFAULT_REDISTRIBUTE_KEYS,
} from "./redistribute.js";
export type { RedistributeSpec, KeyedRecord } from "./redistribute.js";

/** A key/value record as a read without metadata emits it (values per deserializer; null for tombstones). */
export interface KafkaKV<K = Buffer, V = Buffer> {
  readonly key: K | null;
  readonly value: V | null;
}

/** Impulse → source descriptors → the read SDF: the same graph the expansion service builds for other SDKs. */
export class ReadFromKafka<T> extends PTransform<PBegin, PCollection<T>> {
  readonly spec: ReadSpec;
  private readonly timestampFn: TimestampFn | undefined;
  private readonly redistribute: RedistributeSpec | undefined;
  constructor(options: ReadFromKafkaOptions, label = "ReadFromKafka") {
    super(label);
    this.spec = readSpecFromOptions(options);
    this.timestampFn = options.timestampFn;
    this.redistribute = redistributeOf(options);
  }

  expand(input: PBegin, _context: ExpandContext): PCollection<T> {
    if (this.spec.deadLetters)
      throw new KafkaConfigError(
        "deadLetters",
        "use readFromKafkaWithDeadLetters, which returns the dead-letter output",
      );
    const read = new ReadFromKafkaDoFn(this.spec, undefined, this.timestampFn);
    return redistributed(descriptorsOf(input, this.spec).apply("Read", ParDo.of(read)), read, this.redistribute);
  }
}

function redistributeOf(options: ReadFromKafkaOptions): RedistributeSpec | undefined {
  const r = options.redistribute;
  return r === undefined ? undefined : redistributeSpec(r.numKeys, r.byRecordKey);
}

/** The records, redistributed when asked for. */
function redistributed<T>(
  records: PCollection<unknown>,
  read: ReadFromKafkaDoFn,
  redistribute: RedistributeSpec | undefined,
): PCollection<T> {
  if (redistribute === undefined) return records as PCollection<T>;
  return records.apply(new RedistributeRecords(redistribute, read.outputCoder)) as PCollection<T>;
}

function descriptorsOf(input: PBegin, spec: ReadSpec): PCollection<Uint8Array> {
  const descriptors = discoversPartitions(spec) ? new PartitionDiscoveryDoFn(spec) : new SourceDescriptorsDoFn(spec);
  return input.pipeline
    .apply("Impulse", new Impulse())
    .apply("SourceDescriptors", ParDo.of<Uint8Array, Uint8Array>(descriptors));
}

/** What readFromKafkaWithDeadLetters returns: the read's usual output, and the records that failed to deserialize. */
export interface ReadWithDeadLetters<T> {
  readonly records: PCollection<T>;
  /** Records whose key or value failed to deserialize, with the error; their offsets count as read. */
  readonly deadLetters: PCollection<KafkaDeadLetter>;
}

/** The read with a second output for records that fail to deserialize (instead of failing the pipeline). */
export class ReadFromKafkaWithDeadLetters<T> extends PTransform<PBegin, ReadWithDeadLetters<T>> {
  readonly spec: ReadSpec;
  private readonly timestampFn: TimestampFn | undefined;
  private readonly redistribute: RedistributeSpec | undefined;
  constructor(options: ReadFromKafkaOptions, label = "ReadFromKafka") {
    super(label);
    this.spec = readSpecFromOptions({ ...options, deadLetters: true });
    this.timestampFn = options.timestampFn;
    this.redistribute = redistributeOf(options);
  }

  expand(input: PBegin, _context: ExpandContext): ReadWithDeadLetters<T> {
    const read = new ReadFromKafkaDoFn(this.spec, undefined, this.timestampFn);
    const outputs = descriptorsOf(input, this.spec).apply(
      "Read",
      ParDo.of(read).withOutputs(MAIN_OUTPUT, [DEAD_LETTER_TAG]),
    );
    return {
      records: redistributed(outputs[MAIN_OUTPUT]!, read, this.redistribute),
      deadLetters: outputs[DEAD_LETTER_TAG] as PCollection<KafkaDeadLetter>,
    };
  }
}

/** `p.apply(readFromKafkaWithDeadLetters({...}))` → `{ records, deadLetters }`. */
export function readFromKafkaWithDeadLetters<K = Buffer, V = Buffer>(
  options: ReadFromKafkaOptions,
): ReadFromKafkaWithDeadLetters<KafkaKV<K, V>> {
  return new ReadFromKafkaWithDeadLetters(options);
}

/** Reads Kafka in a TypeScript pipeline: `p.apply(readFromKafka({ consumerConfig, topics, ... }))`. */
export function readFromKafka(options: ReadFromKafkaOptions & { withMetadata: true }): ReadFromKafka<KafkaRecordRow>;
export function readFromKafka<K = Buffer, V = Buffer>(options: ReadFromKafkaOptions): ReadFromKafka<KafkaKV<K, V>>;
export function readFromKafka(options: ReadFromKafkaOptions): ReadFromKafka<unknown> {
  return new ReadFromKafka(options);
}
