// What a Kafka read is asked to do, validated once at the edge (native API or expansion payload) into a frozen
// spec. The spec is plain JSON-able data: the expansion service puts it in the DoFn payload and the worker reads it
// back, so foreign pipelines and native ones run the same read.
import { KafkaConfigError } from "../errors.js";
import { parseConsumerConfig } from "../config/index.js";
import { resolveSerdeFormat, type SerdeFormat } from "../serde.js";
import type { KafkaRecord } from "../client/index.js";

/**
 * How a read sets each record's event time: "ProcessingTime" (default) the time it is read, the watermark following
 * wall time; "CreateTime" / "LogAppendTime" the record's Kafka timestamp, the watermark trailing the newest by
 * maxOutOfOrderDelayMs. LogAppendTime fails the read on a record whose topic does not use that timestamp type.
 */
export type TimestampPolicyName = "ProcessingTime" | "CreateTime" | "LogAppendTime";

/**
 * A custom event time for each record (Beam's custom TimestampPolicy): ms since the epoch. The watermark trails the
 * newest timestamp by maxOutOfOrderDelayMs, and idle partitions advance it as for CreateTime. A function cannot
 * travel in a payload: a read with one runs in-process only (the local runner), not on a Fn API worker.
 */
export type TimestampFn = (record: KafkaRecord, topic: string, partition: number) => bigint | number;

export interface TopicPartitionRef {
  readonly topic: string;
  readonly partition: number;
}

/** Options as users write them (native TS API). Kafka config keys are Kafka's own. */
export interface ReadFromKafkaOptions {
  readonly consumerConfig: Readonly<Record<string, string>>;
  /** Read every partition of these topics (new partitions are discovered when partitionDiscoveryIntervalMs is set). */
  readonly topics?: readonly string[];
  /** Or exactly these partitions. */
  readonly topicPartitions?: readonly TopicPartitionRef[];
  /** Or every topic whose name matches this regular expression (source text). */
  readonly topicPattern?: string;
  /** "bytes" (default), "string", "json", "long", "int", or a Java Deserializer class name. */
  readonly keyDeserializer?: string;
  readonly valueDeserializer?: string;
  /** Start at the first offset whose timestamp is >= this (ms since epoch); else the group's committed offset, else auto.offset.reset. */
  readonly startReadTime?: number | bigint;
  /** Stop before the first record whose timestamp is >= this (ms since epoch): a bounded read. */
  readonly stopReadTime?: number | bigint;
  /** Read up to the end offsets seen when the read starts, then finish: a bounded read. */
  readonly stopAtEndOffsets?: boolean;
  /** Stop after this many records in total. */
  readonly maxNumRecords?: number | bigint;
  /** Stop after this long (ms). */
  readonly maxReadTimeMs?: number;
  /** Commit the offsets of finalized bundles to group.id (needs group.id). */
  readonly commitOffsetsInFinalize?: boolean;
  readonly timestampPolicy?: TimestampPolicyName;
  /** A custom event time per record, instead of timestampPolicy (in-process pipelines only). */
  readonly timestampFn?: TimestampFn;
  /** CreateTime: how far behind the newest create time the watermark trails (out-of-order tolerance). */
  readonly maxOutOfOrderDelayMs?: number;
  /** A partition with no new records for this long advances its watermark to wall time minus the delay. */
  readonly idlePartitionTimeoutMs?: number;
  /** Emit rows with topic/partition/offset/timestamp/headers instead of key/value pairs. */
  readonly withMetadata?: boolean;
  /** How long one fetch may wait on the broker for data (consumer_polling_timeout). */
  readonly pollTimeoutMs?: number;
  /** Look for new partitions this often; off when undefined. */
  readonly partitionDiscoveryIntervalMs?: number;
  /** Resume delay after a fetch returned nothing. */
  readonly emptyPollResumeDelayMs?: number;
  /**
   * Records whose key or value fail to deserialize go to a dead-letter output (record + error) instead of failing
   * the read. Set by readFromKafkaWithDeadLetters, which returns that output.
   */
  readonly deadLetters?: boolean;
  /**
   * Shuffle the records after the read (Beam's Redistribute), so the steps after it can run on more workers than
   * the topic has partitions: over `numKeys` keys (default 1024), round-robin or by the record key's hash. A portable
   * runner that runs the subtransforms (Flink) shuffles; Prism and the local runner pass the records through.
   */
  readonly redistribute?: { readonly numKeys?: number; readonly byRecordKey?: boolean };
}

/** The validated, JSON-able form. bigint values are decimal strings. */
export interface ReadSpec {
  readonly consumerConfig: Readonly<Record<string, string>>;
  readonly topics: readonly string[];
  readonly topicPartitions: readonly TopicPartitionRef[];
  readonly topicPattern: string | null;
  readonly keyFormat: SerdeFormat;
  readonly valueFormat: SerdeFormat;
  readonly startReadTime: string | null;
  readonly stopReadTime: string | null;
  readonly stopAtEndOffsets: boolean;
  readonly maxNumRecords: string | null;
  readonly maxReadTimeMs: number | null;
  readonly commitOffsetsInFinalize: boolean;
  /** "Custom" when the native API was given a timestampFn (it is not part of the spec). */
  readonly timestampPolicy: TimestampPolicyName | "Custom";
  readonly maxOutOfOrderDelayMs: number;
  readonly idlePartitionTimeoutMs: number;
  readonly withMetadata: boolean;
  readonly pollTimeoutMs: number;
  readonly partitionDiscoveryIntervalMs: number | null;
  readonly emptyPollResumeDelayMs: number;
  readonly deadLetters: boolean;
}

export const READ_DEFAULTS = Object.freeze({
  timestampPolicy: "ProcessingTime" as TimestampPolicyName,
  maxOutOfOrderDelayMs: 0,
  idlePartitionTimeoutMs: 2_000,
  pollTimeoutMs: 2_000,
  emptyPollResumeDelayMs: 100,
});

const POLICIES: readonly TimestampPolicyName[] = ["ProcessingTime", "CreateTime", "LogAppendTime"];

function nonNegativeInt(field: string, value: number | bigint | undefined): bigint | null {
  if (value === undefined || value === null) return null;
  const big = typeof value === "bigint" ? value : Number.isInteger(value) ? BigInt(value) : null;
  if (big === null || big < 0n)
    throw new KafkaConfigError(field, `must be a non-negative integer, got ${String(value)}`);
  return big;
}

function positiveMs(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (!Number.isFinite(value) || value < 0)
    throw new KafkaConfigError(field, `must be a non-negative number of ms, got ${value}`);
  return value;
}

/** Validates options into a frozen spec; throws KafkaConfigError naming the option. */
export function readSpecFromOptions(options: ReadFromKafkaOptions): ReadSpec {
  const consumerConfig = { ...options.consumerConfig };
  // Validates bootstrap.servers, security and fetch settings once; the worker parses the same map again.
  parseConsumerConfig(consumerConfig, { logger: () => undefined, references: "defer" });

  const topics = [...(options.topics ?? [])];
  const topicPartitions = [...(options.topicPartitions ?? [])].map((tp) => ({
    topic: tp.topic,
    partition: tp.partition,
  }));
  const topicPattern = options.topicPattern ?? null;
  const sources = [topics.length > 0, topicPartitions.length > 0, topicPattern !== null].filter(Boolean).length;
  if (sources === 0) throw new KafkaConfigError("topics", "give topics, topicPartitions or topicPattern");
  if (sources > 1) throw new KafkaConfigError("topics", "give only one of topics, topicPartitions or topicPattern");
  topics.forEach((t, i) => {
    if (typeof t !== "string" || t.length === 0)
      throw new KafkaConfigError(`topics[${i}]`, "must be a non-empty topic name");
  });
  topicPartitions.forEach((tp, i) => {
    if (!tp.topic) throw new KafkaConfigError(`topicPartitions[${i}].topic`, "must be a non-empty topic name");
    if (!Number.isInteger(tp.partition) || tp.partition < 0) {
      throw new KafkaConfigError(
        `topicPartitions[${i}].partition`,
        `must be a partition number >= 0, got ${tp.partition}`,
      );
    }
  });
  if (topicPattern !== null) {
    try {
      new RegExp(topicPattern);
    } catch (err) {
      throw new KafkaConfigError("topicPattern", `not a valid regular expression: ${(err as Error).message}`);
    }
  }

  const namedPolicy = options.timestampPolicy ?? READ_DEFAULTS.timestampPolicy;
  if (!POLICIES.includes(namedPolicy)) {
    throw new KafkaConfigError(
      "timestampPolicy",
      `must be one of ${POLICIES.join(", ")}, got ${JSON.stringify(namedPolicy)}`,
    );
  }
  if (options.timestampFn !== undefined && typeof options.timestampFn !== "function") {
    throw new KafkaConfigError("timestampFn", "must be a function (record, topic, partition) => ms");
  }
  if (options.timestampFn !== undefined && options.timestampPolicy !== undefined) {
    throw new KafkaConfigError("timestampFn", "give either timestampPolicy or timestampFn, not both");
  }
  const timestampPolicy = options.timestampFn !== undefined ? ("Custom" as const) : namedPolicy;
  const maxNumRecords = nonNegativeInt("maxNumRecords", options.maxNumRecords);
  if (maxNumRecords === 0n) throw new KafkaConfigError("maxNumRecords", "must be at least 1");
  const commitOffsetsInFinalize = options.commitOffsetsInFinalize ?? false;
  if (commitOffsetsInFinalize && !consumerConfig["group.id"]) {
    throw new KafkaConfigError("commitOffsetsInFinalize", "needs group.id in the consumer config");
  }
  const startReadTime = nonNegativeInt("startReadTime", options.startReadTime);
  const stopReadTime = nonNegativeInt("stopReadTime", options.stopReadTime);
  if (startReadTime !== null && stopReadTime !== null && stopReadTime < startReadTime) {
    throw new KafkaConfigError("stopReadTime", "must not be before startReadTime");
  }

  return Object.freeze({
    consumerConfig: Object.freeze(consumerConfig),
    topics: Object.freeze(topics),
    topicPartitions: Object.freeze(topicPartitions),
    topicPattern,
    keyFormat: resolveSerdeFormat("keyDeserializer", options.keyDeserializer ?? "bytes", "deserializer"),
    valueFormat: resolveSerdeFormat("valueDeserializer", options.valueDeserializer ?? "bytes", "deserializer"),
    startReadTime: startReadTime?.toString() ?? null,
    stopReadTime: stopReadTime?.toString() ?? null,
    stopAtEndOffsets: options.stopAtEndOffsets ?? false,
    maxNumRecords: maxNumRecords?.toString() ?? null,
    maxReadTimeMs: options.maxReadTimeMs === undefined ? null : positiveMs("maxReadTimeMs", options.maxReadTimeMs, 0),
    commitOffsetsInFinalize,
    timestampPolicy,
    maxOutOfOrderDelayMs: positiveMs(
      "maxOutOfOrderDelayMs",
      options.maxOutOfOrderDelayMs,
      READ_DEFAULTS.maxOutOfOrderDelayMs,
    ),
    idlePartitionTimeoutMs: positiveMs(
      "idlePartitionTimeoutMs",
      options.idlePartitionTimeoutMs,
      READ_DEFAULTS.idlePartitionTimeoutMs,
    ),
    withMetadata: options.withMetadata ?? false,
    pollTimeoutMs: positiveMs("pollTimeoutMs", options.pollTimeoutMs, READ_DEFAULTS.pollTimeoutMs),
    partitionDiscoveryIntervalMs:
      options.partitionDiscoveryIntervalMs === undefined
        ? null
        : positiveMs("partitionDiscoveryIntervalMs", options.partitionDiscoveryIntervalMs, 0),
    emptyPollResumeDelayMs: positiveMs(
      "emptyPollResumeDelayMs",
      options.emptyPollResumeDelayMs,
      READ_DEFAULTS.emptyPollResumeDelayMs,
    ),
    deadLetters: options.deadLetters ?? false,
  });
}

/** True when the read finishes on its own (the output PCollection is bounded). */
export function isBoundedRead(spec: ReadSpec): boolean {
  return (
    spec.stopAtEndOffsets || spec.stopReadTime !== null || spec.maxNumRecords !== null || spec.maxReadTimeMs !== null
  );
}

/**
 * True when the read's first step keeps looking for new partitions: an unbounded read of topics (or a pattern) with
 * a discovery interval. Bounded reads fix their partitions and end offsets at start.
 */
export function discoversPartitions(spec: ReadSpec): boolean {
  return spec.partitionDiscoveryIntervalMs !== null && spec.topicPartitions.length === 0 && !isBoundedRead(spec);
}
