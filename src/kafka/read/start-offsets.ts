// Where a partition's read starts: an explicit offset, else the first offset at the start time, else the group's
// committed offset, else auto.offset.reset. Resolved for many partitions at once (one request per kind).
import type { ConsumerOptions } from "../config/index.js";
import type { KafkaClient, TopicPartition } from "../client/index.js";
import { KafkaConfigError } from "../errors.js";
import type { ReadSpec } from "./spec.js";

export async function resolveStartOffsets(
  client: KafkaClient,
  spec: ReadSpec,
  options: ConsumerOptions,
  partitions: readonly TopicPartition[],
): Promise<bigint[]> {
  if (partitions.length === 0) return [];
  const latest = () =>
    client.listOffsets(partitions, "latest", options.isolationLevel).then((o) => o.map((x) => x.offset));
  if (spec.startReadTime !== null) {
    const found = await client.offsetsForTimes(partitions, BigInt(spec.startReadTime));
    const ends = found.some((f) => f.offset === null) ? await latest() : [];
    return found.map((f, i) => f.offset ?? ends[i]!);
  }
  const starts: (bigint | null)[] = partitions.map(() => null);
  if (options.groupId) {
    const committed = await client.fetchCommittedOffsets(options.groupId, partitions);
    committed.forEach((c, i) => {
      starts[i] = c.offset;
    });
  }
  if (starts.every((s) => s !== null)) return starts as bigint[];
  if (options.autoOffsetReset === "none") {
    const missing = partitions.filter((_, i) => starts[i] === null).map((p) => `${p.topic}-${p.partition}`);
    throw new KafkaConfigError(
      "auto.offset.reset",
      `is none and group ${options.groupId ?? "(none)"} has no committed offset for ${missing.join(", ")}`,
    );
  }
  const reset = await client.listOffsets(
    partitions,
    options.autoOffsetReset === "earliest" ? "earliest" : "latest",
    options.isolationLevel,
  );
  return starts.map((s, i) => s ?? reset[i]!.offset);
}

/**
 * Where a partition found while the read runs starts: every record in it was written after the read began, so its
 * beginning (or the group's committed offset, or the start time) — never auto.offset.reset=latest, which would skip
 * what was written between its creation and its discovery.
 */
export async function resolveDiscoveredStartOffsets(
  client: KafkaClient,
  spec: ReadSpec,
  options: ConsumerOptions,
  partitions: readonly TopicPartition[],
): Promise<bigint[]> {
  if (partitions.length === 0) return [];
  if (spec.startReadTime !== null) return resolveStartOffsets(client, spec, options, partitions);
  const committed = options.groupId ? await client.fetchCommittedOffsets(options.groupId, partitions) : [];
  const earliest = await client.listOffsets(partitions, "earliest", options.isolationLevel);
  return partitions.map((_, i) => committed[i]?.offset ?? earliest[i]!.offset);
}

/**
 * Splits `total` records over partitions that hold `available[i]` each: everyone gets an equal share, what a small
 * partition cannot use goes to the others. The sum is exactly min(total, sum(available)).
 */
export function allocateRecords(total: bigint, available: readonly bigint[]): bigint[] {
  const alloc = available.map(() => 0n);
  let left = total;
  let open = available.map((_, i) => i).filter((i) => available[i]! > 0n);
  while (left > 0n && open.length > 0) {
    const share = left / BigInt(open.length) || 1n;
    for (const i of open) {
      if (left === 0n) break;
      const take = [share, available[i]! - alloc[i]!, left].reduce((a, b) => (a < b ? a : b));
      alloc[i]! += take;
      left -= take;
    }
    open = open.filter((i) => alloc[i]! < available[i]!);
  }
  return alloc;
}
