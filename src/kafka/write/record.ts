// Elements → Kafka records. Three input shapes reach the sink:
//   "kv"     {key, value}: Beam's KV (Python's WriteToKafka sends KV<bytes, bytes>); serialized per the spec.
//   "record" a WriteRecord (native API): key/value serialized, plus optional topic, partition, headers, timestamp.
//   "row"    Beam's kafka_write_with_headers Row: key BYTES, value BYTES, headers ARRAY<ROW<key STRING, value BYTES>>?,
//            topic STRING?, partition INT32?, timestamp INT64? (ms). Python infers INT64 for any int, so partition
//            and timestamp are accepted as number or bigint; fields the caller's schema lacks are absent.
import type { Instant } from "../../model/windowing.js";
import { byteLength, type ProducerRecord } from "../client/index.js";
import { KafkaConfigError } from "../errors.js";
import { serialize, type SerdeFormat } from "../serde.js";
import { KafkaWriteError } from "./errors.js";
import type { WriteSpec, WriteTimestampPolicy } from "./spec.js";

export type WriteInputKind = "kv" | "record" | "row";

export interface WriteHeader {
  readonly key: string;
  /** null: a header without a value (Kafka allows it). */
  readonly value: Uint8Array | string | null;
}

/** A record as the native API takes it (Java's ProducerRecord): everything but the value is optional. */
export interface WriteRecord<K = unknown, V = unknown> {
  readonly topic?: string | null;
  readonly partition?: number | bigint | null;
  readonly key?: K | null;
  readonly value: V | null;
  readonly headers?: readonly WriteHeader[] | null;
  /** CreateTime in ms since the epoch. */
  readonly timestamp?: bigint | number | null;
}

/** Native-only hooks (functions cannot travel in a payload). */
export interface RecordFunctions {
  /** The record's timestamp (ms); null/undefined leaves it to the timestamp policy. */
  readonly timestampFn?: (element: unknown, elementTimestamp: Instant) => bigint | number | null | undefined;
  /** The record's topic for KV input (dynamic destinations); a WriteRecord names its own. */
  readonly topicFn?: (element: unknown) => string;
}

/** How elements of one input kind become records: compiled once per DoFn from the spec and the functions. */
export type RecordMapper = (element: unknown, elementTimestamp: Instant) => ProducerRecord;

const INT32_MAX = 2_147_483_647;
/** Kafka's largest timestamp the Java client accepts is Long.MAX_VALUE; Beam's MAX_TIMESTAMP ms is below it. */
const INT64_MAX = (1n << 63n) - 1n;

function recordError(message: string, cause?: unknown): KafkaWriteError {
  return new KafkaWriteError("KAFKA_WRITE_RECORD", message, cause === undefined ? undefined : { cause });
}

function serialized(format: SerdeFormat, part: "key" | "value", value: unknown): Buffer | null {
  if (format === "bytes" && Buffer.isBuffer(value)) return value; // the common case, without a new view per record
  try {
    return serialize(format, value);
  } catch (err) {
    throw recordError(`${part} serializer ${format}: ${(err as Error).message}`, err);
  }
}

/** A timestamp Kafka accepts (>= 0 ms, int64), as bigint; null for none. */
export function kafkaTimestamp(value: unknown, what: string): bigint | null {
  if (value === null || value === undefined) return null;
  let ms: bigint;
  if (typeof value === "bigint") ms = value;
  else if (typeof value === "number" && Number.isSafeInteger(value)) ms = BigInt(value);
  else
    throw recordError(
      `${what}: expected integer milliseconds, got ${typeof value === "number" ? value : typeof value}`,
    );
  if (ms < 0n || ms > INT64_MAX) {
    throw recordError(`${what}: ${ms} is not a Kafka timestamp (ms since the epoch, >= 0)`);
  }
  return ms;
}

export function kafkaPartition(value: unknown, what: string): number | undefined {
  if (value === null || value === undefined) return undefined;
  const n = typeof value === "bigint" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > INT32_MAX) {
    throw recordError(
      `${what}: expected a partition number >= 0, got ${typeof value === "object" ? "an object" : String(value)}`,
    );
  }
  return n;
}

function asBuffer(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

function headersOf(value: unknown): { key: string; value: Buffer | string | null }[] | undefined {
  if (value === null || value === undefined) return undefined;
  if (!Array.isArray(value)) throw recordError(`headers: expected a list of {key, value}, got ${typeof value}`);
  if (value.length === 0) return undefined;
  return value.map((h: unknown, i) => {
    const header = h as { key?: unknown; value?: unknown } | null;
    if (header === null || typeof header !== "object" || typeof header.key !== "string") {
      throw recordError(`headers[${i}]: expected {key: string, value: bytes}`);
    }
    const v = header.value;
    if (typeof v === "string") return { key: header.key, value: v };
    if (v instanceof Uint8Array) return { key: header.key, value: asBuffer(v) };
    if (v === null || v === undefined) return { key: header.key, value: null }; // Kafka allows null header values
    throw recordError(`headers[${i}] (${header.key}): expected bytes or a string value, got ${typeof v}`);
  });
}

function topicOf(topic: unknown, fallback: string | null): string {
  if (topic !== null && topic !== undefined) {
    if (typeof topic !== "string" || topic.length === 0)
      throw recordError(`topic: expected a topic name, got ${JSON.stringify(topic)}`);
    return topic;
  }
  if (fallback === null) throw recordError("the record names no topic and the write has no default topic");
  return fallback;
}

function withTimestamp(
  record: { -readonly [K in keyof ProducerRecord]: ProducerRecord[K] },
  own: bigint | null,
  element: unknown,
  elementTimestamp: Instant,
  policy: WriteTimestampPolicy,
  fns: RecordFunctions,
): ProducerRecord {
  let ts = own;
  if (ts === null && fns.timestampFn)
    ts = kafkaTimestamp(fns.timestampFn(element, elementTimestamp), "timestampFn result");
  if (ts === null && policy === "element")
    ts = kafkaTimestamp(elementTimestamp, "element timestamp (timestampPolicy element)");
  if (ts !== null) record.timestamp = ts;
  return record;
}

/** The mapper for one input kind. */
export function recordMapper(spec: WriteSpec, input: WriteInputKind, fns: RecordFunctions = {}): RecordMapper {
  const { keyFormat, valueFormat, timestampPolicy: policy } = spec;
  const defaultTopic = spec.topic;
  if (input === "kv") {
    const topicFn = fns.topicFn;
    if (!topicFn && defaultTopic === null)
      throw new KafkaConfigError("topic", "a KV write needs a topic (or a topicFn)");
    return (element, elementTimestamp) => {
      const kv = element as { key?: unknown; value?: unknown } | null;
      if (kv === null || typeof kv !== "object")
        throw recordError(`expected a KV {key, value}, got ${element === null ? "null" : typeof element}`);
      const record = {
        topic: topicFn ? topicOf(topicFn(element), defaultTopic) : defaultTopic!,
        key: serialized(keyFormat, "key", kv.key),
        value: serialized(valueFormat, "value", kv.value),
      };
      return policy === "producer" && !fns.timestampFn
        ? record
        : withTimestamp(record, null, element, elementTimestamp, policy, fns);
    };
  }
  const what = input === "row" ? "row" : "record";
  const partitionField = `${what} partition`; // per mapper, not per record
  const timestampField = `${what} timestamp`;
  return (element, elementTimestamp) => {
    const r = element as WriteRecord | null;
    if (r === null || typeof r !== "object")
      throw recordError(`expected a ${what}, got ${element === null ? "null" : typeof element}`);
    const record: { -readonly [K in keyof ProducerRecord]: ProducerRecord[K] } = {
      topic: topicOf(r.topic, defaultTopic),
      key: serialized(keyFormat, "key", r.key),
      value: serialized(valueFormat, "value", r.value),
    };
    const partition = kafkaPartition(r.partition, partitionField);
    if (partition !== undefined) record.partition = partition;
    const headers = headersOf(r.headers);
    if (headers) record.headers = headers;
    return withTimestamp(record, kafkaTimestamp(r.timestamp, timestampField), element, elementTimestamp, policy, fns);
  };
}

/** The bytes of a serialized key/value/header (for sizing and encoding). */
export function bytesOf(value: Buffer | string | null | undefined): Buffer | null {
  if (value === null || value === undefined) return null;
  return typeof value === "string" ? Buffer.from(value, "utf8") : asBuffer(value);
}

/** A record's key and value bytes (UTF-8 for strings): what the sink's counters and in-flight bounds count. */
export function payloadBytes(record: ProducerRecord): number {
  return byteLength(record.key) + byteLength(record.value);
}
