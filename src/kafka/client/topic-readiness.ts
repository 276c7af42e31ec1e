// Before a producer's first send to a topic: wait, as Kafka's producer does, until the topic is in the metadata
// with a leader for every partition, asking with auto-creation allowed (a broker with auto.create.topics.enable,
// Kafka's default, creates it on that request). Bounded by max.block.ms; a topic the broker never creates fails
// with an error that names it. Without this, kafkajs retries a send to a missing topic until delivery.timeout.ms.
// A read with allow.auto.create.topics=true waits the same way, bounded by default.api.timeout.ms.
import type { RetryOptions } from "../config/index.js";
import {
  KafkaAuthenticationError,
  KafkaClientError,
  KafkaConfigError,
  KafkaTimeoutError,
  KafkaTlsError,
  KafkaUnknownTopicError,
} from "../errors.js";
import { toKafkaError } from "./kafkajs-errors.js";
import type { InternalCluster } from "./kafkajs-internals.js";
import { retryBackoffMs, sleep } from "./retry-until.js";

/** Metadata errors that end the wait at once: waiting would not change them. */
const FATAL_TOPIC_ERRORS = new Set([
  "INVALID_TOPIC_EXCEPTION",
  "TOPIC_AUTHORIZATION_FAILED",
  "CLUSTER_AUTHORIZATION_FAILED",
]);

export interface TopicReadinessOptions {
  /** How long to wait for a topic. */
  readonly maxBlockMs: number;
  readonly retry: RetryOptions;
  /** What waits, for errors: "produce to" (the default) or "read". */
  readonly action?: string;
  /** The config key that bounds the wait, for errors: "max.block.ms" (the default). */
  readonly timeoutKey?: string;
}

export class TopicReadiness {
  private readonly ready = new Set<string>();
  private readonly waits = new Map<string, Promise<void>>();
  private connecting: Promise<void> | undefined;

  /** `cluster` must ask for metadata with auto-creation allowed. */
  constructor(
    private readonly cluster: InternalCluster,
    private readonly options: TopicReadinessOptions,
  ) {}

  /** Resolves once every topic has a leader for each of its partitions; rejects after max.block.ms. */
  async ensure(topics: Iterable<string>): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const topic of topics) {
      if (this.ready.has(topic)) continue;
      let wait = this.waits.get(topic);
      if (!wait) {
        wait = this.waitFor(topic)
          .then(() => {
            this.ready.add(topic);
          })
          .finally(() => this.waits.delete(topic));
        this.waits.set(topic, wait);
      }
      waits.push(wait);
    }
    await Promise.all(waits);
  }

  /** Forget a topic (it was deleted, or lost partitions): the next send waits for it again. */
  forget(topic: string): void {
    this.ready.delete(topic);
  }

  async close(): Promise<void> {
    const connected = this.connecting;
    this.connecting = undefined;
    if (connected)
      await connected
        .then(
          () => this.cluster.disconnect(),
          () => undefined,
        )
        .catch(() => undefined);
  }

  private async waitFor(topic: string): Promise<void> {
    const action = this.options.action ?? "produce to";
    const timeoutKey = this.options.timeoutKey ?? "max.block.ms";
    const started = Date.now();
    const deadline = started + this.options.maxBlockMs;
    let lastReason = "no answer";
    let answered = false;
    for (let attempt = 0; ; attempt++) {
      try {
        this.connecting ??= this.cluster.connect().catch((err: unknown) => {
          this.connecting = undefined;
          throw err;
        });
        await this.connecting;
        const broker = await this.cluster.brokerPool.findConnectedBroker();
        const { topicMetadata } = await broker.metadata([topic]);
        answered = true;
        const partitions = topicMetadata.find((t) => t.topic === topic)?.partitionMetadata ?? [];
        if (partitions.length > 0 && partitions.every((p) => p.leader >= 0)) return;
        lastReason = partitions.length === 0 ? "no partitions yet" : "a partition has no leader yet";
      } catch (err) {
        const type = (err as { type?: string }).type;
        // Credentials and certificates do not get better by waiting.
        const mapped = toKafkaError(err, { what: `${action} ${topic}`, topic });
        if (mapped instanceof KafkaAuthenticationError || mapped instanceof KafkaTlsError) throw mapped;
        if (type !== undefined && FATAL_TOPIC_ERRORS.has(type)) {
          if (type === "INVALID_TOPIC_EXCEPTION")
            throw new KafkaConfigError("topic", `${JSON.stringify(topic)} is not a valid topic name`);
          throw new KafkaClientError(`${action} ${topic}: ${type}`, { kafkaErrorType: type, cause: err });
        }
        // An error response is an answer (the broker refusing to create the topic, say); a lost connection is not.
        if (type !== undefined) answered = true;
        lastReason = type ?? (err as Error).message ?? String(err);
      }
      const left = deadline - Date.now();
      if (left <= 0 && !answered) {
        throw new KafkaTimeoutError(
          `${action} ${topic}: no broker answered within ${timeoutKey} (${this.options.maxBlockMs} ms; last: ${lastReason}). ` +
            "Check bootstrap.servers, and that security.protocol matches the broker's listener",
        );
      }
      if (left <= 0) {
        throw new KafkaUnknownTopicError(
          topic,
          undefined,
          undefined,
          `not present in metadata after ${Date.now() - started} ms (${timeoutKey} ${this.options.maxBlockMs}; last: ${lastReason}). ` +
            "The broker did not create it: create the topic, or enable auto.create.topics.enable on the broker",
        );
      }
      await sleep(Math.min(left, retryBackoffMs(attempt, this.options.retry)));
    }
  }
}
