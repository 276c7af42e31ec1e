// What a Kafka write is asked to do, validated once at the edge into a frozen JSON-able spec (see read/spec.ts).
import { KafkaConfigError } from "../errors.js";
import { parseProducerConfig } from "../config/index.js";
import { resolveSerdeFormat, type SerdeFormat } from "../serde.js";

export interface WriteToKafkaOptions {
  readonly producerConfig: Readonly<Record<string, string>>;
  /** Default topic; a record may name its own (dynamic destinations). */
  readonly topic?: string;
  /** "bytes" (default), "string", "json", "long", "int", or a Java Serializer class name. */
  readonly keySerializer?: string;
  readonly valueSerializer?: string;
  /** Exactly-once: write through Kafka transactions in this many shards. */
  readonly exactlyOnce?: { readonly numShards: number; readonly sinkGroupId: string };
}

export interface WriteSpec {
  readonly producerConfig: Readonly<Record<string, string>>;
  readonly topic: string | null;
  readonly keyFormat: SerdeFormat;
  readonly valueFormat: SerdeFormat;
  readonly exactlyOnce: { readonly numShards: number; readonly sinkGroupId: string } | null;
}

export function writeSpecFromOptions(options: WriteToKafkaOptions): WriteSpec {
  const producerConfig = { ...options.producerConfig };
  parseProducerConfig(producerConfig, { logger: () => undefined });
  const topic = options.topic ?? null;
  if (topic !== null && topic.length === 0) throw new KafkaConfigError("topic", "must be a non-empty topic name");
  const exactlyOnce = options.exactlyOnce ?? null;
  if (exactlyOnce) {
    if (!Number.isInteger(exactlyOnce.numShards) || exactlyOnce.numShards < 1) {
      throw new KafkaConfigError("exactlyOnce.numShards", `must be an integer >= 1, got ${exactlyOnce.numShards}`);
    }
    if (!exactlyOnce.sinkGroupId) throw new KafkaConfigError("exactlyOnce.sinkGroupId", "must be a non-empty group id");
  }
  return Object.freeze({
    producerConfig: Object.freeze(producerConfig),
    topic,
    keyFormat: resolveSerdeFormat("keySerializer", options.keySerializer ?? "bytes", "serializer"),
    valueFormat: resolveSerdeFormat("valueSerializer", options.valueSerializer ?? "bytes", "serializer"),
    exactlyOnce: exactlyOnce ? Object.freeze({ ...exactlyOnce }) : null,
  });
}
