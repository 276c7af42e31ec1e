// Input elements → Kafka records. KV input is Beam's KV<key, value> (Python's WriteToKafka); row input is Beam's
// kafka_write_with_headers Row: key, value, headers?, topic?, partition?, timestamp? (ms).
import type { ProducerRecord } from "../client/index.js";
import { serialize } from "../serde.js";
import type { WriteSpec } from "./spec.js";

export type WriteInput = "kv" | "row";

/** Native-API hooks that cannot travel in a JSON payload. */
export interface WriteFunctions<T> {
  /** The record's topic (dynamic destinations); default: the spec's topic. */
  readonly topicOf?: (element: T) => string;
  /** The record's partition; default: the producer's (murmur2 of the key). */
  readonly partitionOf?: (element: T, topic: string) => number | undefined;
  /** The record's CreateTime (ms); default: the element's event time... or now when that is the minimum. */
  readonly timestampOf?: (element: T, eventTime: bigint) => bigint | number | undefined;
  /** Headers of the record. */
  readonly headersOf?: (element: T) => readonly { key: string; value: Buffer | string | null }[];
}

interface HeaderRow { readonly key: string; readonly value: Uint8Array | null }
interface WriteRow {
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers?: readonly HeaderRow[] | null;
  readonly topic?: string | null;
  readonly partition?: number | null;
  readonly timestamp?: bigint | null;
}

function buffer(bytes: Uint8Array | null | undefined): Buffer | null {
  if (bytes === null || bytes === undefined) return null;
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function toProducerRecord(spec: WriteSpec, input: WriteInput, element: unknown, eventTime: bigint,
  fns: WriteFunctions<unknown> = {}): ProducerRecord {
  let record: { topic?: string | null; partition?: number | null; key: Buffer | null; value: Buffer | null;
    headers?: { key: string; value: Buffer | string | null }[]; timestamp?: bigint | number | null };
  if (input === "row") {
    const row = element as WriteRow;
    record = {
      key: buffer(row.key), value: buffer(row.value), topic: row.topic, partition: row.partition, timestamp: row.timestamp,
      headers: (row.headers ?? []).map((h) => ({ key: h.key, value: buffer(h.value) })),
    };
  } else {
    const kv = element as { key: unknown; value: unknown };
    record = { key: serialize(spec.keyFormat, kv.key), value: serialize(spec.valueFormat, kv.value) };
  }
  const topic = fns.topicOf?.(element) ?? record.topic ?? spec.topic;
  if (!topic) throw new TypeError("WriteToKafka: the record names no topic and the write has no default topic");
  const partition = fns.partitionOf?.(element, topic) ?? record.partition ?? undefined;
  const timestamp = fns.timestampOf?.(element, eventTime) ?? record.timestamp ?? undefined;
  const headers = fns.headersOf?.(element) ?? record.headers;
  return {
    topic,
    key: record.key,
    value: record.value,
    ...(partition !== undefined && partition !== null ? { partition } : {}),
    ...(timestamp !== undefined && timestamp !== null ? { timestamp } : {}),
    ...(headers && headers.length > 0 ? { headers } : {}),
  };
}
