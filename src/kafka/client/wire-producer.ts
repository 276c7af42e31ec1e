// The KafkaProducer: our own produce path over kafkajs's broker connections, as the read
// has its own Fetch. Records gather per partition into batches (batch.size, linger.ms), which we encode ourselves
// (./record-batch-encoder.ts) and send in Produce requests per leader, each with the next batch of every partition
// it leads, up to max.in.flight.requests.per.connection requests in flight. Why: kafkajs's producer spent most of a
// write's CPU in its generic encoder and in regrouping messages (bench/RESULTS.md has the figures).
//
// Ordering and idempotence keep Kafka's semantics (./partition-queue.ts): a partition's batches go in order on the
// leader's connection; when one fails, the partition resends from its first unacknowledged batch with the same bytes
// and sequence numbers, so the broker drops what it already appended. An idempotent producer takes a producer id
// (InitProducerId) and numbers each partition's records.
//
// A transactional producer (transactional.id) sends the same way, inside transactions: its producer id comes from
// the id's coordinator (./transaction-coordinator.ts), a partition joins the open transaction (AddPartitionsToTxn;
// under transactions v2 its first Produce, v12, adds it) before its first batch goes, batches carry the transactional
// flag and the id, and commit waits for every batch before EndTxn. A failed batch fails the whole transaction (the
// caller aborts); after an abort that sent records the next transaction starts under a new epoch, as Java's
// producer does after an abortable error. Under v2 every EndTxn answers the next transaction's epoch.
import { Kafka } from "kafkajs";
import { consoleLogger, type KafkaLogger, type ProducerOptions } from "../config/index.js";
import {
  isRetriableKafkaError,
  KafkaClientClosedError,
  KafkaClientError,
  KafkaConfigError,
  KafkaTimeoutError,
  KafkaUnknownTopicError,
  type KafkaError,
} from "../errors.js";
import { codecId, compress, kafkajsConfig, type KafkajsSettings } from "./kafkajs.js";
import { retryBackoffMs, sleep } from "./retry-until.js";
import { kafkaErrorCode } from "./kafka-error-codes.js";
import { kafkaErrorName, toKafkaError } from "./kafkajs-errors.js";
import { createInternalCluster, type InternalCluster } from "./kafkajs-internals.js";
import { keyPartition } from "./murmur2.js";
import {
  decodeInitProducerIdResponse,
  decodeProduceResponse,
  encodeInitProducerIdRequest,
  encodeProduceRequest,
  INIT_PRODUCER_ID_API_KEY,
  INIT_PRODUCER_ID_VERSION,
  PRODUCE_API_KEY,
  PRODUCE_TXN_V2_VERSION,
  PRODUCE_VERSION,
  type ProducePartitionData,
  type ProduceResponse,
} from "./produce-protocol.js";
import { Batch, PartitionQueue, type ProducerIdentity } from "./partition-queue.js";
import { sendCheckedRequest, sendOwnRequest } from "./protocol-request.js";
import { batchBuffersFor, batchSendLimit, type BatchBuffers } from "./batch-buffers.js";
import {
  byteLength,
  encodeCompressedEncodedBatch,
  encodeRecordBatch,
  encodeUnstampedEncodedBatch,
  encodeUnstampedRecordBatch,
  stampRecordBatch,
  type EncodedRecords,
} from "./record-batch-encoder.js";
import { RECORDS_OFFSET } from "./record-batch-layout.js";
import { TopicReadiness } from "./topic-readiness.js";
import { retryUntil } from "./retry-until.js";
import { TransactionCoordinator, type TxnProducerId } from "./transaction-coordinator.js";
import type { GroupOffset, KafkaProducer, KafkaTransaction, ProducerRecord } from "./types.js";

/** Per-record bytes beyond key, value and headers (length, attributes, deltas): what batch.size counts. */
const RECORD_OVERHEAD_BYTES = 12;
/** Metadata refreshes before records naming a partition the topic does not have fail. */
const MAX_METADATA_REFRESHES = 4;
const DUPLICATE_SEQUENCE_NUMBER = 46;
/** The producer id is gone or the sequence broke: a new id (and sequences from 0) for the batches after. */
const PRODUCER_STATE_ERRORS = new Set([45, 59]); // OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID
const LEADER_ERRORS = new Set([3, 5, 6, 9, 74, 75]); // unknown partition, no/not leader, replica, epochs

function recordBytes(record: ProducerRecord): number {
  let bytes = RECORD_OVERHEAD_BYTES + byteLength(record.key) + byteLength(record.value);
  if (record.headers) for (const h of record.headers) bytes += byteLength(h.key) + byteLength(h.value) + 2;
  return bytes;
}

/** The open transaction of a transactional producer. */
class OpenTransaction {
  /** Partitions added to it (AddPartitionsToTxn answered): their batches may go. */
  readonly partitions = new Set<PartitionQueue>();
  /** The AddPartitionsToTxn in flight, if any. */
  adding: Promise<void> | undefined;
  /** Partitions or a group's offsets were (or may have been) added: the transaction exists on the coordinator. */
  started = false;
  /** Why it cannot commit: a batch failed, a partition could not be added, or it is being aborted. */
  failure: unknown;
  /** sendOffsets calls not settled yet: commit and abort wait for them (a late TxnOffsetCommit must not outlive it). */
  readonly offsetCalls = new Set<Promise<void>>();

  constructor(readonly identity: ProducerIdentity) {}
}

/** A topic's partitions as the producer routes records to them. */
interface TopicRoute {
  count: number;
  readAt: number;
  readonly queues: (PartitionQueue | undefined)[];
  /** Records without key or partition stick to one partition until its batch is sealed (Java's default); -1: none. */
  sticky: number;
}

export class WireProducer implements KafkaProducer {
  private readonly logger: KafkaLogger;
  private readonly cluster: InternalCluster;
  private readonly topics: TopicReadiness;
  private readonly readyTopics = new Set<string>();
  /** Every partition queue, for the sender to go through. */
  private readonly queues: PartitionQueue[] = [];
  private readonly routes = new Map<string, TopicRoute>();
  private readonly unsettled = new Set<Promise<void>>();
  private readonly brokerInFlight = new Map<number, number>();
  /** Per leader: settles once the last request formed for it was handed to its connection (see send). */
  private readonly handedOver = new Map<number, Promise<void>>();
  private readonly sendLimit: number;
  private readonly batchBuffers: BatchBuffers;
  private readonly takeBatchBuffer = (size: number) => this.batchBuffers.take(size);
  private readonly codec: number;
  private identity: Promise<ProducerIdentity> | undefined;
  /** The producer id batches are numbered for now; undefined while a new one is on its way. */
  private currentIdentity: ProducerIdentity | undefined;
  private generation = 0;
  private lingerTimer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  /** The last produce() call still waiting to append its records (see produce). */
  private waiting: Promise<void> | undefined;
  private closed = false;
  /** Transactional producers only. */
  private readonly coordinator: TransactionCoordinator | undefined;
  private transaction: OpenTransaction | undefined;

  constructor(
    readonly options: ProducerOptions,
    settings: KafkajsSettings = {},
  ) {
    this.logger = settings.logger ?? consoleLogger;
    this.codec = codecId(options.compression);
    const kafka = new Kafka(kafkajsConfig(options, this.logger, 5));
    this.cluster = createInternalCluster(kafka, {
      allowAutoTopicCreation: true,
      metadataMaxAge: options.metadataMaxAgeMs,
      isolationLevel: 0,
    });
    this.topics = new TopicReadiness(this.cluster, { maxBlockMs: options.maxBlockMs, retry: options.retry });
    this.sendLimit = batchSendLimit(options);
    // A batch closes before its records pass sendLimit; their encoded size is estimated (RECORD_OVERHEAD_BYTES), so
    // the buffers leave a margin.
    this.batchBuffers = batchBuffersFor(this.sendLimit);
    if (options.transactionalId !== undefined)
      this.coordinator = new TransactionCoordinator(
        this.cluster,
        options.transactionalId,
        options,
        settings.maxTransactionVersion,
      );
  }

  /** A transactional producer's protocol (1 or 2, KIP-890), known once its first transaction began. */
  get transactionVersion(): 1 | 2 | undefined {
    return this.coordinator && this.currentIdentity ? this.coordinator.transactionVersion : undefined;
  }

  produce(records: readonly ProducerRecord[]): Promise<void> {
    if (this.coordinator) {
      return Promise.reject(
        new KafkaConfigError("transactional.id", "a transactional producer sends only inside beginTransaction()"),
      );
    }
    return this.enqueue(records);
  }

  /** Queues the records and resolves when they are acknowledged (inside the open transaction, if transactional). */
  async enqueue(records: readonly ProducerRecord[]): Promise<void> {
    if (this.closed) throw new KafkaClientClosedError("produce");
    if (records.length === 0) return;
    const sizes = new Array<number>(records.length);
    for (let i = 0; i < records.length; i++) {
      const bytes = recordBytes(records[i]!);
      if (bytes > this.options.maxRequestSize) {
        throw new KafkaClientError(
          `produce to ${records[i]!.topic}: a record of ${bytes} bytes exceeds max.request.size (${this.options.maxRequestSize})`,
          { kafkaErrorType: "MESSAGE_TOO_LARGE" },
        );
      }
      sizes[i] = bytes;
    }
    await Promise.all(await this.inCallOrder(records, () => this.append(records, sizes)));
  }

  /**
   * Runs `append` now, or, where a call before it still waits or `records` must (a new topic, a partition missing
   * from the metadata), after that call and after `records` are prepared: records join their batches in call
   * order, or per-key order breaks.
   */
  private inCallOrder<T>(records: readonly ProducerRecord[], append: () => T): Promise<T> {
    if (!this.waiting && !this.mustWait(records)) return Promise.resolve(append());
    const appended = (this.waiting ?? Promise.resolve()).then(async () => {
      await this.prepare(records);
      return append();
    });
    const settled = appended.then(
      () => undefined,
      () => undefined,
    );
    this.waiting = settled;
    void settled.then(() => {
      if (this.waiting === settled) this.waiting = undefined;
    });
    return appended;
  }

  /**
   * Queues one partition's records given already encoded (one batch, sealed at once behind what the partition
   * holds) and resolves when it is acknowledged; the same order, readiness waits and transaction as enqueue().
   */
  async enqueueEncoded(topic: string, partition: number, records: EncodedRecords): Promise<void> {
    if (this.closed) throw new KafkaClientClosedError("produce");
    if (records.count === 0) return;
    const bytes = records.frame.length - RECORDS_OFFSET;
    if (bytes > this.options.maxRequestSize) {
      throw new KafkaClientError(
        `produce to ${topic}-${partition}: a batch of ${bytes} bytes exceeds max.request.size (${this.options.maxRequestSize})`,
        { kafkaErrorType: "MESSAGE_TOO_LARGE" },
      );
    }
    const where = [{ topic, partition, key: null, value: null }];
    await await this.inCallOrder(where, () => this.appendEncoded(topic, partition, records));
  }

  private appendEncoded(topic: string, partition: number, records: EncodedRecords): Promise<void> {
    const queue = this.queueOf({ topic, partition, key: null, value: null }, Date.now());
    this.seal(queue); // records given before go first
    const batch = this.openBatch();
    batch.count = records.count;
    batch.bytes = records.frame.length - RECORDS_OFFSET;
    if (this.codec === 0) batch.encoded = encodeUnstampedEncodedBatch(records);
    else batch.encodedRecords = records;
    queue.open = batch;
    queue.seal();
    this.pump();
    return batch.done;
  }

  /** The topic's partition count in this producer's metadata, once the topic is ready (partitionsFor). */
  async readyPartitionCount(topic: string): Promise<number> {
    return (await this.partitionsFor(topic)).length;
  }

  private mustWait(records: readonly ProducerRecord[]): boolean {
    const now = Date.now();
    for (const { topic, partition } of records) {
      if (!this.readyTopics.has(topic)) return true;
      if (partition !== undefined && partition >= this.route(topic, now).count) return true;
    }
    return false;
  }

  /** New topics ready and in the metadata; a partition the metadata lacks refreshed for, a few times, or an error. */
  private async prepare(records: readonly ProducerRecord[]): Promise<void> {
    await this.ready(records.map((r) => r.topic));
    for (const { topic, partition } of records) {
      if (partition === undefined) continue;
      for (let refreshes = 0; partition >= this.partitionCount(topic); refreshes++) {
        if (refreshes >= MAX_METADATA_REFRESHES) {
          throw new KafkaUnknownTopicError(
            topic,
            partition,
            undefined,
            `produce: the partition is not in the topic's metadata; ${records.length} record(s) not sent (it has ${this.partitionCount(topic)} partitions)`,
          );
        }
        // A partition added moments ago reaches every broker's metadata shortly after the controller commits it.
        await sleep(retryBackoffMs(refreshes, this.options.retry));
        await this.refreshMetadata();
      }
    }
  }

  /**
   * Adds the records (`sizes` from recordBytes) to their partitions' open batches, synchronously; returns the
   * batches' promises.
   */
  private append(records: readonly ProducerRecord[], sizes: readonly number[]): Promise<void>[] {
    const waits: Promise<void>[] = [];
    const now = Date.now(); // one clock read per call: the routes' age is checked per record
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      let queue = this.queueOf(record, now);
      const bytes = sizes[i]!;
      if (queue.open && queue.open.bytes + bytes > this.sendLimit) {
        this.seal(queue);
        // A keyless record follows the sticky partition, which sealing moved on (as Java's KIP-480 re-routes it):
        // else it would open a one-record batch on the old partition.
        if (record.partition === undefined && (record.key === null || record.key === undefined))
          queue = this.queueOf(record, now);
      }
      queue.open ??= this.openBatch();
      const batch = queue.open;
      if (waits[waits.length - 1] !== batch.done) waits.push(batch.done);
      batch.add(record, bytes);
    }
    // In a transaction the caller waits for these records before it can commit: lingering would only delay it.
    if (this.transaction) for (const queue of this.queues) this.seal(queue);
    else this.scheduleLinger();
    return waits;
  }

  private openBatch(): Batch {
    const batch = new Batch();
    const tracked = batch.done.then(
      () => undefined,
      () => undefined,
    );
    this.unsettled.add(tracked);
    void tracked.then(() => this.unsettled.delete(tracked));
    return batch;
  }

  async partitionsFor(topic: string): Promise<number[]> {
    await this.ready([topic]);
    return this.cluster
      .findTopicPartitionMetadata(topic)
      .map((p) => p.partitionId)
      .sort((a, b) => a - b);
  }

  /** Waits (once per topic) for each topic's creation and leaders, and puts it in the cluster's metadata. */
  private async ready(topics: Iterable<string>): Promise<void> {
    let missing: Set<string> | undefined;
    for (const topic of topics) if (!this.readyTopics.has(topic)) (missing ??= new Set()).add(topic);
    if (!missing) return;
    await this.topics.ensure(missing);
    await this.connect();
    try {
      await this.cluster.addMultipleTargetTopics([...missing]);
    } catch (err) {
      throw toKafkaError(err, { what: `produce to ${[...missing].join(", ")}` });
    }
    for (const topic of missing) {
      this.readyTopics.add(topic);
      const route = this.routes.get(topic);
      if (route) route.readAt = 0; // read before the topic was in the metadata
    }
  }

  private async connect(): Promise<void> {
    if (this.closed) throw new KafkaClientClosedError("produce");
    this.connecting ??= this.cluster.connect().catch((err: unknown) => {
      this.connecting = undefined;
      throw toKafkaError(err, { what: "connect producer" });
    });
    await this.connecting;
  }

  /**
   * The topic's partition count and queues. The count comes from the cluster's metadata, read again after
   * metadata.max.age.ms (with a background refresh, so added partitions show up as they do for Java's producer) and
   * after each refresh of ours.
   */
  private route(topic: string, now = Date.now()): TopicRoute {
    let route = this.routes.get(topic);
    if (route && now - route.readAt < this.options.metadataMaxAgeMs) return route;
    if (route) void this.cluster.refreshMetadataIfNecessary().catch(() => undefined);
    const count = this.cluster.findTopicPartitionMetadata(topic).length;
    if (!route) {
      route = { count, readAt: now, queues: [], sticky: -1 };
      this.routes.set(topic, route);
    }
    route.count = count;
    route.readAt = now;
    return route;
  }

  private partitionCount(topic: string): number {
    return this.route(topic).count;
  }

  /** The record's queue: its partition (known to exist), else its key's murmur2, else the topic's sticky one. */
  private queueOf(record: ProducerRecord, now: number): PartitionQueue {
    const route = this.route(record.topic, now);
    let partition = record.partition;
    if (partition === undefined) {
      if (record.key !== null && record.key !== undefined) {
        const key = typeof record.key === "string" ? Buffer.from(record.key) : record.key;
        partition = keyPartition(key, route.count);
      } else {
        if (route.sticky < 0 || route.sticky >= route.count) route.sticky = Math.floor(Math.random() * route.count);
        partition = route.sticky;
      }
    }
    let queue = route.queues[partition];
    if (!queue) {
      queue = new PartitionQueue(record.topic, partition);
      route.queues[partition] = queue;
      this.queues.push(queue);
    }
    return queue;
  }

  private scheduleLinger(): void {
    if (this.lingerTimer || this.immediate) return;
    const sealAll = () => {
      this.lingerTimer = undefined;
      this.immediate = undefined;
      for (const queue of this.queues) this.seal(queue);
    };
    if (this.options.lingerMs === 0) this.immediate = setImmediate(sealAll);
    else this.lingerTimer = setTimeout(sealAll, this.options.lingerMs);
  }

  /**
   * Closes the partition's open batch for sending; the topic's sticky partition moves on (Java's KIP-480). An
   * uncompressed batch is encoded now, so its records can be collected young (a sealed batch may wait for a free
   * request); send() stamps the producer fields.
   */
  private seal(queue: PartitionQueue): void {
    const batch = queue.open;
    if (!batch || !queue.seal()) return;
    if (this.codec === 0) {
      batch.encoded = encodeUnstampedRecordBatch(batch.records, Date.now(), this.takeBatchBuffer);
      batch.records = [];
    }
    const route = this.routes.get(queue.topic);
    if (route && route.sticky === queue.partition && route.count > 1)
      route.sticky = (queue.partition + 1 + Math.floor(Math.random() * (route.count - 1))) % route.count;
    this.pump();
  }

  /**
   * Sends what may go: per leader, up to max.in.flight.requests.per.connection requests, each with the next batch of
   * every partition it leads (a partition's batches go in order, see ./partition-queue.ts).
   */
  private pump(): void {
    if (this.closed && this.unsettled.size === 0) return;
    const transaction = this.transaction;
    if (this.coordinator && (transaction?.failure !== undefined || !this.currentIdentity)) {
      // Nothing more goes in a failed transaction; a transactional id is (re)initialised only between transactions.
      const failure =
        transaction?.failure ??
        new KafkaClientError("produce in transaction: the producer id was lost; abort the transaction");
      if (transaction) transaction.failure = failure;
      for (const queue of this.queues) queue.failWaiting(failure);
      return;
    }
    if (this.options.idempotent && !this.currentIdentity) {
      this.producerIdentity().then(
        () => this.pump(),
        (err: unknown) => {
          for (const queue of this.queues) queue.failWaiting(err);
        },
      );
      return;
    }
    const now = Date.now();
    const limit = this.options.maxInFlightRequests;
    const byLeader = new Map<number, PartitionQueue[]>();
    let nextRetry = Number.POSITIVE_INFINITY;
    let toAdd: PartitionQueue[] | undefined;
    for (const queue of this.queues) {
      if (queue.unacked.length === queue.inFlight && !queue.rewinding) continue; // nothing waiting
      if (transaction && !transaction.partitions.has(queue)) {
        if (this.coordinator!.transactionVersion === 2) {
          transaction.partitions.add(queue); // its first Produce adds it
        } else {
          (toAdd ??= []).push(queue);
          continue;
        }
      }
      if (queue.retryAt > now) nextRetry = Math.min(nextRetry, queue.retryAt);
      const leader = this.leaderOf(queue);
      if (leader === undefined) {
        const batch = queue.next(now, limit);
        if (batch) {
          queue.take(batch, undefined);
          this.retryOrFail(
            queue,
            batch,
            new KafkaClientError(`produce to ${queue.topic}-${queue.partition}: no leader`, { retriable: true }),
            true,
          );
          nextRetry = Math.min(nextRetry, queue.retryAt);
        }
        continue;
      }
      const list = byLeader.get(leader);
      if (list) list.push(queue);
      else byLeader.set(leader, [queue]);
    }
    for (const [leader, queues] of byLeader) {
      while ((this.brokerInFlight.get(leader) ?? 0) < limit) {
        const taken: [PartitionQueue, Batch][] = [];
        let bytes = 0;
        for (const queue of queues) {
          const batch = queue.next(now, limit);
          if (!batch || (taken.length > 0 && bytes + batch.bytes > this.options.maxRequestSize)) continue;
          queue.take(batch, this.currentIdentity);
          bytes += batch.bytes;
          taken.push([queue, batch]);
        }
        if (taken.length === 0) break;
        if (transaction) transaction.started = true; // (v2: the Produce adds its partitions)
        this.brokerInFlight.set(leader, (this.brokerInFlight.get(leader) ?? 0) + 1);
        void this.send(leader, taken).finally(() => {
          this.brokerInFlight.set(leader, this.brokerInFlight.get(leader)! - 1);
          this.pump();
        });
      }
    }
    if (transaction && toAdd && !transaction.adding) this.addPartitions(transaction, toAdd);
    if (nextRetry !== Number.POSITIVE_INFINITY && !this.retryTimer) {
      this.retryTimer = setTimeout(
        () => {
          this.retryTimer = undefined;
          this.pump();
        },
        Math.max(1, nextRetry - now),
      );
    }
  }

  private leaderOf(queue: PartitionQueue): number | undefined {
    const leader = this.cluster
      .findTopicPartitionMetadata(queue.topic)
      .find((p) => p.partitionId === queue.partition)?.leader;
    return leader === undefined || leader < 0 ? undefined : leader;
  }

  /**
   * Sends one request. Requests must reach the leader's connection in the order pump() formed them: a partition's
   * batches carry consecutive sequence numbers, and a later one arriving first is refused (OUT_OF_ORDER_SEQUENCE_NUMBER)
   * and goes again after a backoff. The asynchronous steps before the hand-over (compression, finding the broker) take
   * different times per request, so each request waits for the one formed before it to be handed over.
   */
  private async send(leader: number, taken: [PartitionQueue, Batch][]): Promise<void> {
    const previous = this.handedOver.get(leader);
    let handOver!: () => void;
    const mine = new Promise<void>((resolve) => {
      handOver = resolve;
    });
    this.handedOver.set(leader, mine);
    void mine.then(() => {
      if (this.handedOver.get(leader) === mine) this.handedOver.delete(leader);
    });
    let response: ProduceResponse | undefined;
    try {
      // Grouped by topic: the request encodes each topic once.
      taken.sort(([a], [b]) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
      const partitions: ProducePartitionData[] = [];
      for (const [queue, batch] of taken) {
        if (!batch.encoded) {
          // (compressed: encoded on its first send, for the producer it goes with; stays in flight meanwhile)
          batch.encoded = batch.encodedRecords
            ? await encodeCompressedEncodedBatch(batch.encodedRecords, batch.producer, this.codec, compress)
            : await encodeRecordBatch(batch.records, batch.producer, Date.now(), this.codec, compress);
          batch.encodedRecords = undefined;
          batch.stampedFor = batch.producer;
          batch.records = [];
        }
        if (batch.stampedFor !== batch.producer) {
          // A resend under a new producer id: the socket may still hold the bytes sent before (never copied on
          // their way), so the new stamp goes on a copy.
          if (batch.stampedFor !== undefined) batch.encoded = Buffer.from(batch.encoded);
          stampRecordBatch(batch.encoded, batch.producer);
          batch.stampedFor = batch.producer;
        }
        partitions.push({ topic: queue.topic, partition: queue.partition, batch: batch.encoded });
      }
      const broker = await this.cluster.findBroker({ nodeId: leader });
      await previous;
      // v12 only under transactions v2: a broker without it refuses versions above 11 inside a transaction.
      const version = this.coordinator?.transactionVersion === 2 ? PRODUCE_TXN_V2_VERSION : PRODUCE_VERSION;
      const sent = sendOwnRequest(broker, {
        apiKey: PRODUCE_API_KEY,
        apiVersion: version,
        apiName: "Produce",
        body: encodeProduceRequest(
          {
            transactionalId: this.options.transactionalId ?? null,
            acks: this.options.acks,
            timeoutMs: this.options.requestTimeoutMs,
            partitions,
          },
          version,
        ),
        decode: (payload) => decodeProduceResponse(payload, version),
        timeoutMs: this.options.requestTimeoutMs,
        expectResponse: this.options.acks !== 0,
        flexible: version === PRODUCE_TXN_V2_VERSION,
      });
      // kafkajs's path from here to the socket takes the same steps for every request: order is kept.
      handOver();
      response = await sent;
    } catch (err) {
      handOver(); // (if encoding or finding the broker failed: the requests after this one go on)
      const mapped = toKafkaError(err, { what: "produce" });
      for (const [queue, batch] of taken) {
        if (isRetriableKafkaError(mapped)) this.retryOrFail(queue, batch, mapped, true);
        else this.failBatch(queue, batch, mapped);
      }
      return;
    }
    if (response === undefined) {
      for (const [queue, batch] of taken) queue.acknowledged(batch); // acks=0: sent is all we learn
      return;
    }
    const results = new Map(response.partitions.map((p) => [`${p.partition}:${p.topic}`, p]));
    for (const [queue, batch] of taken) {
      const result = results.get(`${queue.partition}:${queue.topic}`);
      if (!result) {
        const err = new KafkaClientError(`produce to ${queue.topic}-${queue.partition}: no answer`, {
          retriable: true,
        });
        this.retryOrFail(queue, batch, err, true);
      } else if (result.errorCode === 0 || result.errorCode === DUPLICATE_SEQUENCE_NUMBER) {
        queue.acknowledged(batch);
        // Answered on its only send: no socket still holds its bytes (a batch that went again might be queued on
        // a connection given up on), so they may carry another batch.
        if (batch.attempts === 0 && batch.encoded) {
          this.batchBuffers.give(batch.encoded);
          batch.encoded = undefined;
        }
      } else {
        this.partitionError(queue, batch, result.errorCode, result.errorMessage);
      }
    }
  }

  private partitionError(queue: PartitionQueue, batch: Batch, code: number, message: string | null): void {
    const name = kafkaErrorName(code);
    const what = `produce to ${queue.topic}-${queue.partition}: ${name}${message ? ` (${message})` : ""}`;
    if (PRODUCER_STATE_ERRORS.has(code)) {
      // A sequence gap behind an earlier failed batch is expected: it goes again. Otherwise the broker lost our
      // producer state (Kafka's producer bumps its epoch): a new producer id numbers the partitions from 0.
      if (!queue.rewinding) this.renewIdentity(batch.generation);
      this.retryOrFail(queue, batch, new KafkaClientError(what, { retriable: true, kafkaErrorType: name }), false);
      return;
    }
    if (LEADER_ERRORS.has(code) || kafkaErrorCode(code)?.retriable) {
      this.retryOrFail(queue, batch, new KafkaClientError(what, { retriable: true, kafkaErrorType: name }), true);
      return;
    }
    this.failBatch(queue, batch, new KafkaClientError(what, { kafkaErrorType: name }));
  }

  /** The batch goes again after backoff, until delivery.timeout.ms from its creation. */
  private retryOrFail(queue: PartitionQueue, batch: Batch, cause: KafkaError, refresh: boolean): void {
    const backoff = retryBackoffMs(batch.attempts, this.options.retry);
    if (this.closed || Date.now() + backoff > batch.createdAt + this.options.deliveryTimeoutMs) {
      const message = `produce: not acknowledged within delivery.timeout.ms (${this.options.deliveryTimeoutMs} ms); last: ${cause.message}`;
      this.failBatch(queue, batch, new KafkaTimeoutError(message, { cause }));
      return;
    }
    if (batch.attempts === 0 && !queue.rewinding)
      this.logger("warn", `${cause.message}: retrying until delivery.timeout.ms`);
    queue.retry(batch, Date.now() + backoff);
    if (refresh) void this.refreshMetadata().catch(() => undefined);
  }

  /**
   * The batch fails; an idempotent producer takes a new id, as the broker will refuse the sequences after it. In a
   * transaction, everything still waiting fails with it: the transaction can only be aborted.
   */
  private failBatch(queue: PartitionQueue, batch: Batch, err: unknown): void {
    if (this.options.idempotent && batch.generation >= 0) this.renewIdentity(batch.generation);
    queue.fail(batch, err);
    if (this.transaction) {
      this.transaction.failure ??= err;
      this.pump();
    }
  }

  private renewIdentity(generation: number): void {
    if (this.currentIdentity?.generation !== generation) return; // renewed already
    this.currentIdentity = undefined;
    this.identity = undefined;
  }

  private refreshing: Promise<void> | undefined;

  private refreshMetadata(): Promise<void> {
    this.refreshing ??= this.cluster
      .refreshMetadata()
      .then(() => {
        for (const route of this.routes.values()) route.readAt = 0; // counts are read again
      })
      .catch((err: unknown) => {
        throw toKafkaError(err, { what: "refresh producer metadata" });
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  private producerIdentity(): Promise<ProducerIdentity> {
    this.identity ??= this.initProducerId().then(
      (identity) => {
        this.currentIdentity = identity;
        return identity;
      },
      (err: unknown) => {
        this.identity = undefined;
        throw err;
      },
    );
    return this.identity;
  }

  /**
   * InitProducerId: a transactional id's from its coordinator; else any broker answers. Retried until max.block.ms.
   */
  private async initProducerId(): Promise<ProducerIdentity> {
    await this.connect();
    const { producerId, producerEpoch } = this.coordinator
      ? await this.coordinator.initProducerId()
      : await retryUntil(Date.now() + this.options.maxBlockMs, this.options.retry, () => this.idempotentProducerId());
    return {
      producerId,
      producerEpoch,
      generation: ++this.generation,
      transactional: this.coordinator !== undefined,
    };
  }

  private async idempotentProducerId(): Promise<{ producerId: bigint; producerEpoch: number }> {
    try {
      const broker = await this.cluster.brokerPool.findConnectedBroker();
      return await sendCheckedRequest(
        broker,
        {
          apiKey: INIT_PRODUCER_ID_API_KEY,
          apiVersion: INIT_PRODUCER_ID_VERSION,
          apiName: "InitProducerId",
          body: encodeInitProducerIdRequest(null, this.options.transactionTimeoutMs),
          decode: decodeInitProducerIdResponse,
          timeoutMs: this.options.requestTimeoutMs,
        },
        "init producer id",
      );
    } catch (err) {
      throw toKafkaError(err, { what: "init producer id" }); // a KafkaError (the broker's code) as it is
    }
  }

  /** Joins partitions to the transaction (one request at a time); their batches go once it answers. */
  private addPartitions(transaction: OpenTransaction, queues: readonly PartitionQueue[]): void {
    transaction.started = true;
    transaction.adding = this.coordinator!.addPartitions(transaction.identity, queues)
      .then(
        () => {
          for (const queue of queues) transaction.partitions.add(queue);
        },
        (err: unknown) => {
          transaction.failure ??= err;
        },
      )
      .finally(() => {
        transaction.adding = undefined;
        if (this.transaction === transaction) this.pump();
      });
  }

  /**
   * Sends what lingers; resolves when what was given to produce() before the call has settled. Batches other
   * callers add meanwhile are theirs to wait for: a bundle's finishBundle waited on every bundle sharing the
   * producer, and under their steady load did not return until the load paused.
   */
  async flush(): Promise<void> {
    if (this.waiting) await this.waiting; // calls before this one still waiting to append (a new topic)
    for (const queue of this.queues) this.seal(queue);
    await Promise.all([...this.unsettled]);
  }

  /** Sends what lingers and waits until nothing is in flight (a transaction's end, close). */
  private async settleAll(): Promise<void> {
    if (this.waiting) await this.waiting;
    for (const queue of this.queues) this.seal(queue);
    while (this.unsettled.size > 0) await Promise.all([...this.unsettled]);
  }

  async beginTransaction(): Promise<KafkaTransaction> {
    if (!this.coordinator) throw new KafkaConfigError("transactional.id", "is required for transactions");
    if (this.closed) throw new KafkaClientClosedError("begin transaction");
    if (this.transaction)
      throw new KafkaClientError("begin transaction: a transaction is already open on this producer");
    const identity = this.currentIdentity ?? (await this.producerIdentity());
    const transaction = new OpenTransaction(identity);
    this.transaction = transaction;
    return new WireTransaction(this, transaction);
  }

  /** @internal WireTransaction's: group offsets into the transaction. */
  async sendOffsets(transaction: OpenTransaction, groupId: string, offsets: readonly GroupOffset[]): Promise<void> {
    if (transaction.failure !== undefined) throw transaction.failure;
    transaction.started = true; // AddOffsetsToTxn may land even if the call fails: abort must then end it
    const call = this.coordinator!.sendOffsets(transaction.identity, groupId, offsets);
    const settled = call.then(
      () => undefined,
      () => undefined,
    );
    transaction.offsetCalls.add(settled);
    try {
      await call;
    } catch (err) {
      transaction.failure ??= err; // as a failed batch: the transaction can only be aborted
      throw err;
    } finally {
      transaction.offsetCalls.delete(settled);
    }
  }

  /** @internal WireTransaction's: every batch acknowledged, then EndTxn(commit). */
  async commit(transaction: OpenTransaction): Promise<void> {
    await this.settleAll();
    await Promise.all(transaction.offsetCalls);
    if (transaction.failure !== undefined) throw transaction.failure;
    if (transaction.started) this.nextEpoch(await this.coordinator!.end(transaction.identity, true));
    this.transaction = undefined;
  }

  /** Transactions v2: the next transaction's producer id and epoch, from EndTxn; its partitions count from 0. */
  private nextEpoch(next: TxnProducerId | undefined): void {
    if (!next) return;
    const identity: ProducerIdentity = { ...next, generation: ++this.generation, transactional: true };
    this.currentIdentity = identity;
    this.identity = Promise.resolve(identity);
  }

  /**
   * @internal WireTransaction's: what has not been sent fails, what is in flight is waited for (a batch landing
   * after the abort marker would hang the partition), then EndTxn(abort). After records were sent the next
   * transaction takes a new epoch: their sequences may be unknown to the broker.
   */
  async abort(transaction: OpenTransaction): Promise<void> {
    transaction.failure ??= new KafkaClientError("produce in transaction: the transaction was aborted");
    try {
      for (const queue of this.queues) queue.failWaiting(transaction.failure);
      await transaction.adding; // the partitions it adds must be ended too
      await Promise.all(transaction.offsetCalls); // offsets committed after the abort would join the next one
      while (this.unsettled.size > 0) await Promise.all([...this.unsettled]);
      if (transaction.started) this.nextEpoch(await this.coordinator!.end(transaction.identity, false));
    } finally {
      this.transaction = undefined;
      // (v1, or an EndTxn that failed: a new InitProducerId bumps the epoch)
      if (transaction.started) this.renewIdentity(transaction.identity.generation);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.settleAll().catch(() => undefined);
    this.closed = true;
    await this.coordinator?.close();
    for (const timer of [this.lingerTimer, this.retryTimer]) if (timer) clearTimeout(timer);
    if (this.immediate) clearImmediate(this.immediate);
    await Promise.all([this.topics.close(), this.cluster.disconnect().catch(() => undefined)]);
  }
}

/** The KafkaTransaction of a WireProducer: one at a time, each call valid until commit or abort ends it. */
class WireTransaction implements KafkaTransaction {
  private ended = false;

  constructor(
    private readonly producer: WireProducer,
    private readonly transaction: OpenTransaction,
  ) {}

  private check(what: string): void {
    if (this.ended) throw new KafkaClientError(`${what}: the transaction has already ended`);
  }

  async produce(records: readonly ProducerRecord[]): Promise<void> {
    this.check("produce in transaction");
    await this.producer.enqueue(records);
  }

  async produceEncoded(topic: string, partition: number, records: EncodedRecords): Promise<void> {
    this.check("produce in transaction");
    await this.producer.enqueueEncoded(topic, partition, records);
  }

  partitionCount(topic: string): Promise<number> {
    return this.producer.readyPartitionCount(topic);
  }

  async sendOffsets(groupId: string, offsets: readonly GroupOffset[]): Promise<void> {
    this.check("send offsets in transaction");
    await this.producer.sendOffsets(this.transaction, groupId, offsets);
  }

  /** On failure the transaction stays open: abort it (or, if the producer was fenced, close the producer). */
  async commit(): Promise<void> {
    this.check("commit transaction");
    await this.producer.commit(this.transaction);
    this.ended = true;
  }

  async abort(): Promise<void> {
    this.check("abort transaction");
    this.ended = true;
    await this.producer.abort(this.transaction);
  }
}

/** Creates the producer for these options (transactional if transactional.id is set). It connects lazily. */
export function createKafkaProducer(options: ProducerOptions, settings: KafkajsSettings = {}): KafkaProducer {
  return new WireProducer(options, settings);
}
