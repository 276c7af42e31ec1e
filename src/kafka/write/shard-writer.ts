// One exactly-once shard: a transactional producer with the stable id `<prefix>-<shard>`, and the protocol that
// writes a batch at most once:
//   1. beginTransaction — the producer's first one runs InitProducerId, which bumps the id's epoch: any older
//      producer with this id (a zombie worker, the attempt that failed) is fenced, and a transaction it left open
//      is aborted (or, if it was already committing, completed) before this returns.
//   2. read the shard's committed state (group offset metadata, see sequence.ts) — stable now, since only this
//      id writes it and its previous transaction is resolved. Known in memory after our own commits.
//   3. skip the batch if it was committed before; else send its records and put the new state into the transaction
//      (sendOffsets, at the same time) and commit: records and state land together or not at all.
// Any failure discards the producer (best-effort abort, close) and the remembered state, so the retry starts at 1.
// A failure that passes (the broker restarting, a coordinator moving: a retriable Kafka error; a transaction the
// broker calls abortable) is retried here at once, until delivery.timeout.ms, by that same protocol; anything else
// fails the bundle for the runner to retry.
import { hostname } from "node:os";
import type { ProducerOptions } from "../config/index.js";
import {
  LeasePool,
  retryUntil,
  type KafkaGroupOffsetsClient,
  type KafkaProducer,
  type KafkaTransaction,
  type ProducerRecord,
} from "../client/index.js";
import { isRetriableKafkaError, KafkaClientError } from "../errors.js";
import { KafkaWriteError } from "./errors.js";
import { payloadBytes } from "./record.js";
import { decideBatch, formatShardMetadata, parseShardState, type ShardState } from "./sequence.js";
import type { ExactlyOnceSpec } from "./spec.js";

export type ShardOffsetsClient = KafkaGroupOffsetsClient;

/** A batch's records: all of them, or a function yielding them in groups (called again by each attempt). */
/** A group of a batch's records that sends itself (the transactions step's encoded records, see dofns.ts). */
export interface SelfSendingGroup {
  /** Gets ready to send (partition counts looked up, say); awaited in order, before send. */
  prepare(transaction: KafkaTransaction): Promise<void>;
  /** Sends the records, after those sent before; resolves when they are acknowledged. */
  send(transaction: KafkaTransaction): Promise<void>;
  /** After prepare: how many records it sends, and their key + value bytes. */
  readonly records: number;
  readonly bytes: number;
}

export type BatchGroup = readonly ProducerRecord[] | SelfSendingGroup;

export type BatchRecords = readonly ProducerRecord[] | (() => Iterable<BatchGroup>);

export interface BatchOutcome {
  readonly kind: "committed" | "skipped";
  /** The shard's sequence number of this batch. */
  readonly seq: bigint;
  readonly records: number;
}

export interface ShardWriterDeps {
  readonly createProducer: (options: ProducerOptions) => KafkaProducer;
  readonly offsets: ShardOffsetsClient;
  /** Recorded in the metadata for whoever debugs a shard later. */
  readonly writerId?: string;
  /** Called once when the writer is closed (releases what the deps hold). */
  readonly onClose?: () => void;
}

const DEFAULT_WRITER_ID = `${hostname()}/${process.pid}`;

/** Key and value bytes of a batch's records handed to the producer and not yet acknowledged, at most. */
const MAX_BYTES_IN_FLIGHT = 16 * 1024 * 1024;

export class ShardWriter {
  private producer: KafkaProducer | undefined;
  private state: ShardState | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  private metadataTopicChecked = false;

  constructor(
    readonly spec: ExactlyOnceSpec,
    readonly shard: number,
    /** The producer options, transactional.id included. */
    readonly producerOptions: ProducerOptions,
    private readonly deps: ShardWriterDeps,
  ) {
    if (!Number.isInteger(shard) || shard < 0 || shard >= spec.numShards) {
      throw new KafkaWriteError("KAFKA_WRITE_EXACTLY_ONCE", `shard ${shard} is outside 0..${spec.numShards - 1}`);
    }
  }

  get transactionalId(): string {
    return this.producerOptions.transactionalId!;
  }

  private get where(): string {
    return `sink group ${this.spec.sinkGroupId}, ${this.spec.metadataTopic}-${this.shard}`;
  }

  /**
   * Writes one batch exactly once; batches of this shard run one at a time, in call order. `records` may be given
   * as a function that yields them in groups, called once per attempt that writes: each group goes to the producer
   * as it is made, so a big batch is never held as records all at once.
   */
  writeBatch(batchId: string, digest: string, records: BatchRecords): Promise<BatchOutcome> {
    const run = this.tail.then(() => this.writeRetrying(batchId, digest, records));
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * A transaction that failed part-way cannot be resumed (a commit whose answer was lost has an unknown outcome).
   * So a retriable failure starts the batch again with a new producer, which fences the failed transaction; the
   * committed sequence then says whether it landed.
   */
  private writeRetrying(batchId: string, digest: string, records: BatchRecords): Promise<BatchOutcome> {
    return retryUntil(
      Date.now() + this.producerOptions.deliveryTimeoutMs,
      this.producerOptions.retry,
      () => this.write(batchId, digest, records),
      (err) => !this.closed && startsAgain(err),
    );
  }

  private async write(batchId: string, digest: string, records: BatchRecords): Promise<BatchOutcome> {
    if (this.closed)
      throw new KafkaWriteError("KAFKA_WRITE_EXACTLY_ONCE", `shard ${this.transactionalId}: the writer is closed`);
    this.producer ??= this.deps.createProducer(this.producerOptions);
    let transaction: KafkaTransaction | undefined;
    try {
      transaction = await this.producer.beginTransaction();
      this.state ??= await this.readState(this.producer);
      const decision = decideBatch(this.state, batchId, digest);
      if (decision.kind !== "write") {
        const open = transaction;
        transaction = undefined;
        await open.abort(); // nothing was added: ends locally, no request
        if (decision.kind === "conflict") {
          throw new KafkaWriteError(
            "KAFKA_WRITE_EXACTLY_ONCE",
            `${this.where}: batch ${batchId} was committed as sequence ${decision.committed.seq} with other records ` +
              `(${decision.committed.digest}, now ${digest}); the runner re-formed the batch (input not stable) or ` +
              `another job uses this sink group`,
          );
        }
        return { kind: "skipped", seq: decision.committed.seq, records: 0 };
      }
      // Records and the new state go in together (the coordinator's requests overlap the records' round trips);
      // both must have settled before the transaction ends either way.
      const open = transaction;
      const stateSent = open.sendOffsets(this.spec.sinkGroupId, [
        {
          topic: this.spec.metadataTopic,
          partition: this.shard,
          offset: decision.seq,
          metadata: formatShardMetadata(decision.next, this.deps.writerId ?? DEFAULT_WRITER_ID),
        },
      ]);
      let count = 0;
      const sends: Promise<void>[] = [];
      const inFlight: { readonly done: Promise<void>; readonly bytes: number }[] = [];
      let inFlightBytes = 0;
      try {
        for (const group of typeof records === "function" ? records() : [records]) {
          let done: Promise<void>;
          let bytes: number;
          if (isRecords(group)) {
            if (group.length === 0) continue;
            count += group.length;
            done = open.produce(group);
            bytes = group.reduce((sum, record) => sum + payloadBytes(record), 0);
          } else {
            await group.prepare(open);
            count += group.records;
            done = group.send(open);
            bytes = group.bytes;
          }
          sends.push(done);
          inFlight.push({ done, bytes });
          inFlightBytes += bytes;
          // A big batch is read on as its first groups are acknowledged, not all into the producer at once.
          while (inFlightBytes > MAX_BYTES_IN_FLIGHT && inFlight.length > 1) {
            const oldest = inFlight.shift()!;
            inFlightBytes -= oldest.bytes;
            await oldest.done;
          }
        }
      } catch (err) {
        await Promise.allSettled([stateSent, ...sends]); // (a group that does not decode) settled before the abort
        throw err;
      }
      const [sent, state] = await Promise.allSettled([Promise.all(sends), stateSent]);
      if (sent.status === "rejected") throw sent.reason;
      if (state.status === "rejected") throw state.reason;
      transaction = undefined;
      try {
        await open.commit();
      } catch (err) {
        // The outcome is unknown (a timeout may still commit): only a new producer's fencing settles it.
        await this.discard(undefined);
        throw err;
      }
      this.state = decision.next;
      return { kind: "committed", seq: decision.seq, records: count };
    } catch (err) {
      if (this.producer) await this.discard(transaction);
      throw err;
    }
  }

  private async readState(producer: KafkaProducer): Promise<ShardState> {
    const { metadataTopic } = this.spec;
    if (!this.metadataTopicChecked) {
      // As a user's first write meets it: the topic may not exist yet; the producer creates it where the broker
      // allows (with the broker's num.partitions), as Java's sink does by asking its producer.
      const count = (await producer.partitionsFor(metadataTopic)).length;
      if (count <= this.shard) {
        throw new KafkaWriteError(
          "KAFKA_WRITE_EXACTLY_ONCE",
          `exactly-once shard ${this.shard} keeps its sequence in partition ${this.shard} of topic ${metadataTopic}, ` +
            `which has only ${count}: use numShards <= ${count} or a metadataTopic with >= ${this.spec.numShards} ` +
            "partitions (create it first)",
        );
      }
      this.metadataTopicChecked = true;
    }
    const [committed] = await this.deps.offsets.fetchCommittedOffsets(this.spec.sinkGroupId, [
      { topic: metadataTopic, partition: this.shard },
    ]);
    return parseShardState(committed ?? null, this.where);
  }

  /** Forgets the producer and what it knew; the next batch starts with a new producer that fences this one. */
  private async discard(transaction: KafkaTransaction | undefined): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    this.state = undefined;
    if (transaction) await transaction.abort().catch(() => undefined);
    await producer?.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    const producer = this.producer;
    this.producer = undefined;
    this.state = undefined;
    await producer?.close().catch(() => undefined);
    this.deps.onClose?.();
  }
}

/**
 * Failures after which the batch starts again at once with a new producer: Kafka's retriable ones, and
 * TRANSACTION_ABORTABLE (Kafka 4, under transactions v2: this transaction cannot commit, say it timed out on the
 * coordinator; Java's producer tells its caller to abort and begin again).
 */
function startsAgain(err: unknown): boolean {
  return (
    isRetriableKafkaError(err) || (err instanceof KafkaClientError && err.kafkaErrorType === "TRANSACTION_ABORTABLE")
  );
}

/**
 * The process's shard writers, one per transactional id and config: DoFn instances that handle the same shard
 * (several bundle processors of one stage) share its producer and take turns, instead of fencing each other.
 * A writer nobody holds is closed after an idle period.
 */
export class ShardWriterPool {
  private readonly pool: LeasePool<ShardWriter>;

  constructor(idleCloseMs = 60_000) {
    this.pool = new LeasePool(idleCloseMs, (writer) => writer.close());
  }

  acquire(key: string, create: () => ShardWriter): { writer: ShardWriter; release: () => void } {
    const lease = this.pool.acquire(key, create);
    return { writer: lease.value, release: lease.release };
  }

  get size(): number {
    return this.pool.size;
  }

  /** Closes every writer now (shutdown, tests). */
  closeAll(): Promise<void> {
    return this.pool.closeAll();
  }
}

export const defaultShardWriterPool = new ShardWriterPool();

function isRecords(group: BatchGroup): group is readonly ProducerRecord[] {
  return Array.isArray(group);
}
