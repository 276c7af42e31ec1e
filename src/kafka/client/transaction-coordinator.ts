// The coordinator side of a transactional producer (Kafka's transaction protocol, KIP-98): the coordinator of a
// transactional.id hands out its producer id and epoch (fencing any older producer with that id, and resolving the
// transaction it left), learns which partitions and which group's offsets a transaction touches, and writes its
// commit or abort. A few requests per transaction: they go through kafkajs's request encoders on its connections,
// while the records go through our Produce path (./wire-producer.ts).
//
// Transactions v2 (KIP-890 part 2; Kafka 4.0+ with the finalized feature transaction.version >= 2, which new 4.x
// clusters have): a transaction's first Produce (v12) adds its partition, TxnOffsetCommit (v5) adds the group, so
// neither AddPartitionsToTxn nor AddOffsetsToTxn waits before them; EndTxn (v5) bumps the epoch at every
// transaction's end and answers the next transaction's producer id and epoch. Chosen once per producer, at its
// InitProducerId, as Java's producer does; these requests are ours (./transaction-protocol.ts).
import type { ProducerOptions } from "../config/index.js";
import { KafkaClientClosedError, KafkaClientError } from "../errors.js";
import { kafkaCodeError, toKafkaError } from "./kafkajs-errors.js";
import type { InternalBroker, InternalCluster, TxnArgs } from "./kafkajs-internals.js";
import { PRODUCE_API_KEY, PRODUCE_TXN_V2_VERSION } from "./produce-protocol.js";
import { sendCheckedRequest, sendOwnRequest } from "./protocol-request.js";
import { retryBackoffMs, retryUntil } from "./retry-until.js";
import {
  API_VERSIONS_API_KEY,
  API_VERSIONS_FEATURES_VERSION,
  decodeApiVersionsResponse,
  decodeEndTxnResponse,
  decodeTxnOffsetCommitResponse,
  encodeApiVersionsRequest,
  encodeEndTxnRequest,
  encodeTxnOffsetCommitRequest,
  END_TXN_API_KEY,
  END_TXN_V2_VERSION,
  TXN_OFFSET_COMMIT_API_KEY,
  TXN_OFFSET_COMMIT_V2_VERSION,
} from "./transaction-protocol.js";
import type { GroupOffset } from "./types.js";

/** Kafka's transaction protocol: 1 (KIP-98) or 2 (KIP-890 part 2). */
export type TransactionVersion = 1 | 2;

export interface TxnProducerId {
  readonly producerId: bigint;
  readonly producerEpoch: number;
}

export interface TxnPartition {
  readonly topic: string;
  readonly partition: number;
}

const GROUP = 0;
const TRANSACTION = 1;

/**
 * The first backoff after CONCURRENT_TRANSACTIONS: the coordinator is still writing the previous transaction's
 * markers (a few ms on a healthy broker), so the next transaction's first request asks again sooner than after other
 * failures (Java's producer: 20 ms for AddPartitionsToTxn). With the client's 100 ms, each transaction but the first
 * of a shard waited ~100 ms for nothing.
 */
const CONCURRENT_TRANSACTIONS_BACKOFF_MS = 20;

export class TransactionCoordinator {
  /** Set by the first initProducerId where v2 is allowed: the protocol this producer's transactions speak. */
  private version: TransactionVersion | undefined;
  /** Set when the producer closes: a request retrying then (its connection gone) must not reconnect the cluster. */
  private closed = false;
  /** Requests not settled yet: close waits for them, so none reconnects the cluster after it was disconnected. */
  private readonly pending = new Set<Promise<unknown>>();
  /** Coordinators by type and key (the transactional id, or a group id), found once and again when they move. */
  private readonly coordinators = new Map<string, Promise<InternalBroker>>();
  /**
   * The last request to the transaction's coordinator: they go one at a time, in call order (as Java's producer
   * sends them), so adding offsets while partitions are being added does not meet CONCURRENT_TRANSACTIONS.
   */
  private transactionTail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly cluster: InternalCluster,
    readonly transactionalId: string,
    private readonly options: ProducerOptions,
    /** The newest protocol to use where the cluster speaks it (1 keeps Kafka 3's protocol; tests pin each). */
    private readonly maxVersion: TransactionVersion = 2,
  ) {}

  /** Stops every request's retries and waits for those in flight: the producer is closing. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.pending]);
  }

  /** The protocol of this producer's transactions (known after initProducerId). */
  get transactionVersion(): TransactionVersion {
    return this.version ?? 1;
  }

  /**
   * InitProducerId: this id's producer id and a new epoch; an older producer with the id is fenced from now on.
   * The first one also learns the transaction protocol.
   */
  async initProducerId(): Promise<TxnProducerId> {
    if (this.maxVersion === 2 && this.version === undefined) this.version = await this.clusterTransactionVersion();
    const { producerId, producerEpoch } = await this.onCoordinator(
      TRANSACTION,
      this.transactionalId,
      "init producer id",
      (broker) =>
        broker.initProducerId({
          transactionalId: this.transactionalId,
          transactionTimeout: this.options.transactionTimeoutMs,
        }),
    );
    return { producerId: BigInt(producerId), producerEpoch };
  }

  /** AddPartitionsToTxn: records may go to these partitions inside the transaction once this resolves. */
  addPartitions(id: TxnProducerId, partitions: readonly TxnPartition[]): Promise<void> {
    const topics = new Map<string, number[]>();
    for (const { topic, partition } of partitions) {
      const list = topics.get(topic);
      if (list) list.push(partition);
      else topics.set(topic, [partition]);
    }
    return this.onCoordinator(TRANSACTION, this.transactionalId, "add partitions to transaction", async (broker) => {
      await broker.addPartitionsToTxn({
        ...this.args(id),
        topics: [...topics].map(([topic, list]) => ({ topic, partitions: list })),
      });
    });
  }

  /**
   * The group's offsets join the transaction: AddOffsetsToTxn to the transaction's coordinator, then TxnOffsetCommit
   * (metadata included) to the group's coordinator. They become the group's committed offsets on commit.
   */
  async sendOffsets(id: TxnProducerId, groupId: string, offsets: readonly GroupOffset[]): Promise<void> {
    if (this.version === 2) return this.txnOffsetCommitV2(id, groupId, offsets);
    await this.onCoordinator(
      TRANSACTION,
      this.transactionalId,
      `add offsets of group ${groupId} to transaction`,
      async (broker) => {
        await broker.addOffsetsToTxn({ ...this.args(id), groupId });
      },
    );
    const topics = new Map<string, { partition: number; offset: string; metadata: string | null }[]>();
    for (const { topic, partition, offset, metadata } of offsets) {
      const list = topics.get(topic) ?? [];
      list.push({ partition, offset: offset.toString(), metadata: metadata ?? null });
      topics.set(topic, list);
    }
    await this.onCoordinator(GROUP, groupId, `commit offsets of group ${groupId} in transaction`, async (broker) => {
      await broker.txnOffsetCommit({
        ...this.args(id),
        groupId,
        topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })),
      });
    });
  }

  /**
   * TxnOffsetCommit v5 to the group's coordinator, which adds the group to the transaction itself (transactions v2).
   * Offsets of one topic must be adjacent.
   */
  private txnOffsetCommitV2(id: TxnProducerId, groupId: string, offsets: readonly GroupOffset[]): Promise<void> {
    const what = `commit offsets of group ${groupId} in transaction`;
    const body = encodeTxnOffsetCommitRequest({
      transactionalId: this.transactionalId,
      groupId,
      producerId: id.producerId,
      producerEpoch: id.producerEpoch,
      offsets: offsets.map((o) => ({ ...o, metadata: o.metadata ?? null })),
    });
    return this.onCoordinator(GROUP, groupId, what, async (broker) => {
      const response = (await sendOwnRequest(broker, {
        apiKey: TXN_OFFSET_COMMIT_API_KEY,
        apiVersion: TXN_OFFSET_COMMIT_V2_VERSION,
        apiName: "TxnOffsetCommit",
        body,
        decode: decodeTxnOffsetCommitResponse,
        timeoutMs: this.options.requestTimeoutMs,
        flexible: true,
      }))!;
      const failed = response.partitions.find((p) => p.errorCode !== 0);
      if (failed) throw kafkaCodeError(`${what} (${failed.topic}-${failed.partition})`, failed.errorCode);
    });
  }

  /**
   * EndTxn: the coordinator commits (or aborts) the transaction and writes its markers. Under transactions v2 it
   * answers the producer id and epoch of the next transaction (the epoch bumped), undefined under v1.
   */
  end(id: TxnProducerId, commit: boolean): Promise<TxnProducerId | undefined> {
    const what = `${commit ? "commit" : "abort"} transaction`;
    return this.onCoordinator(TRANSACTION, this.transactionalId, what, async (broker) => {
      if (this.version !== 2) {
        await broker.endTxn({ ...this.args(id), transactionResult: commit });
        return undefined;
      }
      const response = await sendCheckedRequest(
        broker,
        {
          apiKey: END_TXN_API_KEY,
          apiVersion: END_TXN_V2_VERSION,
          apiName: "EndTxn",
          body: encodeEndTxnRequest({ ...id, transactionalId: this.transactionalId, commit }),
          decode: decodeEndTxnResponse,
          timeoutMs: this.options.requestTimeoutMs,
          flexible: true,
        },
        what,
      );
      return { producerId: response.producerId, producerEpoch: response.producerEpoch };
    });
  }

  /**
   * 2 when the transaction coordinator serves the v2 requests and the cluster finalized transaction.version >= 2
   * (ApiVersions v3 tells the finalized features; kafkajs asks an older version), else 1.
   */
  private clusterTransactionVersion(): Promise<TransactionVersion> {
    return this.onCoordinator(TRANSACTION, this.transactionalId, "find the transaction version", async (broker) => {
      const serves = (apiKey: number, version: number) => (broker.versions?.[apiKey]?.maxVersion ?? -1) >= version;
      if (
        !serves(API_VERSIONS_API_KEY, API_VERSIONS_FEATURES_VERSION) ||
        !serves(PRODUCE_API_KEY, PRODUCE_TXN_V2_VERSION) ||
        !serves(TXN_OFFSET_COMMIT_API_KEY, TXN_OFFSET_COMMIT_V2_VERSION) ||
        !serves(END_TXN_API_KEY, END_TXN_V2_VERSION)
      )
        return 1;
      const response = await sendCheckedRequest(
        broker,
        {
          apiKey: API_VERSIONS_API_KEY,
          apiVersion: API_VERSIONS_FEATURES_VERSION,
          apiName: "ApiVersions",
          body: encodeApiVersionsRequest(),
          decode: decodeApiVersionsResponse,
          timeoutMs: this.options.requestTimeoutMs,
          flexible: true,
        },
        "api versions",
      );
      return (response.finalizedFeatures.get("transaction.version") ?? 0) >= 2 ? 2 : 1;
    });
  }

  private args(id: TxnProducerId): TxnArgs {
    return {
      transactionalId: this.transactionalId,
      producerId: id.producerId.toString(),
      producerEpoch: id.producerEpoch,
    };
  }

  /**
   * Sends to the coordinator of the transactional id or group, found once and again after a retriable failure (it
   * moved or is loading, CONCURRENT_TRANSACTIONS while the previous transaction completes, a lost connection), which
   * is retried until max.block.ms as Java's producer does.
   */
  private onCoordinator<T>(
    type: typeof GROUP | typeof TRANSACTION,
    key: string,
    what: string,
    request: (broker: InternalBroker) => Promise<T>,
  ): Promise<T> {
    const slot = `${type}:${key}`;
    const { retry } = this.options;
    const backoffMs = (attempt: number, err: unknown) =>
      isConcurrentTransactions(err)
        ? Math.min(
            retry.maxBackoffMs,
            Math.min(CONCURRENT_TRANSACTIONS_BACKOFF_MS, retry.initialBackoffMs) * 2 ** attempt,
          )
        : retryBackoffMs(attempt, retry);
    const send = () =>
      retryUntil(
        Date.now() + this.options.maxBlockMs,
        retry,
        async () => {
          if (this.closed) throw new KafkaClientClosedError(what);
          let broker = this.coordinators.get(slot);
          if (!broker) {
            broker = this.cluster.findGroupCoordinator({ groupId: key, coordinatorType: type });
            this.coordinators.set(slot, broker);
          }
          try {
            return await request(await broker);
          } catch (err) {
            const mapped = toKafkaError(err, { what });
            // Found again next time, unless it answered itself that a transaction is completing (it has not moved).
            if (!isConcurrentTransactions(mapped) && this.coordinators.get(slot) === broker)
              this.coordinators.delete(slot);
            throw mapped;
          }
        },
        undefined,
        backoffMs,
      );
    const run = type === GROUP ? send() : this.transactionTail.then(send, send);
    if (type === TRANSACTION) this.transactionTail = run.catch(() => undefined);
    this.pending.add(run);
    const settled = () => this.pending.delete(run);
    void run.then(settled, settled);
    return run;
  }
}

function isConcurrentTransactions(err: unknown): boolean {
  return err instanceof KafkaClientError && err.kafkaErrorType === "CONCURRENT_TRANSACTIONS";
}
