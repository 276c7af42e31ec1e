// One Fetch request at a time per broker, carrying every partition whose reader is waiting on that broker.
// A broker serves the requests of one connection strictly in order, so separate per-partition requests would queue
// behind each other's max-wait; merged, one response answers all partitions as soon as any has data.
import { KafkaClientClosedError, KafkaClientError } from "../errors.js";
import {
  decodeFetchResponse,
  encodeFetchRequest,
  FETCH_API_KEY,
  FETCH_VERSION,
  type FetchPartitionRequest,
  type FetchPartitionResponse,
  type FetchResponse,
} from "./fetch-protocol.js";
import type { InternalBroker } from "./kafkajs-internals.js";
import { sendOwnRequest } from "./protocol-request.js";
import { kafkaErrorName, toKafkaError } from "./kafkajs-errors.js";

export interface PendingFetch extends FetchPartitionRequest {
  readonly maxWaitMs: number;
  readonly minBytes: number;
  readonly isolationLevel: 0 | 1;
  resolve(response: FetchPartitionResponse): void;
  reject(err: unknown): void;
}

export interface FetchQueueSettings {
  readonly findBroker: (nodeId: number) => Promise<InternalBroker>;
  readonly fetchMaxBytes: number;
  readonly requestTimeoutMs: number;
}

function partitionKey(topic: string, partition: number): string {
  return `${partition}\u0000${topic}`;
}

export class BrokerFetchQueue {
  private pending: PendingFetch[] = [];
  private inFlight = false;
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly nodeId: number,
    private readonly settings: FetchQueueSettings,
  ) {}

  enqueue(entry: PendingFetch): void {
    if (this.closed) {
      entry.reject(new KafkaClientClosedError("fetch"));
      return;
    }
    this.pending.push(entry);
    this.schedule();
  }

  close(): void {
    this.closed = true;
    const pending = this.pending;
    this.pending = [];
    for (const entry of pending) entry.reject(new KafkaClientClosedError("fetch"));
  }

  // Flush on the next macrotask: readers that resume in the same turn (one response answered them all) and
  // immediately ask again are merged into one request.
  private schedule(): void {
    if (this.inFlight || this.scheduled || this.pending.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private takeBatch(): PendingFetch[] {
    const isolationLevel = this.pending[0]!.isolationLevel;
    const batch: PendingFetch[] = [];
    const rest: PendingFetch[] = [];
    const taken = new Set<string>();
    for (const entry of this.pending) {
      const key = partitionKey(entry.topic, entry.partition);
      // Another isolation level, or a second fetch of the same partition: the next request.
      if (entry.isolationLevel !== isolationLevel || taken.has(key)) rest.push(entry);
      else {
        taken.add(key);
        batch.push(entry);
      }
    }
    this.pending = rest;
    batch.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
    return batch;
  }

  private async flush(): Promise<void> {
    if (this.closed || this.pending.length === 0) return;
    const batch = this.takeBatch();
    this.inFlight = true;
    let maxWaitMs = batch[0]!.maxWaitMs;
    let minBytes = batch[0]!.minBytes;
    for (const entry of batch) {
      if (entry.maxWaitMs < maxWaitMs) maxWaitMs = entry.maxWaitMs;
      if (entry.minBytes < minBytes) minBytes = entry.minBytes;
    }
    let broker: InternalBroker | undefined;
    try {
      broker = await this.settings.findBroker(this.nodeId);
      const response = (await sendOwnRequest(broker, {
        apiKey: FETCH_API_KEY,
        apiVersion: FETCH_VERSION,
        apiName: "Fetch",
        body: encodeFetchRequest({
          maxWaitMs,
          minBytes,
          maxBytes: this.settings.fetchMaxBytes,
          isolationLevel: batch[0]!.isolationLevel,
          partitions: batch,
        }),
        decode: decodeFetchResponse,
        timeoutMs: this.settings.requestTimeoutMs + maxWaitMs,
      })) as FetchResponse;
      if (response.errorCode !== 0) {
        throw new KafkaClientError(`fetch from broker ${this.nodeId}: ${kafkaErrorName(response.errorCode)}`, {
          kafkaErrorType: kafkaErrorName(response.errorCode),
        });
      }
      const byPartition = new Map<string, FetchPartitionResponse>();
      for (const p of response.partitions) byPartition.set(partitionKey(p.topic, p.partition), p);
      for (const entry of batch) {
        const result = byPartition.get(partitionKey(entry.topic, entry.partition));
        if (result) entry.resolve(result);
        else {
          entry.reject(
            new KafkaClientError(`fetch ${entry.topic}-${entry.partition}: missing from the broker's response`, {
              retriable: true,
            }),
          );
        }
      }
    } catch (err) {
      if ((err as { name?: string }).name === "KafkaJSConnectionClosedError")
        await broker?.disconnect().catch(() => undefined);
      for (const entry of batch) {
        entry.reject(
          toKafkaError(err, {
            what: `fetch ${entry.topic}-${entry.partition}`,
            topic: entry.topic,
            partition: entry.partition,
          }),
        );
      }
    } finally {
      this.inFlight = false;
      this.schedule();
    }
  }
}
