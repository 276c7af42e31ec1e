// What one read knows about its partitions, shared by all its DoFn instances in the process. A worker runs each
// concurrent bundle on DoFn instances of its own, and a runner hands a partition's next restriction to whichever
// bundle comes: the fetch one call started ahead, since when the partition has been idle and its latest offset must
// reach the next call, whichever instance makes it.
import type { IsolationLevel } from "../config/index.js";
import type { FetchResult, KafkaClient } from "../client/index.js";
import { LatestOffsets } from "./latest-offsets.js";

export interface Prefetch {
  readonly offset: bigint;
  readonly result: Promise<FetchResult>;
}

export class SharedReadState {
  /** The next fetch of each partition, started while the previous batch was emitted (at most one per partition). */
  readonly prefetched = new Map<string, Prefetch>();
  /** Since when each partition has been caught up with nothing new (idle watermark). */
  readonly quietSince = new Map<string, number>();
  private readonly latest = new Map<IsolationLevel, LatestOffsets>();

  constructor(private readonly client: KafkaClient) {}

  latestOffsets(isolationLevel: IsolationLevel): LatestOffsets {
    let latest = this.latest.get(isolationLevel);
    if (!latest) this.latest.set(isolationLevel, (latest = new LatestOffsets(this.client, isolationLevel)));
    return latest;
  }
}

// By client (the state goes when the client cache drops the client), then by read: `readKey` names the read (its
// spec), so two different reads of one partition keep their own idle times.
const states = new WeakMap<KafkaClient, Map<string, SharedReadState>>();

export function sharedReadState(client: KafkaClient, readKey: string): SharedReadState {
  let byRead = states.get(client);
  if (!byRead) states.set(client, (byRead = new Map()));
  let state = byRead.get(readKey);
  if (!state) byRead.set(readKey, (state = new SharedReadState(client)));
  return state;
}
