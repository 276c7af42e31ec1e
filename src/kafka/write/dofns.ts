// The sink's DoFns, the same in the local runner and the Fn API worker:
//   KafkaWriteDoFn               at-least-once: records go to the worker's shared producer as they come; finishBundle
//                                resolves only when Kafka acknowledged every record of the bundle, and fails the
//                                bundle with the Kafka error of any send that failed (after the producer's retries).
//   KafkaShardDoFn               exactly-once, before the GroupByKey: element → final record, into its shard's chunk
//                                → KV<shard, chunk bytes>.
//   KafkaTransactionalWriteDoFn  exactly-once, after it: KV<shard, records> → one transaction per batch (shard-writer.ts).
import type { DoFn, FinishBundleContext, ProcessContext, StartBundleContext } from "../../sdf/index.js";
import type { KafkaLogger, ProducerOptions } from "../config/index.js";
import { parseProducerConfig } from "../config/index.js";
import {
  batchBuffersFor,
  batchSendLimit,
  RECORDS_OFFSET,
  type BatchBuffers,
  type ClientLease,
  type KafkaClient,
  type KafkaProducer,
  type KafkaTransaction,
  type ProducerRecord,
} from "../client/index.js";
import { ByteReader } from "../../model/coders/index.js";
import type { BoundedWindow, Instant } from "../../model/windowing.js";
import { windowKey } from "../../sdf/index.js";
import { KafkaWriteError } from "./errors.js";
import { metadataClientOptions, writeEnvironment, type WriteEnvironment } from "./environment.js";
import { applyPartitioner, PartitionCounts, type Partitioner } from "./partitioner.js";
import { payloadBytes, recordMapper, type RecordFunctions, type RecordMapper, type WriteInputKind } from "./record.js";
import {
  addShardValueDigest,
  BatchDigest,
  batchIdOf,
  readShardValue,
  ShardChunkWriter,
  ShardRecordEncoder,
} from "./shard-record.js";
import {
  defaultShardWriterPool,
  ShardWriter,
  type BatchGroup,
  type SelfSendingGroup,
  type ShardWriterPool,
} from "./shard-writer.js";
import { ShardTranscoder, type MissingCount, type TranscodedRun } from "./shard-transcoder.js";
import { shardTransactionalId, type WriteSpec } from "./spec.js";

/** Native-only functions (they cannot travel in a payload). */
export interface WriteFunctions extends RecordFunctions {
  readonly partitioner?: Partitioner;
}

/** Records handed to the producer per call: amortizes its per-call promise without delaying sends. */
const CHUNK_RECORDS = 1000;
/** Unacknowledged bytes one DoFn instance may have queued before process() waits for the oldest chunk. */
const MAX_PENDING_BYTES = 64 * 1024 * 1024;
/** What a record costs beside its key and value, for the pending-bytes bound. */
const RECORD_OVERHEAD_BYTES = 24;

/**
 * The sink's user counters. Per topic, as the read's `records_read/<topic>` (the service exports them as
 * kbt_kafka_records_written_total / kbt_kafka_bytes_written_total): records Kafka acknowledged (at-least-once) or
 * committed (exactly-once), and their key + value bytes. Exactly-once also counts batches committed and batches a
 * retry found already committed.
 */
export const WRITE_METRICS = Object.freeze({
  recordsWritten: (topic: string): string => `records_written/${topic}`,
  bytesWritten: (topic: string): string => `bytes_written/${topic}`,
  BATCHES_COMMITTED: "kafka_transactions_committed",
  BATCHES_SKIPPED: "kafka_batches_already_committed",
});

/** Records and key + value bytes per topic, added up record by record and reported as counters. */
class TopicTally {
  private readonly byTopic = new Map<string, { records: number; bytes: number }>();
  private last: { topic: string; entry: { records: number; bytes: number } } | undefined;

  add(topic: string, bytes: number): void {
    // Most writes go to one topic: skip the map lookup while the topic does not change.
    let entry = this.last?.topic === topic ? this.last.entry : undefined;
    if (!entry) {
      entry = this.byTopic.get(topic);
      if (!entry) this.byTopic.set(topic, (entry = { records: 0, bytes: 0 }));
      this.last = { topic, entry };
    }
    entry.records++;
    entry.bytes += bytes;
  }

  addMany(topic: string, records: number, bytes: number): void {
    let entry = this.byTopic.get(topic);
    if (!entry) this.byTopic.set(topic, (entry = { records: 0, bytes: 0 }));
    entry.records += records;
    entry.bytes += bytes;
  }

  addAll(other: TopicTally): void {
    for (const [topic, { records, bytes }] of other.byTopic) this.addMany(topic, records, bytes);
  }

  report(metrics: FinishBundleContext<never>["metrics"]): void {
    for (const [topic, { records, bytes }] of this.byTopic) {
      if (records === 0) continue;
      metrics.counter(WRITE_METRICS.recordsWritten(topic)).inc(records);
      metrics.counter(WRITE_METRICS.bytesWritten(topic)).inc(bytes);
    }
  }
}

/** Shared by the DoFns that map elements: producer options, the mapper and the optional partitioner. */
class RecordMaking {
  readonly mapper: RecordMapper;
  private counts: PartitionCounts | undefined;
  private clientLease: ClientLease<KafkaClient> | undefined;

  constructor(
    readonly spec: WriteSpec,
    input: WriteInputKind,
    private readonly fns: WriteFunctions,
    private readonly env: WriteEnvironment,
  ) {
    this.mapper = recordMapper(spec, input, fns);
  }

  open(producerOptions: ProducerOptions): void {
    if (this.fns.partitioner && !this.clientLease) {
      this.clientLease = this.env.cache.acquireClient(metadataClientOptions(producerOptions));
      this.counts = new PartitionCounts(this.clientLease.client, producerOptions.metadataMaxAgeMs);
    }
  }

  make(element: unknown, timestamp: bigint): ProducerRecord | Promise<ProducerRecord> {
    const record = this.mapper(element, timestamp);
    return this.fns.partitioner ? applyPartitioner(record, element, this.fns.partitioner, this.counts!) : record;
  }

  close(): void {
    this.clientLease?.release();
    this.clientLease = undefined;
    this.counts = undefined;
  }
}

/** Text of a plain-data value with sorted keys: equal configs, equal keys. */
function stableKey(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "undefined";
  if (Array.isArray(value)) return `[${value.map(stableKey).join(",")}]`;
  return `{${Object.keys(value)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableKey((value as Record<string, unknown>)[k])}`)
    .join(",")}}`;
}

function producerOptionsOf(spec: WriteSpec, logger: KafkaLogger, transactionalId?: string): ProducerOptions {
  const config =
    transactionalId === undefined
      ? spec.producerConfig
      : { ...spec.producerConfig, "transactional.id": transactionalId };
  return parseProducerConfig(config, { logger });
}

/**
 * The at-least-once sink (also exported as WriteToKafkaDoFn), through the worker's shared producer for its config:
 * finishBundle resolves only when Kafka acknowledged every record of the bundle, else fails it with the send's Kafka
 * error (after the producer's retries). Throws KafkaWriteError for an exactly-once spec, which runs as
 * KafkaShardDoFn → GroupByKey → KafkaTransactionalWriteDoFn.
 */
export class KafkaWriteDoFn implements DoFn<unknown, never> {
  private readonly making: RecordMaking;
  private lease: ClientLease<KafkaProducer> | undefined;
  private chunk: ProducerRecord[] = [];
  private chunkBytes = 0;
  private chunkTally = new TopicTally();
  private readonly pending: { done: Promise<void>; bytes: number }[] = [];
  private pendingBytes = 0;
  private acked = new TopicTally();
  private failure: unknown;

  constructor(
    readonly spec: WriteSpec,
    input: WriteInputKind = "kv",
    fns: WriteFunctions = {},
    private readonly env: WriteEnvironment = writeEnvironment(),
  ) {
    if (spec.exactlyOnce)
      throw new KafkaWriteError(
        "KAFKA_WRITE_EXACTLY_ONCE",
        "an exactly-once write runs as shard → GroupByKey → transactional write, not as one DoFn",
      );
    this.making = new RecordMaking(spec, input, fns, env);
  }

  setup(): void {
    const options = producerOptionsOf(this.spec, this.env.logger);
    this.lease = this.env.cache.acquireProducer(options);
    this.making.open(options);
  }

  startBundle(_context: StartBundleContext): void {
    this.chunk = [];
    this.chunkBytes = 0;
    this.chunkTally = new TopicTally();
    this.pending.length = 0;
    this.pendingBytes = 0;
    this.acked = new TopicTally();
    this.failure = undefined;
  }

  process(element: unknown, context: ProcessContext<never>): void | Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    const record = this.making.make(element, context.timestamp);
    if (record instanceof Promise) return record.then((r) => this.add(r));
    return this.add(record);
  }

  private add(record: ProducerRecord): void | Promise<void> {
    const bytes = payloadBytes(record);
    this.chunk.push(record);
    this.chunkBytes += RECORD_OVERHEAD_BYTES + bytes;
    this.chunkTally.add(record.topic, bytes);
    if (this.chunk.length >= CHUNK_RECORDS) this.send();
    if (this.pendingBytes > MAX_PENDING_BYTES) return this.drainOldest();
  }

  private send(): void {
    if (this.chunk.length === 0) return;
    const records = this.chunk;
    const tally = this.chunkTally;
    const entry = { done: Promise.resolve(), bytes: this.chunkBytes };
    entry.done = this.lease!.client.produce(records)
      .then(
        () => {
          this.acked.addAll(tally);
        },
        (err: unknown) => {
          this.failure ??= err;
        },
      )
      .finally(() => {
        this.pendingBytes -= entry.bytes;
      });
    this.pending.push(entry);
    this.pendingBytes += entry.bytes;
    this.chunk = [];
    this.chunkBytes = 0;
    this.chunkTally = new TopicTally();
  }

  private async drainOldest(): Promise<void> {
    while (this.pendingBytes > MAX_PENDING_BYTES && this.pending.length > 0) await this.pending.shift()!.done;
    if (this.failure !== undefined) throw this.failure;
  }

  async finishBundle(context: FinishBundleContext<never>): Promise<void> {
    this.send();
    if (this.pending.length > 0) await this.lease!.client.flush();
    await Promise.all(this.pending.map((p) => p.done));
    this.pending.length = 0;
    this.acked.report(context.metrics);
    if (this.failure !== undefined) throw this.failure;
  }

  teardown(): void {
    this.making.close();
    this.lease?.release();
    this.lease = undefined;
  }
}

/** A chunk is emitted once it holds this many bytes (bounds what a bundle's open chunks hold and retain). */
const MAX_CHUNK_BYTES = 256 * 1024;

/** One shard's open chunk in one window, for the bundle. */
interface OpenChunk {
  readonly writer: ShardChunkWriter;
  readonly window: BoundedWindow;
  /** finishBundle emits the chunk at its earliest element's timestamp (no later than any record's window hold). */
  minTimestamp: Instant;
}

type ShardOutput = { key: bigint; value: Uint8Array };

/**
 * Exactly-once, step 1: each element becomes its final record, encoded into its shard's chunk (shard-record.ts);
 * a shard's chunk goes out as KV<shard, bytes> when full and at the end of the bundle.
 */
export class KafkaShardDoFn implements DoFn<unknown, ShardOutput> {
  private readonly making: RecordMaking;
  private readonly numShards: number;
  /** Per window (by windowKey): each shard's open chunk. */
  private readonly open = new Map<string, (OpenChunk | undefined)[]>();
  private lastWindow: { window: BoundedWindow; chunks: (OpenChunk | undefined)[] } | undefined;
  private readonly encoder = new ShardRecordEncoder();
  /** Writers of emitted chunks, kept for the next ones (at most one per shard). */
  private readonly idle: ShardChunkWriter[] = [];

  constructor(
    readonly spec: WriteSpec,
    input: WriteInputKind,
    fns: WriteFunctions,
    private readonly env: WriteEnvironment,
  ) {
    if (!spec.exactlyOnce)
      throw new KafkaWriteError("KAFKA_WRITE_EXACTLY_ONCE", "the shard step belongs to an exactly-once write");
    this.numShards = spec.exactlyOnce.numShards;
    this.making = new RecordMaking(spec, input, fns, env);
  }

  setup(): void {
    this.making.open(producerOptionsOf(this.spec, this.env.logger, shardTransactionalId(this.spec.exactlyOnce!, 0)));
  }

  startBundle(): void {
    this.open.clear(); // a failed bundle's chunks are not emitted
    this.lastWindow = undefined;
  }

  process(element: unknown, context: ProcessContext<ShardOutput>): void | Promise<void> {
    const record = this.making.make(element, context.timestamp);
    if (record instanceof Promise) return record.then((r) => this.add(r, context));
    return this.add(record, context);
  }

  private chunksOf(window: BoundedWindow): (OpenChunk | undefined)[] {
    if (this.lastWindow?.window === window) return this.lastWindow.chunks;
    const key = windowKey(window);
    let chunks = this.open.get(key);
    if (!chunks) this.open.set(key, (chunks = new Array(this.numShards)));
    this.lastWindow = { window, chunks };
    return chunks;
  }

  private add(record: ProducerRecord, context: ProcessContext<ShardOutput>): void | Promise<void> {
    const shard = this.encoder.encode(record, this.numShards);
    const chunks = this.chunksOf(context.window);
    let chunk = chunks[shard];
    if (!chunk) {
      const writer = this.idle.pop() ?? new ShardChunkWriter();
      chunks[shard] = chunk = { writer, window: context.window, minTimestamp: context.timestamp };
    } else if (context.timestamp < chunk.minTimestamp) {
      chunk.minTimestamp = context.timestamp;
    }
    chunk.writer.append(this.encoder);
    if (chunk.writer.byteLength < MAX_CHUNK_BYTES) return;
    chunks[shard] = undefined;
    // From process: at this element's timestamp, in its window (the chunk's).
    return context.output({ key: BigInt(shard), value: this.finish(chunk.writer) });
  }

  private finish(writer: ShardChunkWriter): Uint8Array {
    const bytes = writer.finish();
    if (this.idle.length < this.numShards) this.idle.push(writer);
    return bytes;
  }

  async finishBundle(context: FinishBundleContext<ShardOutput>): Promise<void> {
    for (const chunks of this.open.values()) {
      for (let shard = 0; shard < chunks.length; shard++) {
        const chunk = chunks[shard];
        if (!chunk) continue;
        const value = this.finish(chunk.writer);
        const pending = context.output({ key: BigInt(shard), value }, chunk.minTimestamp, chunk.window);
        if (pending) await pending;
      }
    }
    this.open.clear();
    this.lastWindow = undefined;
  }

  teardown(): void {
    this.making.close();
  }
}

/** What the groups of one shard batch attempt share. */
interface ShardGroupContext {
  readonly transcoder: ShardTranscoder;
  /** Partition counts of the topics met, looked up once per attempt. */
  readonly counts: Map<string, number>;
  readonly tally: TopicTally;
  readonly reader: ByteReader;
}

/**
 * One GroupByKey value of a shard batch as the transactions step sends it: its records transcoded into the batch's
 * open runs (shard-transcoder.ts), sending the runs that filled, where the producer takes encoded records; else
 * decoded into records. `value` undefined: the batch's end, sending the runs still open.
 */
class ShardValueGroup implements SelfSendingGroup {
  records = 0;
  bytes = 0;
  private runs: TranscodedRun[] = [];
  private decoded: ProducerRecord[] | undefined;

  constructor(
    private readonly value: Uint8Array | undefined,
    private readonly shared: ShardGroupContext,
  ) {}

  async prepare(transaction: KafkaTransaction): Promise<void> {
    const { transcoder, counts, tally, reader } = this.shared;
    if (!transaction.produceEncoded || !transaction.partitionCount) {
      if (this.value === undefined) return;
      const records: ProducerRecord[] = [];
      readShardValue(this.value, records, reader);
      for (const record of records) {
        const bytes = payloadBytes(record);
        tally.add(record.topic, bytes);
        this.bytes += bytes;
      }
      this.records = records.length;
      this.decoded = records;
      return;
    }
    let runs: TranscodedRun[] | MissingCount;
    if (this.value === undefined) runs = transcoder.flush();
    else {
      const value = this.value;
      runs = transcoder.transcode(value, Date.now());
      while (!Array.isArray(runs)) {
        const { topic, record } = runs;
        counts.set(topic, await transaction.partitionCount(topic)); // a topic first met: its count, then on
        runs = transcoder.transcode(value, Date.now(), record);
      }
    }
    for (const run of runs) {
      tally.addMany(run.topic, run.records.count, run.payloadBytes);
      this.records += run.records.count;
      this.bytes += run.payloadBytes;
    }
    this.runs = runs;
  }

  send(transaction: KafkaTransaction): Promise<void> {
    if (this.decoded) return transaction.produce(this.decoded);
    // Each run is queued now, in order; they are acknowledged together.
    const sent = this.runs.map((run) => transaction.produceEncoded!(run.topic, run.partition, run.records));
    this.runs = [];
    return Promise.all(sent).then(() => undefined);
  }
}

/** A GroupByKey output: the shard and its records (an array, or any iterable a runner hands over). */
export interface ShardBatch {
  readonly key: bigint | number;
  readonly value: Iterable<Uint8Array>;
}

export interface TransactionalWriteSettings {
  readonly pool?: ShardWriterPool;
}

/** Exactly-once, step 2: each shard batch in one transaction, at most once (see shard-writer.ts). */
export class KafkaTransactionalWriteDoFn implements DoFn<ShardBatch, never> {
  private readonly pool: ShardWriterPool;
  private readonly leases = new Map<number, { writer: ShardWriter; release: () => void }>();
  private readonly reader = new ByteReader();
  /** The producer's batch limit and buffers, for the transcoded batches. */
  private readonly sendLimit: number;
  private readonly batchBuffers: BatchBuffers;
  private pending: Promise<void>[] = [];
  private failure: unknown;
  private committed = 0;
  private skipped = 0;
  private written = new TopicTally();
  /** A replayed batch must be the batch committed before (its id and digest): see ExactlyOnceOptions. */
  readonly requiresStableInput: boolean;

  constructor(
    readonly spec: WriteSpec,
    private readonly env: WriteEnvironment,
    settings: TransactionalWriteSettings = {},
  ) {
    if (!spec.exactlyOnce)
      throw new KafkaWriteError(
        "KAFKA_WRITE_EXACTLY_ONCE",
        "the transactional write step belongs to an exactly-once write",
      );
    this.pool = settings.pool ?? defaultShardWriterPool;
    this.requiresStableInput = spec.exactlyOnce.requiresStableInput;
    this.sendLimit = batchSendLimit(producerOptionsOf(spec, env.logger));
    this.batchBuffers = batchBuffersFor(this.sendLimit);
  }

  startBundle(): void {
    this.pending = [];
    this.failure = undefined;
    this.committed = 0;
    this.skipped = 0;
    this.written = new TopicTally();
  }

  private writerFor(shard: number): ShardWriter {
    let lease = this.leases.get(shard);
    if (!lease) {
      const eos = this.spec.exactlyOnce!;
      const options = producerOptionsOf(this.spec, this.env.logger, shardTransactionalId(eos, shard));
      const key = `${stableKey(options)} ${eos.sinkGroupId} ${eos.metadataTopic}`;
      lease = this.pool.acquire(key, () => {
        const offsets = this.env.cache.acquireClient(metadataClientOptions(options));
        return new ShardWriter(eos, shard, options, {
          createProducer: this.env.createProducer,
          offsets: offsets.client,
          onClose: () => offsets.release(),
        });
      });
      this.leases.set(shard, lease);
    }
    return lease.writer;
  }

  process(batch: ShardBatch, context: ProcessContext<never>): void {
    if (this.failure !== undefined) throw this.failure;
    const shard = Number(batch.key);
    const numShards = this.spec.exactlyOnce!.numShards;
    if (!Number.isInteger(shard) || shard < 0 || shard >= numShards) {
      throw new KafkaWriteError(
        "KAFKA_WRITE_EXACTLY_ONCE",
        `batch for shard ${String(batch.key)}: this sink has shards 0..${numShards - 1}`,
      );
    }
    // The digest from the chunks' headers; the records are read chunk by chunk while they are written, so a big
    // batch is never held as records (each attempt reads them again).
    const values = Array.isArray(batch.value) ? (batch.value as Uint8Array[]) : [...batch.value]; // read twice
    const digest = new BatchDigest();
    for (const bytes of values) addShardValueDigest(bytes, digest, this.reader);
    let tally = new TopicTally();
    const { reader, sendLimit, batchBuffers } = this;
    function* chunks(): Iterable<BatchGroup> {
      tally = new TopicTally();
      // One per attempt: shards write in parallel, each batch fills runs of its own.
      const counts = new Map<string, number>();
      const transcoder = new ShardTranscoder(sendLimit - RECORDS_OFFSET, batchBuffers, counts); // (batch.size: header included)
      const shared = { transcoder, counts, tally, reader };
      for (const bytes of values) yield new ShardValueGroup(bytes, shared);
      yield new ShardValueGroup(undefined, shared);
    }
    const batchId = batchIdOf(context.window, context.pane);
    // Shards of one bundle commit in parallel (each has its own producer); finishBundle waits for all of them.
    this.pending.push(
      this.writerFor(shard)
        .writeBatch(batchId, digest.toString(), chunks)
        .then(
          (outcome) => {
            if (outcome.kind === "committed") {
              this.committed++;
              this.written.addAll(tally);
            } else {
              this.skipped++;
            }
          },
          (err: unknown) => {
            this.failure ??= err;
          },
        ),
    );
  }

  async finishBundle(context: FinishBundleContext<never>): Promise<void> {
    await Promise.all(this.pending);
    this.pending = [];
    this.written.report(context.metrics);
    context.metrics.counter(WRITE_METRICS.BATCHES_COMMITTED).inc(this.committed);
    context.metrics.counter(WRITE_METRICS.BATCHES_SKIPPED).inc(this.skipped);
    if (this.failure !== undefined) throw this.failure;
  }

  teardown(): void {
    for (const lease of this.leases.values()) lease.release();
    this.leases.clear();
  }
}
