// Errors of the Kafka layer: a small closed set, each with a stable `code` and a `retriable` flag.
// Messages name the config key or the topic-partition at fault and never carry secret values.
// Errors from the underlying client (kafkajs) are kept as `cause`, not flattened into the message.

/**
 * The stable `code` of a KafkaError, one per subclass (KAFKA_CONFIG_INVALID for KafkaConfigError, ...): match on it,
 * not on messages.
 */
export type KafkaErrorCode =
  | "KAFKA_CONFIG_INVALID"
  | "KAFKA_CLIENT_ERROR"
  | "KAFKA_TIMEOUT"
  | "KAFKA_OFFSET_OUT_OF_RANGE"
  | "KAFKA_NOT_LEADER"
  | "KAFKA_UNKNOWN_TOPIC"
  | "KAFKA_UNSUPPORTED"
  | "KAFKA_CLIENT_CLOSED"
  | "KAFKA_AUTHENTICATION_FAILED"
  | "KAFKA_TLS_FAILED";

export interface KafkaErrorOptions {
  readonly retriable?: boolean;
  readonly cause?: unknown;
}

/**
 * Base class of the Kafka layer's errors: `code` names the kind, `retriable` says whether retrying after backoff may
 * help, and the client library's error is kept as `cause`. Messages never carry secret config values.
 * The write path's KafkaWriteError is not a subclass.
 */
export abstract class KafkaError extends Error {
  abstract readonly code: KafkaErrorCode;
  readonly retriable: boolean;

  protected constructor(message: string, retriable: boolean, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.retriable = retriable;
  }
}

/** A config key had a missing, malformed or conflicting value. `key` is the Kafka config key (never its value if secret). */
export class KafkaConfigError extends KafkaError {
  override readonly name = "KafkaConfigError";
  readonly code = "KAFKA_CONFIG_INVALID" as const;
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`${key}: ${message}`, false);
  }
}

/**
 * A failure reported by Kafka or the client library. `kafkaErrorType` is Kafka's error name when the broker sent one
 * (`NOT_COORDINATOR`, `ILLEGAL_GENERATION`, ...); `retriable` follows Kafka's classification of that error.
 */
export class KafkaClientError extends KafkaError {
  override readonly name: string = "KafkaClientError";
  readonly code: KafkaErrorCode = "KAFKA_CLIENT_ERROR";
  readonly kafkaErrorType: string | undefined;
  constructor(message: string, options: KafkaErrorOptions & { readonly kafkaErrorType?: string } = {}) {
    super(message, options.retriable ?? false, options.cause);
    this.kafkaErrorType = options.kafkaErrorType;
  }
}

/** An operation did not complete in time (request timeout, delivery timeout, coordinator wait). Retriable. */
export class KafkaTimeoutError extends KafkaError {
  override readonly name = "KafkaTimeoutError";
  readonly code = "KAFKA_TIMEOUT" as const;
  constructor(message: string, options: KafkaErrorOptions = {}) {
    super(message, options.retriable ?? true, options.cause);
  }
}

/**
 * The requested offset is outside the partition's log (deleted by retention, or beyond the end). Not retriable as is:
 * the caller resets (per `auto.offset.reset`) using `logStartOffset` / `highWatermark` when the broker sent them.
 */
export class KafkaOffsetOutOfRangeError extends KafkaError {
  override readonly name = "KafkaOffsetOutOfRangeError";
  readonly code = "KAFKA_OFFSET_OUT_OF_RANGE" as const;
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offset: bigint,
    readonly logStartOffset?: bigint,
    readonly highWatermark?: bigint,
  ) {
    super(`${topic}-${partition}: offset ${offset} is out of range`, false);
  }
}

/** The partition has no reachable leader right now (leader change, broker down). Retriable after a metadata refresh. */
export class KafkaNotLeaderError extends KafkaError {
  override readonly name = "KafkaNotLeaderError";
  readonly code = "KAFKA_NOT_LEADER" as const;
  constructor(
    readonly topic: string,
    readonly partition: number,
    reason: string,
    cause?: unknown,
  ) {
    super(`${topic}-${partition}: no usable leader (${reason})`, true, cause);
  }
}

/** The topic or partition does not exist. Not retriable (a topic being created shows up as KafkaNotLeaderError). */
export class KafkaUnknownTopicError extends KafkaError {
  override readonly name = "KafkaUnknownTopicError";
  readonly code = "KAFKA_UNKNOWN_TOPIC" as const;
  constructor(
    readonly topic: string,
    readonly partition?: number,
    cause?: unknown,
    detail?: string,
  ) {
    super(
      `${partition === undefined ? `unknown topic ${topic}` : `unknown topic-partition ${topic}-${partition}`}${detail ? `: ${detail}` : ""}`,
      false,
      cause,
    );
  }
}

/** A feature this client cannot serve: a compression codec not registered, a legacy message format, an API version. */
export class KafkaUnsupportedError extends KafkaError {
  override readonly name = "KafkaUnsupportedError";
  readonly code = "KAFKA_UNSUPPORTED" as const;
  constructor(message: string) {
    super(message, false);
  }
}

/** The client was closed (or released) while the operation was pending, or used after close. */
export class KafkaClientClosedError extends KafkaError {
  override readonly name = "KafkaClientClosedError";
  readonly code = "KAFKA_CLIENT_CLOSED" as const;
  constructor(what: string) {
    super(`${what}: the Kafka client is closed`, false);
  }
}

/**
 * The broker refused our SASL credentials (wrong user or password, a mechanism the listener does not enable).
 * Not retriable: the same credentials fail the same way. The message names the mechanism, never the password.
 */
export class KafkaAuthenticationError extends KafkaError {
  override readonly name = "KafkaAuthenticationError";
  readonly code = "KAFKA_AUTHENTICATION_FAILED" as const;
  constructor(
    readonly broker: string,
    detail: string,
    cause?: unknown,
  ) {
    super(`SASL authentication with ${broker} failed: ${detail}`, false, cause);
  }
}

/**
 * Why a TLS connection failed, in the words a user fixes it by: the broker's certificate is not signed by a trusted
 * CA (`ssl.truststore.*`), it names another host (`ssl.endpoint.identification.algorithm`), the listener requires a
 * client certificate (`ssl.keystore.*`) or rejected ours, or the listener does not speak TLS (`security.protocol`).
 */
export type TlsFailure =
  | "untrusted-certificate"
  | "hostname-mismatch"
  | "certificate-expired"
  | "client-certificate-required"
  | "client-certificate-rejected"
  | "not-tls";

/** A TLS handshake failed for a reason retrying cannot change (see TlsFailure). Not retriable. */
export class KafkaTlsError extends KafkaError {
  override readonly name = "KafkaTlsError";
  readonly code = "KAFKA_TLS_FAILED" as const;
  constructor(
    readonly broker: string,
    readonly failure: TlsFailure,
    detail: string,
    cause?: unknown,
  ) {
    super(`TLS connection to ${broker} failed (${failure}): ${detail}`, false, cause);
  }
}

/** True for errors worth retrying (after backoff): ours by flag, anything else only if it says so. */
export function isRetriableKafkaError(err: unknown): boolean {
  if (err instanceof KafkaError) return err.retriable;
  return false;
}
