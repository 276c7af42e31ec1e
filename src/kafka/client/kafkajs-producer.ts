// The default KafkaProducer on kafkajs: records from many produce() calls are gathered into sends of up to
// batch.size bytes and 4,000 records (linger.ms bounds the wait), one send at a time when record order is promised
// (see the constructor); transactions map to
// kafkajs transactions (sendOffsets carries offset metadata, as Beam's exactly-once sink needs).
import {
  Kafka,
  Partitioners,
  type CompressionTypes,
  type IHeaders,
  type Message,
  type Producer,
  type RecordMetadata,
  type TopicMessages,
  type Transaction,
} from "kafkajs";
import { CompressionTypes as Codecs } from "kafkajs";
import { consoleLogger, type KafkaLogger, type ProducerOptions } from "../config/index.js";
import {
  KafkaClientClosedError,
  KafkaClientError,
  KafkaConfigError,
  KafkaTimeoutError,
  KafkaUnknownTopicError,
  KafkaUnsupportedError,
} from "../errors.js";
import { kafkajsConfig, registeredCompressionCodecs, retryBackoffMs, sleep, type KafkajsSettings } from "./kafkajs.js";
import { toKafkaError } from "./kafkajs-errors.js";
import { createInternalCluster } from "./kafkajs-internals.js";
import { TopicReadiness } from "./topic-readiness.js";
import type { GroupOffset, KafkaProducer, KafkaTransaction, ProducerRecord } from "./types.js";

const RECORD_OVERHEAD_BYTES = 24;
/**
 * Records per kafkajs send, whatever their size: kafkajs groups a send's messages by partition by copying the
 * partition's list for every message (quadratic), so a 1 MiB send of 25,000 small records spent more CPU grouping
 * than encoding. 4,000 keeps that cost small and a request still carries ~400 KB of 100-byte records.
 */
const MAX_RECORDS_PER_SEND = 4000;
/** Metadata refreshes (with retry backoff) before records for a partition missing from it fail. */
const MAX_METADATA_REFRESHES = 4;

function compressionOf(options: ProducerOptions): CompressionTypes {
  switch (options.compression) {
    case "gzip":
      return Codecs.GZIP;
    case "snappy":
      return Codecs.Snappy;
    case "lz4":
      return Codecs.LZ4;
    case "zstd":
      return Codecs.ZSTD;
    default:
      return Codecs.None;
  }
}

function byteLength(value: Buffer | string | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === "string" ? Buffer.byteLength(value) : value.length;
}

function toHeaders(headers: ProducerRecord["headers"]): IHeaders | undefined {
  if (!headers || headers.length === 0) return undefined;
  const out: Record<string, (Buffer | string | null)[]> = Object.create(null) as Record<
    string,
    (Buffer | string | null)[]
  >;
  for (const { key, value } of headers) (out[key] ??= []).push(value);
  const flat: Record<string, Buffer | string | null | (Buffer | string | null)[]> = {};
  for (const [key, values] of Object.entries(out)) flat[key] = values.length === 1 ? values[0]! : values;
  return flat as IHeaders;
}

function toMessage(record: ProducerRecord): { message: Message; bytes: number } {
  const message: Message = { key: record.key ?? null, value: record.value };
  let bytes = RECORD_OVERHEAD_BYTES + byteLength(record.key) + byteLength(record.value);
  if (record.partition !== undefined) message.partition = record.partition;
  if (record.timestamp !== undefined) message.timestamp = String(record.timestamp);
  const headers = toHeaders(record.headers);
  if (headers) {
    if (record.headers!.some((h) => h.value === null)) {
      // kafkajs 2.2.4 sizes header values with Buffer.byteLength before checking for null, and throws.
      throw new KafkaUnsupportedError(
        `produce to ${record.topic}: null header values cannot be sent with kafkajs (use an empty value)`,
      );
    }
    message.headers = headers;
    for (const h of record.headers!) bytes += byteLength(h.key) + byteLength(h.value) + 2;
  }
  return { message, bytes };
}

/** Records gathered for one send, and the promise of its acknowledgement. */
class PendingSend {
  readonly byTopic = new Map<string, Message[]>();
  bytes = 0;
  records = 0;
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (err: unknown) => void;

  constructor() {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.done.catch(() => undefined); // observed through produce(); never an unhandled rejection
  }

  add(topic: string, message: Message, bytes: number): void {
    const list = this.byTopic.get(topic);
    if (list) list.push(message);
    else this.byTopic.set(topic, [message]);
    this.bytes += bytes;
    this.records++;
  }

  topicMessages(): TopicMessages[] {
    return [...this.byTopic].map(([topic, messages]) => ({ topic, messages }));
  }
}

/**
 * The messages of a send that kafkajs skipped: it drops, without an error, messages naming a partition its metadata
 * does not list (a partition added since its last refresh, or one that does not exist). A partition the broker
 * acknowledged is in `acked`; messages with an explicit partition missing from it were never sent.
 */
function skippedMessages(sent: readonly TopicMessages[], acked: readonly RecordMetadata[]): TopicMessages[] {
  const ackedPartitions = new Set(acked.map((m) => `${m.partition}:${m.topicName}`));
  const skipped: TopicMessages[] = [];
  for (const { topic, messages } of sent) {
    const lost = messages.filter((m) => m.partition !== undefined && !ackedPartitions.has(`${m.partition}:${topic}`));
    if (lost.length > 0) skipped.push({ topic, messages: lost });
  }
  return skipped;
}

function unknownPartitionError(skipped: readonly TopicMessages[], during: string): KafkaUnknownTopicError {
  const { topic, messages } = skipped[0]!;
  const count = skipped.reduce((n, t) => n + t.messages.length, 0);
  return new KafkaUnknownTopicError(
    topic,
    messages[0]!.partition,
    undefined,
    `${during}: the partition is not in the topic's metadata; ${count} record(s) not sent`,
  );
}

/** Splits records into sends of at most `limit` bytes (a record larger than max.request.size is an error). */
function* chunks(records: readonly ProducerRecord[], limit: number, maxRequestSize: number): Generator<PendingSend> {
  let current = new PendingSend();
  for (const record of records) {
    const { message, bytes } = toMessage(record);
    if (bytes > maxRequestSize) {
      throw new KafkaClientError(
        `produce to ${record.topic}: a record of ${bytes} bytes exceeds max.request.size (${maxRequestSize})`,
        {
          kafkaErrorType: "MESSAGE_TOO_LARGE",
        },
      );
    }
    if (current.bytes > 0 && (current.bytes + bytes > limit || current.records >= MAX_RECORDS_PER_SEND)) {
      yield current;
      current = new PendingSend();
    }
    current.add(record.topic, message, bytes);
  }
  if (current.bytes > 0) yield current;
}

export class KafkajsProducer implements KafkaProducer {
  private readonly producer: Producer;
  private readonly logger: KafkaLogger;
  private connecting: Promise<void> | undefined;
  private closed = false;
  private open: PendingSend | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private readonly queued: PendingSend[] = [];
  private readonly unsettled = new Set<Promise<void>>();
  private inFlight = 0;
  private readonly maxInFlight: number;
  private readonly sendLimit: number;
  private transactionOpen = false;
  /** Topics whose metadata (creation, leaders) a send waited for, up to max.block.ms. */
  private readonly topics: TopicReadiness;

  constructor(
    readonly options: ProducerOptions,
    settings: KafkajsSettings = {},
  ) {
    this.logger = settings.logger ?? consoleLogger;
    const codecs = registeredCompressionCodecs();
    if (options.compression !== "none" && !codecs.includes(options.compression)) {
      throw new KafkaConfigError(
        "compression.type",
        `no ${options.compression} codec is registered in kafkajs CompressionCodecs in this process`,
      );
    }
    // Connection and metadata retries as the reading client's (5); send retries per `retries`, set below.
    const kafka = new Kafka(kafkajsConfig(options, this.logger, 5));
    this.topics = new TopicReadiness(
      createInternalCluster(kafka, {
        allowAutoTopicCreation: true,
        metadataMaxAge: options.metadataMaxAgeMs,
        isolationLevel: 0,
      }),
      { maxBlockMs: options.maxBlockMs, retry: options.retry },
    );
    this.producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner, // murmur2 of the key, as Java's default partitioner
      allowAutoTopicCreation: options.allowAutoTopicCreation,
      metadataMaxAge: options.metadataMaxAgeMs,
      idempotent: options.idempotent,
      ...(options.transactionalId !== undefined ? { transactionalId: options.transactionalId } : {}),
      transactionTimeout: options.transactionTimeoutMs,
      retry: {
        // kafkajs wants "unlimited" spelled as MAX_SAFE_INTEGER for idempotence; delivery.timeout.ms bounds the time.
        retries: options.retry.retries >= 2_147_483_647 ? Number.MAX_SAFE_INTEGER : options.retry.retries,
        initialRetryTime: options.retry.initialBackoffMs,
        maxRetryTime: options.retry.maxBackoffMs,
      },
    });
    // One kafkajs send at a time when order is promised. An idempotent kafkajs producer holds a per-broker lock for
    // a whole produce round trip anyway, so concurrent sends gain nothing but the race to that lock, which they can
    // reach out of order (seen: the 3rd of 4 concurrent sends landed last, reordering every partition). A send still
    // goes to all leaders at once. Without idempotence, compressed sends finish encoding in any order too; uncompressed
    // ones keep max.in.flight.requests.per.connection and, as in Java without idempotence, may be reordered.
    this.maxInFlight = options.idempotent || options.compression !== "none" ? 1 : options.maxInFlightRequests;
    this.sendLimit = Math.min(options.batchSize, options.maxRequestSize);
  }

  private async connect(what: string): Promise<void> {
    if (this.closed) throw new KafkaClientClosedError(what);
    this.connecting ??= this.producer.connect().catch((err: unknown) => {
      this.connecting = undefined;
      throw toKafkaError(err, { what: "connect producer" });
    });
    await this.connecting;
  }

  async produce(records: readonly ProducerRecord[]): Promise<void> {
    if (this.options.transactionalId !== undefined) {
      throw new KafkaConfigError("transactional.id", "a transactional producer sends only inside beginTransaction()");
    }
    if (this.closed) throw new KafkaClientClosedError("produce");
    if (records.length === 0) return;
    const waits: Promise<void>[] = [];
    for (const record of records) {
      const { message, bytes } = toMessage(record);
      if (bytes > this.options.maxRequestSize) {
        throw new KafkaClientError(
          `produce to ${record.topic}: a record of ${bytes} bytes exceeds max.request.size (${this.options.maxRequestSize})`,
          { kafkaErrorType: "MESSAGE_TOO_LARGE" },
        );
      }
      if (this.open && (this.open.bytes + bytes > this.sendLimit || this.open.records >= MAX_RECORDS_PER_SEND))
        this.seal();
      this.open ??= new PendingSend();
      if (waits[waits.length - 1] !== this.open.done) waits.push(this.open.done);
      this.open.add(record.topic, message, bytes);
    }
    this.scheduleSeal();
    await Promise.all(waits);
  }

  /** Seals the open send when linger.ms has passed (or, with linger.ms=0, once this turn's calls have added to it). */
  private scheduleSeal(): void {
    if (!this.open || this.lingerTimer || this.immediate) return;
    if (this.options.lingerMs === 0) {
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        this.seal();
      });
    } else {
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = undefined;
        this.seal();
      }, this.options.lingerMs);
    }
  }

  private seal(): void {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    if (this.immediate) clearImmediate(this.immediate);
    this.lingerTimer = undefined;
    this.immediate = undefined;
    const send = this.open;
    this.open = undefined;
    if (!send) return;
    this.queued.push(send);
    const tracked = send.done.then(
      () => undefined,
      () => undefined,
    );
    this.unsettled.add(tracked);
    void tracked.then(() => this.unsettled.delete(tracked));
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queued.length > 0) {
      const send = this.queued.shift()!;
      this.inFlight++;
      void this.dispatch(send).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async dispatch(send: PendingSend): Promise<void> {
    try {
      await this.topics.ensure(send.byTopic.keys());
      await this.connect("produce");
      let messages = send.topicMessages();
      for (let refreshes = 0; ; refreshes++) {
        const acked = await this.withDeliveryTimeout(
          this.producer.sendBatch({
            topicMessages: messages,
            acks: this.options.acks,
            timeout: this.options.requestTimeoutMs,
            compression: compressionOf(this.options),
          }),
        );
        // With acks=0 nothing is acknowledged, so skipped partitions cannot be told from sent ones.
        const skipped = this.options.acks === 0 ? [] : skippedMessages(messages, acked);
        if (skipped.length === 0) break;
        if (refreshes >= MAX_METADATA_REFRESHES) throw unknownPartitionError(skipped, "produce");
        // A partition just added reaches the metadata of every broker moments after the controller commits it.
        await sleep(retryBackoffMs(refreshes, this.options.retry));
        await this.refreshMetadata();
        messages = skipped; // the rest was acknowledged: only the skipped records go again
      }
      send.resolve();
    } catch (err) {
      send.reject(toKafkaError(err, { what: "produce" }));
    }
  }

  /**
   * kafkajs has no public metadata refresh, and waits metadata.max.age.ms before its own: reconnecting drops its
   * metadata, and the next send fetches it anew. Sends in flight on this producer at that moment fail (and are
   * reported as failed); that only happens after a record named a partition the metadata lacked.
   */
  private async refreshMetadata(): Promise<void> {
    const connected = this.connecting;
    this.connecting = undefined;
    await connected?.catch(() => undefined);
    await this.producer
      .disconnect()
      .catch((err: unknown) => this.logger("warn", `refreshing producer metadata: ${(err as Error).message}`));
    await this.connect("produce");
  }

  private async withDeliveryTimeout<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new KafkaTimeoutError(
              `produce: not acknowledged within delivery.timeout.ms (${this.options.deliveryTimeoutMs} ms)`,
            ),
          ),
        this.options.deliveryTimeoutMs,
      );
    });
    try {
      return await Promise.race([promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async flush(): Promise<void> {
    this.seal();
    while (this.unsettled.size > 0) await Promise.all([...this.unsettled]);
  }

  async beginTransaction(): Promise<KafkaTransaction> {
    if (this.options.transactionalId === undefined) {
      throw new KafkaConfigError("transactional.id", "is required for transactions");
    }
    if (this.transactionOpen)
      throw new KafkaClientError("begin transaction: a transaction is already open on this producer");
    await this.connect("begin transaction");
    let transaction: Transaction;
    try {
      transaction = await this.producer.transaction();
    } catch (err) {
      throw toKafkaError(err, { what: "begin transaction" });
    }
    this.transactionOpen = true;
    return new KafkajsTransaction(this, transaction, () => {
      this.transactionOpen = false;
    });
  }

  /** Sends inside a transaction: sequential sends of up to batch.size bytes (kafkajs orders them per broker). */
  async sendInTransaction(transaction: Transaction, records: readonly ProducerRecord[]): Promise<void> {
    await this.topics.ensure(new Set(records.map((r) => r.topic)));
    for (const send of chunks(records, this.sendLimit, this.options.maxRequestSize)) {
      const messages = send.topicMessages();
      let acked: RecordMetadata[];
      try {
        acked = await this.withDeliveryTimeout(
          transaction.sendBatch({
            topicMessages: messages,
            acks: -1,
            timeout: this.options.requestTimeoutMs,
            compression: compressionOf(this.options),
          }),
        );
      } catch (err) {
        throw toKafkaError(err, { what: "produce in transaction" });
      }
      // No refresh inside a transaction (a reconnect would end it): the caller aborts and retries.
      const skipped = skippedMessages(messages, acked);
      if (skipped.length > 0) throw unknownPartitionError(skipped, "produce in transaction");
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush().catch(() => undefined);
    this.closed = true;
    await Promise.all([
      this.producer.disconnect().catch((err: unknown) => {
        this.logger("warn", `closing producer: ${(err as Error).message}`);
      }),
      this.topics.close(),
    ]);
  }
}

class KafkajsTransaction implements KafkaTransaction {
  private ended = false;

  constructor(
    private readonly producer: KafkajsProducer,
    private readonly transaction: Transaction,
    private readonly onEnd: () => void,
  ) {}

  private check(what: string): void {
    if (this.ended) throw new KafkaClientError(`${what}: the transaction has already ended`);
  }

  async produce(records: readonly ProducerRecord[]): Promise<void> {
    this.check("produce in transaction");
    await this.producer.sendInTransaction(this.transaction, records);
  }

  async sendOffsets(groupId: string, offsets: readonly GroupOffset[]): Promise<void> {
    this.check("send offsets in transaction");
    const topics = new Map<string, { partition: number; offset: string; metadata: string | null }[]>();
    for (const { topic, partition, offset, metadata } of offsets) {
      const list = topics.get(topic) ?? [];
      list.push({ partition, offset: offset.toString(), metadata: metadata ?? null });
      topics.set(topic, list);
    }
    try {
      await this.transaction.sendOffsets({
        consumerGroupId: groupId,
        // kafkajs types omit metadata; its TxnOffsetCommit request writes it.
        topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })) as never,
      });
    } catch (err) {
      throw toKafkaError(err, { what: `send offsets of group ${groupId} in transaction` });
    }
  }

  /** On failure the transaction stays open: abort it (or, if the producer was fenced, close the producer). */
  async commit(): Promise<void> {
    this.check("commit transaction");
    try {
      await this.transaction.commit();
    } catch (err) {
      throw toKafkaError(err, { what: "commit transaction" });
    }
    this.ended = true;
    this.onEnd();
  }

  async abort(): Promise<void> {
    this.check("abort transaction");
    try {
      await this.transaction.abort();
    } catch (err) {
      throw toKafkaError(err, { what: "abort transaction" });
    } finally {
      this.ended = true;
      this.onEnd();
    }
  }
}

/** Creates the default (kafkajs) producer. It connects lazily, on first send. */
export function createKafkajsProducer(options: ProducerOptions, settings: KafkajsSettings = {}): KafkaProducer {
  return new KafkajsProducer(options, settings);
}
