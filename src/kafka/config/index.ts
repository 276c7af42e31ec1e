// Public face of the Kafka config layer: Java-style keys in, frozen typed options out.
export { parseConsumerConfig, parseProducerConfig } from "./parse.js";
export type { ParseOptions } from "./parse.js";
export { parseBootstrapServers, DEFAULT_CLIENT_ID } from "./connection.js";
export { parseJaasConfig } from "./jaas.js";
export type { JaasLogin } from "./jaas.js";
export { normalizePem } from "./pem.js";
export { redact, isSecretConfigKey, REDACTED } from "./redact.js";
export { consoleLogger } from "./reader.js";
export type {
  Acks,
  AutoOffsetReset,
  BrokerAddress,
  CompressionType,
  ConnectionOptions,
  ConsumerOptions,
  IsolationLevel,
  KafkaConfigMap,
  KafkaLogger,
  KafkaLogLevel,
  ProducerOptions,
  RetryOptions,
  SaslMechanism,
  SaslOptions,
  PasswordSaslOptions,
  OAuthBearerOptions,
  SecurityProtocol,
  TlsMaterial,
  TlsOptions,
  TlsVersion,
} from "./types.js";
