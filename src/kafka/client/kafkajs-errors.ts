// Maps kafkajs errors and Kafka error codes to our error classes, once, at the client boundary.
import {
  KafkaAuthenticationError,
  KafkaClientError,
  KafkaError,
  KafkaNotLeaderError,
  KafkaOffsetOutOfRangeError,
  KafkaTimeoutError,
  KafkaTlsError,
  KafkaUnknownTopicError,
  type TlsFailure,
} from "../errors.js";
import { kafkaErrorCode } from "./kafka-error-codes.js";

/** Errors meaning "ask for metadata again and retry against the (new) leader", by kafkajs's names and Kafka's. */
const LEADER_ERRORS = new Set([
  "LEADER_NOT_AVAILABLE",
  "NOT_LEADER_FOR_PARTITION",
  "NOT_LEADER_OR_FOLLOWER",
  "REPLICA_NOT_AVAILABLE",
  "KAFKA_STORAGE_ERROR",
  "FENCED_LEADER_EPOCH",
  "UNKNOWN_LEADER_EPOCH",
  "OFFSET_NOT_AVAILABLE",
]);
const LEADER_CODES = new Set([5, 6, 9, 56, 74, 75, 78]);
const UNKNOWN_TOPIC_CODES = new Set([3, 100]);
const OFFSET_OUT_OF_RANGE = 1;

export function kafkaErrorName(code: number): string {
  return kafkaErrorCode(code)?.name ?? `KAFKA_ERROR_${code}`;
}

/** The error for a non-zero error code in a response to `what`, retriable as Kafka's table says. */
export function kafkaCodeError(what: string, code: number): KafkaClientError {
  return new KafkaClientError(`${what}: ${kafkaErrorName(code)}`, {
    retriable: kafkaErrorCode(code)?.retriable ?? false,
    kafkaErrorType: kafkaErrorName(code),
  });
}

/** The error for a non-zero partition error code in a Fetch response. */
export function fetchPartitionError(
  topic: string,
  partition: number,
  fromOffset: bigint,
  code: number,
  logStartOffset: bigint,
  highWatermark: bigint,
): KafkaError {
  if (code === OFFSET_OUT_OF_RANGE) {
    return new KafkaOffsetOutOfRangeError(
      topic,
      partition,
      fromOffset,
      logStartOffset >= 0n ? logStartOffset : undefined,
      highWatermark >= 0n ? highWatermark : undefined,
    );
  }
  if (LEADER_CODES.has(code)) return new KafkaNotLeaderError(topic, partition, kafkaErrorName(code));
  if (UNKNOWN_TOPIC_CODES.has(code)) return new KafkaUnknownTopicError(topic, partition);
  return new KafkaClientError(`fetch ${topic}-${partition}: ${kafkaErrorName(code)}`, {
    retriable: kafkaErrorCode(code)?.retriable ?? false,
    kafkaErrorType: kafkaErrorName(code),
  });
}

/** Node's TLS error codes, by what the user has to fix. Anything else on a TLS socket may be transient. */
const TLS_FAILURES: Readonly<Record<string, TlsFailure>> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "untrusted-certificate",
  UNABLE_TO_GET_ISSUER_CERT: "untrusted-certificate",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "untrusted-certificate",
  SELF_SIGNED_CERT_IN_CHAIN: "untrusted-certificate",
  DEPTH_ZERO_SELF_SIGNED_CERT: "untrusted-certificate",
  CERT_UNTRUSTED: "untrusted-certificate",
  CERT_SIGNATURE_FAILURE: "untrusted-certificate",
  CERT_REVOKED: "untrusted-certificate",
  CERT_HAS_EXPIRED: "certificate-expired",
  CERT_NOT_YET_VALID: "certificate-expired",
  ERR_TLS_CERT_ALTNAME_INVALID: "hostname-mismatch",
  ERR_SSL_WRONG_VERSION_NUMBER: "not-tls",
  ERR_SSL_PACKET_LENGTH_TOO_LONG: "not-tls",
};

const TLS_HINTS: Readonly<Record<TlsFailure, string>> = {
  "untrusted-certificate": "the broker's certificate is not signed by a CA in ssl.truststore.*",
  "certificate-expired": "the broker's certificate is expired or not yet valid",
  "hostname-mismatch":
    "the broker's certificate does not name the host in bootstrap.servers (ssl.endpoint.identification.algorithm)",
  "client-certificate-required": "the listener requires a client certificate: set ssl.keystore.*",
  "client-certificate-rejected":
    "the listener requires a client certificate signed by a CA it trusts (ssl.client.auth): set ssl.keystore.*",
  "not-tls": "the listener does not speak TLS: check security.protocol against the broker's listener",
};

/**
 * TLS alerts by their OpenSSL reason, whose wording changed across versions ("sslv3 alert bad certificate" in
 * OpenSSL 3.0, "ssl/tls alert bad certificate" from 3.2): Node's code is ERR_SSL_ plus the reason.
 */
const TLS_ALERTS: readonly [suffix: string, failure: TlsFailure][] = [
  ["_ALERT_CERTIFICATE_REQUIRED", "client-certificate-required"],
  // Kafka answers a missing client certificate with "bad certificate" too.
  ["_ALERT_BAD_CERTIFICATE", "client-certificate-rejected"],
  ["_ALERT_CERTIFICATE_UNKNOWN", "client-certificate-rejected"],
  ["_ALERT_UNKNOWN_CA", "client-certificate-rejected"],
];

function failureOfCode(code: string): TlsFailure | undefined {
  const known = TLS_FAILURES[code];
  if (known !== undefined || !code.startsWith("ERR_SSL_")) return known;
  return TLS_ALERTS.find(([suffix]) => code.endsWith(suffix))?.[1];
}

/** Node's words when a TLS client meets a listener that closes at the first bytes (a plaintext one). */
const PLAINTEXT_PEER = "before secure TLS connection was established";

/**
 * Our error for a TLS failure that retrying cannot fix, or undefined. Like Kafka's own client, a failed handshake
 * counts as fatal: a plaintext listener's hang-up included (a broker restarting mid-handshake is the rare exception).
 */
export function tlsFailure(
  code: string | undefined,
  broker: string,
  cause?: unknown,
  message = "",
): KafkaTlsError | undefined {
  const failure = message.includes(PLAINTEXT_PEER) ? "not-tls" : code === undefined ? undefined : failureOfCode(code);
  return failure === undefined
    ? undefined
    : new KafkaTlsError(broker, failure, `${TLS_HINTS[failure]} [${code}]`, cause);
}

interface KafkajsErrorShape {
  name?: string;
  code?: string;
  broker?: string;
  message?: string;
  type?: string;
  retriable?: boolean;
  cause?: unknown;
  topic?: string;
  partition?: number;
}

export interface ErrorContext {
  readonly what: string;
  readonly topic?: string;
  readonly partition?: number;
}

const CONNECTION_ERRORS = new Set(["KafkaJSConnectionError", "KafkaJSConnectionClosedError"]);

/**
 * Whether the broker could not be reached or hung up (refused, reset, closed), anywhere in the cause chain: kafkajs
 * wraps a nested retrier that gave up on a connection as a non-retriable error. A restarting broker fails this way
 * at once on every attempt, so only a deadline, never an attempt count, says how long to keep trying.
 */
export function lostConnection(err: unknown): boolean {
  for (let e = err, depth = 0; typeof e === "object" && e !== null && depth < 8; depth++) {
    const { name, cause } = e as { name?: string; cause?: unknown };
    if (name !== undefined && CONNECTION_ERRORS.has(name)) return true;
    if (cause === e) return false;
    e = cause;
  }
  return false;
}

function coordinatorNotFound(err: unknown): boolean {
  return (err as { name?: string } | undefined)?.name === "KafkaJSGroupCoordinatorNotFound";
}

/** Wraps anything thrown by kafkajs (or us) as one of our KafkaError classes, keeping the original as `cause`. */
export function toKafkaError(err: unknown, context: ErrorContext): KafkaError {
  if (err instanceof KafkaError) return err;
  const e = (typeof err === "object" && err !== null ? err : { message: String(err) }) as KafkajsErrorShape;
  // kafkajs's retrier gave up (retries exhausted, or an error it does not retry wrapped as non-retriable): judge by
  // the underlying error where Kafka calls it retriable: a lost connection, a coordinator not found (both while a
  // broker restarts).
  const gaveUp =
    e.name === "KafkaJSNumberOfRetriesExceeded" ||
    (e.name === "KafkaJSNonRetriableError" && (lostConnection(e.cause) || coordinatorNotFound(e.cause)));
  if (gaveUp && e.cause !== undefined && e.cause !== err) {
    return toKafkaError(e.cause, context);
  }
  const message = `${context.what}: ${e.message ?? "unknown error"}`;
  if (e.name === "KafkaJSSASLAuthenticationError") {
    return new KafkaAuthenticationError(e.broker ?? "the broker", stripKafkajsPrefix(e.message), err);
  }
  if (e.name === "KafkaJSConnectionError") {
    const tls = tlsFailure(e.code, e.broker ?? "the broker", err, e.message);
    if (tls) return tls;
  }
  // kafkajs gives up on a group or transaction coordinator that no broker could name as "non-retriable"; Kafka calls
  // that COORDINATOR_NOT_AVAILABLE, which is retriable (a broker restarting, `__consumer_offsets` being created).
  if (e.name === "KafkaJSGroupCoordinatorNotFound") {
    return new KafkaClientError(message, { retriable: true, kafkaErrorType: "COORDINATOR_NOT_AVAILABLE", cause: err });
  }
  if (e.name === "KafkaJSRequestTimeoutError" || e.name === "KafkaJSTimeout" || e.name === "KafkaJSLockTimeout") {
    return new KafkaTimeoutError(message, { cause: err });
  }
  const type = e.type;
  if (type !== undefined && LEADER_ERRORS.has(type)) {
    const topic = context.topic ?? e.topic;
    if (topic !== undefined) return new KafkaNotLeaderError(topic, context.partition ?? e.partition ?? -1, type, err);
    return new KafkaClientError(message, { retriable: true, kafkaErrorType: type, cause: err });
  }
  if (type === "UNKNOWN_TOPIC_OR_PARTITION" && (context.topic ?? e.topic) !== undefined) {
    return new KafkaUnknownTopicError((context.topic ?? e.topic)!, context.partition, err);
  }
  const retriable =
    e.retriable === true || e.name === "KafkaJSConnectionError" || e.name === "KafkaJSConnectionClosedError";
  return new KafkaClientError(message, { retriable, cause: err, ...(type ? { kafkaErrorType: type } : {}) });
}

/** "SASL SCRAM SHA256 authentication failed: <broker's reason>" → the broker's reason. */
function stripKafkajsPrefix(message: string | undefined): string {
  if (message === undefined) return "refused";
  const colon = message.indexOf(": ");
  return colon >= 0 ? message.slice(colon + 2) : message;
}
