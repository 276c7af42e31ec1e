// End-to-end latency of a running pipeline, as the streaming tests and bench/streaming-latency.ts measure it:
// records produced one at a time, each stamped with its send time; latency = the output record's timestamp (the
// write's send) minus the input record's.
import type { ConsumedRecord } from "./fixtures.js";
import { testKafka } from "./fixtures.js";

export interface LatencySummary {
  readonly p50: number;
  readonly p90: number;
  readonly max: number;
}

/** Sends `live0..live<count-1>` to `topic` (round robin over `partitions`), `intervalMs` apart; returns each send time. */
export async function produceLive(
  bootstrap: string,
  topic: string,
  count: number,
  intervalMs: number,
  partitions = 4,
): Promise<Map<string, number>> {
  const producer = testKafka(bootstrap).producer();
  await producer.connect();
  const sentAt = new Map<string, number>();
  try {
    for (let j = 0; j < count; j++) {
      const key = `live${j}`;
      const now = Date.now();
      sentAt.set(key, now);
      await producer.send({
        topic,
        acks: -1,
        messages: [{ key, value: `v${j}`, partition: j % partitions, timestamp: String(now) }],
      });
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  } finally {
    await producer.disconnect();
  }
  return sentAt;
}

/** The latencies (ms) of the output records `produceLive` sent, sorted. */
export function liveLatencies(output: readonly ConsumedRecord[], sentAt: ReadonlyMap<string, number>): number[] {
  return output
    .filter((r) => r.key !== null && sentAt.has(r.key))
    .map((r) => Number(r.timestamp) - sentAt.get(r.key!)!)
    .sort((a, b) => a - b);
}

export function summarizeLatencies(sorted: readonly number[]): LatencySummary {
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
  return { p50: at(0.5), p90: at(0.9), max: sorted[sorted.length - 1]! };
}
