// The validated, frozen options the Kafka client layer runs on. Built only by parseConsumerConfig /
// parseProducerConfig from Java-style Kafka keys; inner code never reads raw config maps.

/** Config as Beam users pass it: Kafka's own keys, string values (numbers and booleans are stringified). */
export type KafkaConfigMap = Readonly<Record<string, string | number | boolean>>;

export type KafkaLogLevel = "debug" | "info" | "warn" | "error";
/** Where the Kafka layer reports notes and warnings (config keys ignored, client library logs). */
export type KafkaLogger = (level: KafkaLogLevel, message: string, fields?: Readonly<Record<string, unknown>>) => void;

export interface BrokerAddress {
  readonly host: string;
  readonly port: number;
}

export type SecurityProtocol = "PLAINTEXT" | "SSL" | "SASL_PLAINTEXT" | "SASL_SSL";
export type SaslMechanism = "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512" | "OAUTHBEARER";

export type SaslOptions = PasswordSaslOptions | OAuthBearerOptions;

export interface PasswordSaslOptions {
  readonly mechanism: "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";
  readonly username: string;
  readonly password: string;
}

/**
 * SASL/OAUTHBEARER with tokens from an OAuth 2 token endpoint, client credentials grant (KIP-768: what Java's
 * OAuthBearerLoginCallbackHandler does with sasl.oauthbearer.token.endpoint.url).
 */
export interface OAuthBearerOptions {
  readonly mechanism: "OAUTHBEARER";
  readonly tokenEndpointUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The scope asked for (absent: none sent). */
  readonly scope?: string;
  /** SASL extensions sent with the token (the JAAS entry's extension_<name> options), e.g. a logical cluster id. */
  readonly extensions: Readonly<Record<string, string>>;
  /** Bounds one token request (sasl.login.connect.timeout.ms + sasl.login.read.timeout.ms, default 10 s each). */
  readonly tokenRequestTimeoutMs: number;
}

/**
 * TLS material: inline PEM text (from `ssl.truststore.certificates`, `ssl.keystore.key`, `ssl.ca.pem`, ...) or a file
 * path read when the client is created, on the machine that runs it. `format` "auto" means the key did not say
 * (Java's default would be JKS): the file is sniffed, PEM text or PKCS#12 bytes.
 */
export type TlsMaterial =
  | { readonly source: "inline"; readonly pem: string }
  | {
      readonly source: "file";
      readonly path: string;
      readonly format: "PEM" | "PKCS12" | "auto";
      /** The config key that named the file, for error messages when it is read. */
      readonly configKey: string;
    };

export type TlsVersion = "TLSv1.2" | "TLSv1.3";

export interface TlsOptions {
  /** Certificates to trust; absent means Node's default root CAs (as Java's default cacerts). */
  readonly trustedCertificates?: TlsMaterial;
  /** Client certificate chain (PEM) for mutual TLS. A PEM keystore file holds chain and key together. */
  readonly clientCertificateChain?: TlsMaterial;
  /** Client private key (PEM, possibly encrypted with `keyPassword`), or a PKCS#12 keystore file. */
  readonly clientKey?: TlsMaterial;
  readonly keyPassword?: string;
  /** `ssl.endpoint.identification.algorithm=https` (the default): the broker's name must match its certificate. */
  readonly verifyHostname: boolean;
  /** `enable.ssl.certificate.verification` (librdkafka's key): false only for tests against self-signed brokers. */
  readonly verifyCertificate: boolean;
  /** From `ssl.enabled.protocols`; absent means Node's defaults. */
  readonly protocols?: readonly TlsVersion[];
}

export interface RetryOptions {
  readonly retries: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
}

/** What every Kafka connection needs: where, who, how securely, how patiently. */
export interface ConnectionOptions {
  readonly bootstrapServers: readonly BrokerAddress[];
  readonly clientId: string;
  readonly securityProtocol: SecurityProtocol;
  /** Present iff securityProtocol is SSL or SASL_SSL. */
  readonly tls?: TlsOptions;
  /** Present iff securityProtocol is SASL_PLAINTEXT or SASL_SSL. */
  readonly sasl?: SaslOptions;
  readonly requestTimeoutMs: number;
  readonly connectionTimeoutMs: number;
  readonly metadataMaxAgeMs: number;
  /**
   * Whether a metadata request may make the broker create a missing topic (if its auto.create.topics.enable allows).
   * Consumers: allow.auto.create.topics (default false here: a read of a missing topic fails, naming it, rather than
   * creating it; true: the read waits for the broker to create it). Producers: always true, as Kafka's producer asks.
   */
  readonly allowAutoTopicCreation: boolean;
  readonly retry: RetryOptions;
}

export type IsolationLevel = "read_uncommitted" | "read_committed";
export type AutoOffsetReset = "earliest" | "latest" | "none";

export interface ConsumerOptions extends ConnectionOptions {
  readonly kind: "consumer";
  readonly groupId?: string;
  readonly autoOffsetReset: AutoOffsetReset;
  readonly isolationLevel: IsolationLevel;
  /** fetch.max.bytes: bound of one fetch response (all partitions of one broker). */
  readonly fetchMaxBytes: number;
  /** max.partition.fetch.bytes: default bound per partition and fetch. */
  readonly maxPartitionFetchBytes: number;
  readonly fetchMinBytes: number;
  readonly fetchMaxWaitMs: number;
  readonly maxPollRecords: number;
  readonly defaultApiTimeoutMs: number;
  readonly excludeInternalTopics: boolean;
  /** check.crcs: each fetched batch's CRC-32C is verified (default true, as Java's consumer). */
  readonly checkCrcs: boolean;
}

export type CompressionType = "none" | "gzip" | "snappy" | "lz4" | "zstd";
/** -1 = all in-sync replicas. */
export type Acks = -1 | 0 | 1;

export interface ProducerOptions extends ConnectionOptions {
  readonly kind: "producer";
  readonly acks: Acks;
  readonly compression: CompressionType;
  readonly lingerMs: number;
  /** Bytes of records per partition batch (one batch per partition per Produce request; default 1 MiB). */
  readonly batchSize: number;
  readonly idempotent: boolean;
  readonly transactionalId?: string;
  readonly transactionTimeoutMs: number;
  readonly maxInFlightRequests: number;
  readonly deliveryTimeoutMs: number;
  /** max.block.ms: how long a send waits for its topic's metadata (a new topic: its creation and leaders). */
  readonly maxBlockMs: number;
  readonly maxRequestSize: number;
}
