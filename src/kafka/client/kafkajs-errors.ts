// Maps kafkajs errors and Kafka error codes to our error classes, once, at the client boundary.
import {
  KafkaClientError,
  KafkaError,
  KafkaNotLeaderError,
  KafkaOffsetOutOfRangeError,
  KafkaTimeoutError,
  KafkaUnknownTopicError,
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

interface KafkajsErrorShape {
  name?: string;
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

/** Wraps anything thrown by kafkajs (or us) as one of our KafkaError classes, keeping the original as `cause`. */
export function toKafkaError(err: unknown, context: ErrorContext): KafkaError {
  if (err instanceof KafkaError) return err;
  const e = (typeof err === "object" && err !== null ? err : { message: String(err) }) as KafkajsErrorShape;
  // kafkajs gave up retrying: judge by the last underlying error.
  if (e.name === "KafkaJSNumberOfRetriesExceeded" && e.cause !== undefined && e.cause !== err) {
    return toKafkaError(e.cause, context);
  }
  const message = `${context.what}: ${e.message ?? "unknown error"}`;
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
