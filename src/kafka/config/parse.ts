// Java-style consumer and producer config maps → frozen, validated options. Defaults are Kafka 4.x's unless a
// comment says why not. Keys that cannot apply to a group-less, never-auto-committing reader get a note; Java class
// names that would change behaviour are refused; unknown keys are warned about once.
import { parseConnection } from "./connection.js";
import { ConfigReader, consoleLogger } from "./reader.js";
import { resolveReferences } from "./references.js";
import type { SecretSealer } from "./sealing.js";
import type {
  Acks,
  AutoOffsetReset,
  CompressionType,
  ConsumerOptions,
  IsolationLevel,
  KafkaConfigMap,
  KafkaLogger,
  ProducerOptions,
} from "./types.js";

export interface ParseOptions {
  /** Receives notes (info) and unknown-key warnings (warn), each once per key and logger. Default: console.warn. */
  readonly logger?: KafkaLogger;
  /**
   * Compression codecs beyond gzip this process has (the client's `registeredCompressionCodecs()`: snappy and lz4
   * always, zstd where Node's zlib has it); those not listed are refused. Default: all. The client checks again when
   * it starts, in the process that sends.
   */
  readonly availableCodecs?: readonly CompressionType[];
  /** Why a codec is not available (the client's `missingCodecReason`); default: "not available in this process". */
  readonly missingCodecReason?: (codec: CompressionType) => string;
  /**
   * `resolve` (default, where a client is made): `${provider:...}` references are replaced by their values first.
   * `defer` (validating a spec, perhaps on a machine without the files or variables): values holding references
   * are checked on the worker instead.
   */
  readonly references?: "resolve" | "defer";
  /** Opens sealed secrets when resolving (default: the key file in KBT_SECRETS_KEY_FILE). */
  readonly sealer?: () => SecretSealer | undefined;
}

function configReader(config: KafkaConfigMap, options: ParseOptions): ConfigReader {
  const logger = options.logger ?? consoleLogger;
  if (options.references === "defer") return new ConfigReader(config, logger, { deferReferences: true });
  return new ConfigReader(
    resolveReferences(config, { logger, ...(options.sealer ? { sealer: options.sealer } : {}) }),
    logger,
  );
}

const AUTO_OFFSET_RESETS: readonly AutoOffsetReset[] = ["earliest", "latest", "none"];
const ISOLATION_LEVELS: readonly IsolationLevel[] = ["read_uncommitted", "read_committed"];
const COMPRESSION_TYPES: readonly CompressionType[] = ["none", "gzip", "snappy", "lz4", "zstd"];
const INT32_MAX = 2_147_483_647;

const CONSUMER_NOTES: Readonly<Record<string, string>> = {
  "enable.auto.commit":
    "offsets are never auto-committed; they are committed on bundle finalization (commit_offset_in_finalize)",
  "auto.commit.interval.ms": "offsets are never auto-committed",
  "session.timeout.ms": "partitions are read without joining a consumer group",
  "heartbeat.interval.ms": "partitions are read without joining a consumer group",
  "max.poll.interval.ms": "partitions are read without joining a consumer group",
  "partition.assignment.strategy": "partitions are assigned by the runner's splits, not by a consumer group",
  "group.protocol": "partitions are read without joining a consumer group",
  "group.remote.assignor": "partitions are read without joining a consumer group",
  "group.instance.id": "partitions are read without joining a consumer group",
  "key.deserializer": "the transform's key_deserializer decides",
  "value.deserializer": "the transform's value_deserializer decides",
  "client.rack": "records are always fetched from partition leaders",
  "enable.metrics.push": "metrics are reported by the connector",
};

const PRODUCER_NOTES: Readonly<Record<string, string>> = {
  "key.serializer": "the transform's key_serializer decides",
  "value.serializer": "the transform's value_serializer decides",
  "buffer.memory": "records are buffered per bundle and bounded by batch.size and in-flight sends",
  "compression.gzip.level": "kafkajs compresses gzip at zlib's default level",
  "compression.lz4.level": "the registered codec chooses its level",
  "compression.zstd.level": "the registered codec chooses its level",
  "partitioner.adaptive.partitioning.enable": "unkeyed records are spread by the client's partitioner",
  "partitioner.availability.timeout.ms": "unkeyed records are spread by the client's partitioner",
  "enable.metrics.push": "metrics are reported by the connector",
};

const DEFAULT_PARTITIONERS = new Set([
  "org.apache.kafka.clients.producer.internals.DefaultPartitioner",
  "org.apache.kafka.clients.producer.internals.BuiltInPartitioner",
]);

function freezeWithoutUndefined<T extends object>(value: T): Readonly<T> {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key];
  return Object.freeze(value);
}

/** Consumer config (`ReadFromKafka(consumer_config=...)`) → ConsumerOptions. Throws KafkaConfigError naming the key. */
export function parseConsumerConfig(config: KafkaConfigMap, options: ParseOptions = {}): ConsumerOptions {
  const reader = configReader(config, options);
  const connection = parseConnection(reader, { requestTimeoutMs: 30_000 });
  const maxPartitionFetchBytes = reader.int("max.partition.fetch.bytes", 1_048_576, { min: 1 });
  const consumer: ConsumerOptions = {
    ...connection,
    kind: "consumer",
    groupId: reader.string("group.id"),
    autoOffsetReset: reader.oneOf("auto.offset.reset", AUTO_OFFSET_RESETS, "latest"),
    isolationLevel: reader.oneOf("isolation.level", ISOLATION_LEVELS, "read_uncommitted"),
    fetchMaxBytes: reader.int("fetch.max.bytes", 52_428_800, { min: 1 }),
    maxPartitionFetchBytes,
    fetchMinBytes: reader.int("fetch.min.bytes", 1),
    fetchMaxWaitMs: reader.int("fetch.max.wait.ms", 500),
    maxPollRecords: reader.int("max.poll.records", 500, { min: 1 }),
    defaultApiTimeoutMs: reader.int("default.api.timeout.ms", 60_000),
    allowAutoTopicCreation: reader.bool("allow.auto.create.topics", false),
    excludeInternalTopics: reader.bool("exclude.internal.topics", true),
    checkCrcs: reader.bool("check.crcs", true),
  };
  reader.noteIgnored(CONSUMER_NOTES);
  reader.warnUnknown("consumer");
  return freezeWithoutUndefined(consumer);
}

/** Producer config (`WriteToKafka(producer_config=...)`) → ProducerOptions. Throws KafkaConfigError naming the key. */
export function parseProducerConfig(config: KafkaConfigMap, options: ParseOptions = {}): ProducerOptions {
  const reader = configReader(config, options);
  const connection = parseConnection(reader, { requestTimeoutMs: 30_000 });

  const acksText = reader.oneOf("acks", ["all", "-1", "0", "1"] as const, "all");
  const acks: Acks = acksText === "0" ? 0 : acksText === "1" ? 1 : -1;

  const compression = reader.oneOf("compression.type", COMPRESSION_TYPES, "none");
  const available = new Set<CompressionType>(["none", "gzip", ...(options.availableCodecs ?? COMPRESSION_TYPES)]);
  if (!available.has(compression)) {
    reader.fail(
      "compression.type",
      `${compression}: ${options.missingCodecReason?.(compression) ?? "not available in this process"}`,
    );
  }

  const maxInFlightRequests = reader.int("max.in.flight.requests.per.connection", 5, { min: 1 });
  const retries = reader.int("retries", INT32_MAX);
  const transactionalId = reader.string("transactional.id");
  const explicitIdempotence = reader.has("enable.idempotence") ? reader.bool("enable.idempotence", true) : undefined;
  // Like Kafka >= 3.2: idempotence is on by default, quietly off when other keys rule it out, an error when asked
  // for explicitly (or needed by transactions) together with a conflicting key.
  const conflict =
    acks !== -1
      ? (["acks", "idempotence needs acks=all"] as const)
      : maxInFlightRequests > 5
        ? (["max.in.flight.requests.per.connection", "idempotence allows at most 5"] as const)
        : retries === 0
          ? (["retries", "idempotence needs retries > 0"] as const)
          : undefined;
  if (conflict && (explicitIdempotence === true || transactionalId !== undefined)) {
    reader.fail(conflict[0], `${conflict[1]}${transactionalId !== undefined ? " (transactional.id is set)" : ""}`);
  }
  if (transactionalId !== undefined && explicitIdempotence === false) {
    reader.fail("enable.idempotence", "cannot be false when transactional.id is set");
  }
  const idempotent = explicitIdempotence ?? conflict === undefined;

  const lingerMs = reader.int("linger.ms", 5);
  const requestTimeoutMs = connection.requestTimeoutMs;
  const deliveryTimeoutMs = reader.int("delivery.timeout.ms", 120_000, { min: 1 });
  if (deliveryTimeoutMs < lingerMs + requestTimeoutMs) {
    reader.fail(
      "delivery.timeout.ms",
      `must be at least linger.ms + request.timeout.ms (${lingerMs + requestTimeoutMs})`,
    );
  }

  const partitioner = reader.string("partitioner.class");
  if (partitioner !== undefined && !DEFAULT_PARTITIONERS.has(partitioner)) {
    reader.fail("partitioner.class", "Java partitioners cannot run here: use the transform's partitioner function");
  }
  if (reader.bool("partitioner.ignore.keys", false)) {
    reader.fail("partitioner.ignore.keys", "true is not supported: keyed records are partitioned by key hash");
  }

  const producer: ProducerOptions = {
    ...connection,
    kind: "producer",
    retry: Object.freeze({ ...connection.retry, retries }),
    // Kafka's producer always asks for a missing topic with auto-creation allowed: the broker decides.
    allowAutoTopicCreation: true,
    acks,
    compression,
    lingerMs,
    // Java's 16 KiB is per partition batch; here it bounds a whole send (one request per broker), so the default
    // is larger. An explicit value is honoured as given.
    batchSize: reader.int("batch.size", 1_048_576, { min: 1 }),
    idempotent,
    transactionalId,
    transactionTimeoutMs: reader.int("transaction.timeout.ms", 60_000, { min: 1 }),
    maxInFlightRequests,
    deliveryTimeoutMs,
    maxBlockMs: reader.int("max.block.ms", 60_000),
    maxRequestSize: reader.int("max.request.size", 1_048_576, { min: 1 }),
  };
  reader.noteIgnored(PRODUCER_NOTES);
  reader.warnUnknown("producer");
  return freezeWithoutUndefined(producer);
}
