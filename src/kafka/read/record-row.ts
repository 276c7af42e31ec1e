// The Row a read "with metadata" emits, in the field order Beam's Java KafkaIO uses for cross-language reads, so
// Python's `ReadFromKafka(with_metadata=True)` decodes it as it would Java's.
import { array, nullable, row, schema, type RowValueOf, type TypedSchema } from "../../model/schema.js";

const fields = {
  topic: "string",
  partition: "int32",
  offset: "int64",
  timestamp: "int64",
  key: nullable("bytes"),
  value: nullable("bytes"),
  headers: nullable(array(row({ key: "string", value: nullable("bytes") }))),
  timestampTypeId: "int32",
  timestampTypeName: "string",
} as const;

/**
 * A record as a read with `withMetadata: true` emits it. key and value are the raw bytes (no deserializer applied);
 * timestamp is Kafka's own (ms), whatever the timestamp policy; timestampTypeId / timestampTypeName follow
 * TIMESTAMP_TYPE_IDS / TIMESTAMP_TYPE_NAMES.
 */
export type KafkaRecordRow = RowValueOf<typeof fields>;

/** A fresh schema (new id each call: Python caches row types by schema id). */
export function kafkaRecordRowSchema(): TypedSchema<KafkaRecordRow> {
  return schema(fields);
}

/** Kafka's TimestampType ids: -1 none, 0 CreateTime, 1 LogAppendTime. */
export const TIMESTAMP_TYPE_IDS = Object.freeze({ NoTimestamp: -1, CreateTime: 0, LogAppendTime: 1 });
export const TIMESTAMP_TYPE_NAMES = Object.freeze({
  NoTimestamp: "NoTimestampType",
  CreateTime: "CreateTime",
  LogAppendTime: "LogAppendTime",
});
