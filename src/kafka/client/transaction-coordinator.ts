// The coordinator side of a transactional producer (Kafka's transaction protocol, KIP-98): the coordinator of a
// transactional.id hands out its producer id and epoch (fencing any older producer with that id, and resolving the
// transaction it left), learns which partitions and which group's offsets a transaction touches, and writes its
// commit or abort. A few requests per transaction: they go through kafkajs's request encoders on its connections,
// while the records go through our Produce path (./wire-producer.ts).
import type { ProducerOptions } from "../config/index.js";
import { KafkaClientError } from "../errors.js";
import { retryBackoffMs } from "./kafkajs.js";
import { toKafkaError } from "./kafkajs-errors.js";
import type { InternalBroker, InternalCluster, TxnArgs } from "./kafkajs-internals.js";
import { retryUntil } from "./retry-until.js";
import type { GroupOffset } from "./types.js";

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
  ) {}

  /** InitProducerId: this id's producer id and a new epoch; an older producer with the id is fenced from now on. */
  async initProducerId(): Promise<TxnProducerId> {
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

  /** EndTxn: the coordinator commits (or aborts) the transaction and writes its markers. */
  end(id: TxnProducerId, commit: boolean): Promise<void> {
    return this.onCoordinator(
      TRANSACTION,
      this.transactionalId,
      `${commit ? "commit" : "abort"} transaction`,
      async (broker) => {
        await broker.endTxn({ ...this.args(id), transactionResult: commit });
      },
    );
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
    if (type === GROUP) return send();
    const run = this.transactionTail.then(send, send);
    this.transactionTail = run.catch(() => undefined);
    return run;
  }
}

function isConcurrentTransactions(err: unknown): boolean {
  return err instanceof KafkaClientError && err.kafkaErrorType === "CONCURRENT_TRANSACTIONS";
}
