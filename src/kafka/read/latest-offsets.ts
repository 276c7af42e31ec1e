// End-offset estimates for backlog and growable trackers: the latest offset of each partition, refreshed in the
// background at most once per interval and read from the cache (never fetched per element).
import type { IsolationLevel } from "../config/index.js";
import type { KafkaClient } from "../client/index.js";
import { partitionKey } from "./source-descriptor.js";

export class LatestOffsets {
  private readonly known = new Map<string, { offset: bigint; at: number }>();
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly client: KafkaClient,
    private readonly isolationLevel: IsolationLevel,
    private readonly refreshMs = 1_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The cached latest offset (or `fallback` before the first answer); starts a refresh if the value is stale. */
  estimate(topic: string, partition: number, fallback: bigint): bigint {
    const key = partitionKey(topic, partition);
    const entry = this.known.get(key);
    if ((!entry || this.clock() - entry.at >= this.refreshMs) && !this.inFlight.has(key)) {
      this.inFlight.add(key);
      this.client
        .listOffsets([{ topic, partition }], "latest", this.isolationLevel)
        .then(([o]) => {
          if (o) this.observe(topic, partition, o.offset);
        })
        .catch(() => undefined) // a failed estimate only delays the backlog figure
        .finally(() => this.inFlight.delete(key));
    }
    return entry ? entry.offset : fallback;
  }

  /** Fetch responses carry the high watermark: feed it in for free. */
  observe(topic: string, partition: number, offset: bigint): void {
    const key = partitionKey(topic, partition);
    const entry = this.known.get(key);
    if (!entry || offset >= entry.offset) this.known.set(key, { offset, at: this.clock() });
  }
}
