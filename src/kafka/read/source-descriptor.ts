// The element of the read SDF: one topic-partition and where to start and stop, as UTF-8 JSON bytes (bigints as
// decimal strings) so any runner carries it with the bytes coder.
import { KafkaConfigError } from "../errors.js";

/**
 * One topic-partition of a read and where to start and stop: the element of ReadFromKafkaDoFn. It travels as UTF-8
 * JSON bytes (encodeSourceDescriptor / decodeSourceDescriptor), so any runner moves it with the bytes coder.
 */
export interface SourceDescriptor {
  readonly topic: string;
  readonly partition: number;
  /** First offset to read; when absent the read resolves it (start time, committed offset, auto.offset.reset). */
  readonly startOffset?: bigint;
  /** Exclusive end offset of a bounded read. */
  readonly stopOffset?: bigint;
  /** Stop before the first record at or after this time (ms). */
  readonly stopReadTime?: bigint;
  /** Wall-clock deadline (ms since epoch) shared by every partition of a read with max_read_time. */
  readonly deadlineMs?: number;
}

/** A topic-partition as a map key (the read's per-partition state, caches and gauges). */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export function encodeSourceDescriptor(d: SourceDescriptor): Uint8Array {
  return Buffer.from(
    JSON.stringify({
      topic: d.topic,
      partition: d.partition,
      ...(d.startOffset !== undefined ? { startOffset: d.startOffset.toString() } : {}),
      ...(d.stopOffset !== undefined ? { stopOffset: d.stopOffset.toString() } : {}),
      ...(d.stopReadTime !== undefined ? { stopReadTime: d.stopReadTime.toString() } : {}),
      ...(d.deadlineMs !== undefined ? { deadlineMs: d.deadlineMs } : {}),
    }),
    "utf8",
  );
}

const cache = new WeakMap<Uint8Array, SourceDescriptor>();

export function decodeSourceDescriptor(bytes: Uint8Array): SourceDescriptor {
  const known = cache.get(bytes);
  if (known) return known;
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8")) as Record<
      string,
      unknown
    >;
  } catch (err) {
    throw new KafkaConfigError("sourceDescriptor", `not a source descriptor: ${(err as Error).message}`);
  }
  if (typeof raw.topic !== "string" || typeof raw.partition !== "number") {
    throw new KafkaConfigError("sourceDescriptor", "needs a string topic and a number partition");
  }
  const big = (v: unknown) => (typeof v === "string" ? BigInt(v) : undefined);
  const descriptor: SourceDescriptor = {
    topic: raw.topic,
    partition: raw.partition,
    ...(raw.startOffset !== undefined ? { startOffset: big(raw.startOffset)! } : {}),
    ...(raw.stopOffset !== undefined ? { stopOffset: big(raw.stopOffset)! } : {}),
    ...(raw.stopReadTime !== undefined ? { stopReadTime: big(raw.stopReadTime)! } : {}),
    ...(typeof raw.deadlineMs === "number" ? { deadlineMs: raw.deadlineMs } : {}),
  };
  cache.set(bytes, descriptor);
  return descriptor;
}
