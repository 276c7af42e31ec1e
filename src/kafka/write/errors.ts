// Errors of the write path that are not Kafka's own: a record the sink cannot turn into a Kafka record, and an
// exactly-once shard whose committed state contradicts what the runner asks it to write. Kafka and client errors
// (KafkaError from ../errors.ts) pass through unchanged, so a failed bundle carries the broker's error.

export type KafkaWriteErrorCode =
  /** An element could not be mapped to a record (wrong type for the serializer, bad topic/partition/timestamp). */
  | "KAFKA_WRITE_RECORD"
  /** Exactly-once state in Kafka does not match the batch being written (see the message), or a setup problem. */
  | "KAFKA_WRITE_EXACTLY_ONCE";

/**
 * A failure of the write itself, not Kafka's: `code` says which kind (KafkaWriteErrorCode). Never retriable. Not a
 * KafkaError: Kafka and client errors reach the failed bundle unchanged.
 */
export class KafkaWriteError extends Error {
  override readonly name = "KafkaWriteError";
  /** Neither kind gets better by retrying the same input. */
  readonly retriable = false;
  constructor(
    readonly code: KafkaWriteErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
