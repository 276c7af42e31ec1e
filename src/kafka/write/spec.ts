// What a Kafka write is asked to do, validated once at the edge into a frozen JSON-able spec (see read/spec.ts).
// The spec travels inside the DoFn payload to the Fn API worker, which checks it again with parseWriteSpec: a
// payload is data from another process, not a value this code made.
import { KafkaConfigError } from "../errors.js";
import { parseProducerConfig } from "../config/index.js";
import { missingCodecReason, registeredCompressionCodecs } from "../client/index.js";
import { resolveSerdeFormat, type SerdeFormat } from "../serde.js";

/**
 * Where a record's Kafka timestamp comes from when the record itself (a row's `timestamp`, a native timestamp
 * function) does not say: "producer" lets the producer stamp the send time (Kafka's CreateTime default, and Java
 * KafkaIO's); "element" uses the element's event timestamp (Java's `withInputTimestamp()`).
 */
export type WriteTimestampPolicy = "producer" | "element";

/** The exactly-once sink's options (WriteToKafkaOptions.exactlyOnce): shards, the sink group, stable input. */
export interface ExactlyOnceOptions {
  /** Fixed number of shards; each writes through its own transactional producer. Keep it stable across restarts. */
  readonly numShards: number;
  /** Consumer group whose offset metadata holds each shard's committed sequence (one group per sink). */
  readonly sinkGroupId: string;
  /**
   * Topic whose partition <shard> carries shard <shard>'s metadata in the sink group (needs >= numShards
   * partitions). Default: the write's topic.
   */
  readonly metadataTopic?: string;
  /**
   * Declare the transactions step `requires_stable_input` (default true), as Java's exactly-once sink does: a runner
   * that replays input after a failure then hands the step the same batches again. Without it, Flink restoring a
   * checkpoint re-reads records that a transaction may already have committed; given new processing-time timestamps
   * they form new batches, and are written twice. Flink holds each batch until the checkpoint holding it completes
   * (it needs checkpointing, and refuses the job without). Prism 2.77 refuses pipelines that require stable input:
   * set false there (it restores nothing, so it replays nothing).
   */
  readonly requiresStableInput?: boolean;
}

/** Options as users write them (native TS API). Kafka config keys are Kafka's own. */
export interface WriteToKafkaOptions {
  /**
   * Kafka producer config, Java keys (`bootstrap.servers` required; `acks`, `linger.ms`, ...). Validated once: a bad
   * value throws KafkaConfigError naming the key. `transactional.id` is allowed only with exactlyOnce.
   */
  readonly producerConfig: Readonly<Record<string, string>>;
  /** Default topic; a record may name its own (dynamic destinations). */
  readonly topic?: string;
  /** "bytes" (default), "string", "json", "long", "int", or a Java Serializer class name. */
  readonly keySerializer?: string;
  /** Same choices as keySerializer, for the value. */
  readonly valueSerializer?: string;
  /** Default "producer". */
  readonly timestampPolicy?: WriteTimestampPolicy;
  /**
   * Exactly-once: write through Kafka transactions in this many shards. `producer_config['transactional.id']`,
   * if set, is the prefix of the shards' transactional ids (`<prefix>-<shard>`); default `kbt-sink-<sinkGroupId>`.
   */
  readonly exactlyOnce?: ExactlyOnceOptions;
}

export interface ExactlyOnceSpec {
  readonly numShards: number;
  readonly sinkGroupId: string;
  readonly metadataTopic: string;
  readonly transactionalIdPrefix: string;
  readonly requiresStableInput: boolean;
}

/**
 * The validated, frozen, JSON-able form of WriteToKafkaOptions (made by writeSpecFromOptions) that the sink's DoFns
 * run from; it travels in their payload. `topic` null: no default topic; `exactlyOnce` null: an at-least-once write.
 */
export interface WriteSpec {
  readonly producerConfig: Readonly<Record<string, string>>;
  readonly topic: string | null;
  readonly keyFormat: SerdeFormat;
  readonly valueFormat: SerdeFormat;
  readonly timestampPolicy: WriteTimestampPolicy;
  readonly exactlyOnce: ExactlyOnceSpec | null;
}

/** Shards a sink may have: each is a producer and a transaction at a time. */
export const MAX_SHARDS = 10_000;
const TIMESTAMP_POLICIES: readonly WriteTimestampPolicy[] = ["producer", "element"];

const silent = (): void => undefined;

/** The transactional id of one shard. */
export function shardTransactionalId(spec: ExactlyOnceSpec, shard: number): string {
  return `${spec.transactionalIdPrefix}-${shard}`;
}

function checkTopicName(key: string, topic: string): void {
  // Kafka's rule: 1..249 characters of [a-zA-Z0-9._-]; "." and ".." are reserved.
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(topic) || topic === "." || topic === "..") {
    throw new KafkaConfigError(key, `${JSON.stringify(topic)} is not a valid topic name (1-249 of a-z A-Z 0-9 . _ -)`);
  }
}

function exactlyOnceSpec(options: WriteToKafkaOptions, topic: string | null): ExactlyOnceSpec | null {
  const eos = options.exactlyOnce;
  const configuredId = options.producerConfig["transactional.id"];
  if (!eos) {
    if (configuredId !== undefined) {
      throw new KafkaConfigError(
        "transactional.id",
        "is the prefix of the exactly-once sink's transactional ids: " +
          "set exactlyOnce (numShards, sinkGroupId) as well; an at-least-once write sends without transactions",
      );
    }
    return null;
  }
  if (!Number.isInteger(eos.numShards) || eos.numShards < 1 || eos.numShards > MAX_SHARDS) {
    throw new KafkaConfigError(
      "exactlyOnce.numShards",
      `must be an integer from 1 to ${MAX_SHARDS}, got ${eos.numShards}`,
    );
  }
  if (typeof eos.sinkGroupId !== "string" || eos.sinkGroupId.length === 0) {
    throw new KafkaConfigError("exactlyOnce.sinkGroupId", "must be a non-empty group id");
  }
  const metadataTopic = eos.metadataTopic ?? topic;
  if (metadataTopic === null) {
    throw new KafkaConfigError(
      "exactlyOnce.metadataTopic",
      "is required when the write has no default topic (it holds the shards' committed sequences)",
    );
  }
  checkTopicName("exactlyOnce.metadataTopic", metadataTopic);
  if (configuredId !== undefined && configuredId.length === 0) {
    throw new KafkaConfigError("transactional.id", "must be a non-empty prefix");
  }
  const requiresStableInput = eos.requiresStableInput ?? true;
  if (typeof requiresStableInput !== "boolean") {
    throw new KafkaConfigError("exactlyOnce.requiresStableInput", `must be true or false, got ${requiresStableInput}`);
  }
  return Object.freeze({
    numShards: eos.numShards,
    sinkGroupId: eos.sinkGroupId,
    metadataTopic,
    transactionalIdPrefix: configuredId ?? `kbt-sink-${eos.sinkGroupId}`,
    requiresStableInput,
  });
}

/**
 * Validates options into a frozen spec; throws KafkaConfigError naming the option or Kafka key. With exactlyOnce the
 * producer config is checked as the shards run it (transactional), so Kafka's idempotence rules (acks=all, retries > 0,
 * <= 5 in flight) are errors instead of quiet downgrades.
 */
export function writeSpecFromOptions(options: WriteToKafkaOptions): WriteSpec {
  const producerConfig = { ...options.producerConfig };
  const topic = options.topic ?? null;
  if (topic !== null) {
    if (topic.length === 0) throw new KafkaConfigError("topic", "must be a non-empty topic name");
    checkTopicName("topic", topic);
  }
  const exactlyOnce = exactlyOnceSpec(options, topic);
  // Validate the config the producers will really run with: a shard's transactional id makes Kafka's idempotence
  // rules (acks=all, retries > 0, <= 5 in flight) errors instead of quiet downgrades.
  parseProducerConfig(
    exactlyOnce ? { ...producerConfig, "transactional.id": shardTransactionalId(exactlyOnce, 0) } : producerConfig,
    { logger: silent, availableCodecs: registeredCompressionCodecs(), missingCodecReason, references: "defer" },
  );
  const timestampPolicy = options.timestampPolicy ?? "producer";
  if (!TIMESTAMP_POLICIES.includes(timestampPolicy)) {
    throw new KafkaConfigError(
      "timestampPolicy",
      `must be one of ${TIMESTAMP_POLICIES.join(", ")}, got ${JSON.stringify(timestampPolicy)}`,
    );
  }
  return Object.freeze({
    producerConfig: Object.freeze(producerConfig),
    topic,
    keyFormat: resolveSerdeFormat("keySerializer", options.keySerializer ?? "bytes", "serializer"),
    valueFormat: resolveSerdeFormat("valueSerializer", options.valueSerializer ?? "bytes", "serializer"),
    timestampPolicy,
    exactlyOnce,
  });
}

function field<T>(value: Record<string, unknown>, name: string, check: (v: unknown) => v is T, what: string): T {
  const v = value[name];
  if (!check(v)) throw new KafkaConfigError(`write.${name}`, `expected ${what}, got ${JSON.stringify(v) ?? typeof v}`);
  return v;
}

const isString = (v: unknown): v is string => typeof v === "string";
const isBoolean = (v: unknown): v is boolean => typeof v === "boolean";
const isStringOrNull = (v: unknown): v is string | null => v === null || typeof v === "string";
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * A WriteSpec as it arrives in a DoFn payload (JSON) → a validated WriteSpec, derived again from its options (so the
 * transactional id prefix and metadata topic follow the same rules). Specs written by older builds (no
 * timestampPolicy, exactlyOnce without metadataTopic or requiresStableInput) get the defaults writeSpecFromOptions uses.
 */
export function parseWriteSpec(json: unknown): WriteSpec {
  if (!isObject(json)) throw new KafkaConfigError("write", "expected a write spec object");
  const producerConfig = field(json, "producerConfig", isObject, "a map of producer config strings");
  for (const [k, v] of Object.entries(producerConfig)) {
    if (typeof v !== "string") throw new KafkaConfigError(`write.producerConfig['${k}']`, "expected a string value");
  }
  const topic = json.topic === undefined ? null : field(json, "topic", isStringOrNull, "a topic name or null");
  const eos = json.exactlyOnce;
  let exactlyOnce: ExactlyOnceOptions | undefined;
  if (eos !== undefined && eos !== null) {
    if (!isObject(eos)) throw new KafkaConfigError("write.exactlyOnce", "expected an object or null");
    exactlyOnce = {
      numShards: field(eos, "numShards", (v): v is number => typeof v === "number", "a number"),
      sinkGroupId: field(eos, "sinkGroupId", isString, "a string"),
      ...(eos.metadataTopic !== undefined ? { metadataTopic: field(eos, "metadataTopic", isString, "a string") } : {}),
      ...(eos.requiresStableInput !== undefined
        ? { requiresStableInput: field(eos, "requiresStableInput", isBoolean, "true or false") }
        : {}),
    };
  }
  return writeSpecFromOptions({
    producerConfig: producerConfig as Record<string, string>,
    ...(topic !== null ? { topic } : {}),
    keySerializer: json.keyFormat === undefined ? "bytes" : field(json, "keyFormat", isString, "a serializer name"),
    valueSerializer:
      json.valueFormat === undefined ? "bytes" : field(json, "valueFormat", isString, "a serializer name"),
    ...(json.timestampPolicy !== undefined
      ? { timestampPolicy: field(json, "timestampPolicy", isString, "a policy name") as WriteTimestampPolicy }
      : {}),
    ...(exactlyOnce ? { exactlyOnce } : {}),
  });
}
