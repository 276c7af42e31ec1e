// Where the sink's clients come from. At-least-once writes lease the process-wide producer for their config from
// the client cache (one per worker and config, shared by every bundle). Exactly-once shards each own a
// transactional producer (see shard-writer.ts), made by `createProducer`; tests and benchmarks pass their own
// factory to wrap the real producer (fault injection), never to replace Kafka.
import {
  parseConsumerConfig,
  consoleLogger,
  type ConsumerOptions,
  type KafkaLogger,
  type ProducerOptions,
} from "../config/index.js";
import { createKafkaProducer, defaultClientCache, type KafkaClientCache, type KafkaProducer } from "../client/index.js";

export interface WriteEnvironment {
  readonly cache: KafkaClientCache;
  readonly logger: KafkaLogger;
  /** Makes an exactly-once shard's transactional producer. */
  readonly createProducer: (options: ProducerOptions) => KafkaProducer;
}

export interface WriteEnvironmentOptions {
  readonly cache?: KafkaClientCache;
  readonly logger?: KafkaLogger;
  readonly createProducer?: (options: ProducerOptions) => KafkaProducer;
}

export function writeEnvironment(options: WriteEnvironmentOptions = {}): WriteEnvironment {
  const logger = options.logger ?? consoleLogger;
  return Object.freeze({
    cache: options.cache ?? defaultClientCache,
    logger,
    createProducer:
      options.createProducer ??
      ((producerOptions: ProducerOptions) => createKafkaProducer(producerOptions, { logger })),
  });
}

const silent: KafkaLogger = () => undefined;

/**
 * Options for the reading client the sink needs beside its producer (partition counts for a custom partitioner,
 * the exactly-once shards' committed metadata): the producer's connection (servers, TLS, SASL, client id,
 * timeouts) with the consumer defaults for the rest.
 */
export function metadataClientOptions(producer: ProducerOptions): ConsumerOptions {
  const base = parseConsumerConfig({ "bootstrap.servers": "localhost:9092" }, { logger: silent });
  const options: Record<string, unknown> = {
    ...base,
    bootstrapServers: producer.bootstrapServers,
    clientId: producer.clientId,
    securityProtocol: producer.securityProtocol,
    tls: producer.tls,
    sasl: producer.sasl,
    requestTimeoutMs: producer.requestTimeoutMs,
    connectionTimeoutMs: producer.connectionTimeoutMs,
    metadataMaxAgeMs: producer.metadataMaxAgeMs,
    allowAutoTopicCreation: false,
  };
  for (const key of Object.keys(options)) if (options[key] === undefined) delete options[key];
  return Object.freeze(options) as unknown as ConsumerOptions;
}
