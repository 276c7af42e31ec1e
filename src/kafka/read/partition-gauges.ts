// What the reads running in this process last saw per partition (watermark, backlog), for a metrics endpoint to sample
// as gauges. Only the sidecar's worker pool shares a process with /metrics; a runner's process workers keep their own.
import type { Instant } from "../../model/windowing.js";
import { partitionKey } from "./source-descriptor.js";

/**
 * What a read in this process last saw of one partition, as partitionReadGauges() returns it for a metrics endpoint;
 * `updatedAtMs` is when (ms since epoch). Reads running in other processes (a runner's workers) are not included.
 */
export interface PartitionReadGauge {
  readonly topic: string;
  readonly partition: number;
  /** The partition's output watermark (ms since epoch). */
  readonly watermarkMs: number;
  /** Records between the read's position and the partition's high watermark at the last fetch. */
  readonly backlogRecords: number;
  readonly updatedAtMs: number;
}

const gauges = new Map<string, PartitionReadGauge>();

/** Called by the read after each fetch result. */
export function notePartitionRead(
  topic: string,
  partition: number,
  watermark: Instant,
  position: bigint,
  highWatermark: bigint,
): void {
  gauges.set(partitionKey(topic, partition), {
    topic,
    partition,
    watermarkMs: Number(watermark),
    backlogRecords: Math.max(0, Number(highWatermark - position)),
    updatedAtMs: Date.now(),
  });
}

/** Partitions read within the last `maxAgeMs` (older ones are forgotten: their read moved elsewhere or ended). */
export function partitionReadGauges(maxAgeMs = 5 * 60_000): PartitionReadGauge[] {
  const cutoff = Date.now() - maxAgeMs;
  for (const [key, g] of gauges) if (g.updatedAtMs < cutoff) gauges.delete(key);
  return [...gauges.values()];
}
