// ReadFromKafka as a splittable DoFn, in Beam's order: initial restriction, tracker, size, split, watermark,
// process. The element is a source descriptor (one topic-partition); the restriction an offset range, growing to
// infinity for unbounded reads. processElement fetches from an explicit offset (no consumer group), claims each
// record's offset, and checkpoints when caught up or after a bounded amount of work, so a runner always gets
// residuals back — even for unbounded reads with nothing to read.
import {
  GrowableOffsetRangeTracker,
  ManualWatermarkEstimator,
  OFFSET_INFINITY,
  OffsetRangeTracker,
  ProcessContinuation,
  offsetRange,
  offsetRangeCoder,
  watermarkInstantCoder,
  type OffsetRange,
  type OutputResult,
  type ProcessContext,
  type RestrictionTracker,
  type SplittableDoFn,
  type WatermarkEstimator,
} from "../../sdf/index.js";
import type { Coder } from "../../model/coders/index.js";
import { MIN_TIMESTAMP, type Instant } from "../../model/windowing.js";
import type { DoFnPayload } from "../../model/dofn-payload.js";
import { structuralKey } from "../../pipeline/structural.js";
import { parseConsumerConfig, type ConsumerOptions } from "../config/index.js";
import {
  acquireClient,
  type ClientLease,
  type FetchResult,
  type KafkaClient,
  type KafkaRecord,
} from "../client/index.js";
import { deserialize, DeserializationError } from "../serde.js";
import { decodeSourceDescriptor, partitionKey, type SourceDescriptor } from "./source-descriptor.js";
import { resolveStartOffsets } from "./start-offsets.js";
import { sharedReadState, type SharedReadState } from "./shared-read-state.js";
import { notePartitionRead } from "./partition-gauges.js";
import { timestampPolicy, type TimestampPolicy } from "./timestamps.js";
import { readOutputCoder } from "./coders.js";
import { TIMESTAMP_TYPE_IDS, TIMESTAMP_TYPE_NAMES, type KafkaRecordRow } from "./record-row.js";
import type { ReadSpec, TimestampFn } from "./spec.js";

/** The local output name of the dead-letter output (a read with spec.deadLetters). */
export const DEAD_LETTER_TAG = "deadLetters";

/** A record that could not be deserialized, as the dead-letter output carries it (key and value copied). */
export interface KafkaDeadLetter {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly timestamp: bigint;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly { readonly key: string; readonly value: Buffer | null }[];
  /** What failed, e.g. "value: invalid JSON (12 bytes)". */
  readonly error: string;
}

function copyOf(bytes: Buffer | null): Buffer | null {
  return bytes === null ? null : Buffer.from(bytes);
}

/** Work bounds of one processElement call before it checkpoints (keeps bundles short and splits cheap). */
export interface ReadBounds {
  readonly maxRecordsPerCall: number;
  readonly maxMillisPerCall: number;
}

const DEFAULT_BOUNDS: ReadBounds = { maxRecordsPerCall: 200_000, maxMillisPerCall: 1_000 };
/** How long a bundle's offset commit may wait for its finalization. */
const FINALIZATION_EXPIRY_MS = 5 * 60_000;

/**
 * An unbounded partition read splits only at its current position (a checkpoint): a partition is read in order,
 * so reading its two halves at once gains nothing, and a residual far ahead would report a watermark past records
 * the primary has not emitted yet (their windows would fire without them).
 */
class PartitionTracker extends GrowableOffsetRangeTracker {
  override trySplit(fractionOfRemainder: number) {
    return fractionOfRemainder > 0 ? undefined : super.trySplit(0);
  }
}

function minOffset(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

/** Drops the unclaimed rest of the restriction: the read stops here (stop time, deadline). */
function finishEarly(tracker: RestrictionTracker<OffsetRange, bigint>): void {
  if (!tracker.trySplit(0)) tracker.tryClaim(tracker.currentRestriction().to);
}

/**
 * The read's splittable DoFn: element = an encoded SourceDescriptor (one topic-partition), restriction = an offset
 * range (open-ended when unbounded). Fetches from explicit offsets without joining a consumer group, and checkpoints
 * when caught up or after a bounded amount of work (default 200,000 records or 1 s per call). With
 * commitOffsetsInFinalize it commits the next offset to group.id once the runner finalizes the bundle.
 */
export class ReadFromKafkaDoFn implements SplittableDoFn<Uint8Array, unknown, OffsetRange, Instant, bigint> {
  readonly restrictionCoder = offsetRangeCoder;
  readonly watermarkStateCoder = watermarkInstantCoder;
  readonly unboundedPerElement: boolean;
  /** Undefined for JSON values: they have no standard coder, so such a read runs in-process only. */
  readonly outputCoder: Coder<unknown> | undefined;
  readonly requestsFinalization: boolean;
  private readonly options: ConsumerOptions;
  /**
   * A read of maxNumRecords fixes offset ranges (descriptors-dofn.ts): offsets that hold no record make it return
   * fewer records, which it says once per partition.
   */
  private readonly countsEmptyOffsets: boolean;
  private readonly warnedEmptyOffsets = new Set<string>();
  private readonly policy: TimestampPolicy;
  private lease: ClientLease<KafkaClient> | undefined;
  /** Prefetches, idle times and latest offsets of the partitions: shared with the other instances on the client. */
  private shared: SharedReadState | undefined;

  /** Absent for a read with a custom timestamp function: it cannot be rebuilt from a payload. */
  readonly doFnPayload?: () => DoFnPayload;

  constructor(
    readonly spec: ReadSpec,
    private readonly bounds: ReadBounds = DEFAULT_BOUNDS,
    timestampFn?: TimestampFn,
  ) {
    this.options = parseConsumerConfig(spec.consumerConfig, { logger: () => undefined });
    this.policy = timestampPolicy(
      spec.timestampPolicy,
      spec.maxOutOfOrderDelayMs,
      spec.idlePartitionTimeoutMs,
      Date.now,
      timestampFn,
    );
    if (spec.timestampPolicy !== "Custom") this.doFnPayload = () => ({ fn: "kafka_read", read: this.spec });
    this.unboundedPerElement = spec.stopReadTime === null && spec.maxNumRecords === null && !spec.stopAtEndOffsets;
    this.countsEmptyOffsets = spec.maxNumRecords !== null;
    this.outputCoder = spec.valueFormat === "json" || spec.keyFormat === "json" ? undefined : readOutputCoder(spec);
    this.requestsFinalization = spec.commitOffsetsInFinalize;
  }

  private warnOfEmptyOffsets(d: SourceDescriptor, empty: bigint): void {
    const key = partitionKey(d.topic, d.partition);
    if (this.warnedEmptyOffsets.has(key)) return;
    this.warnedEmptyOffsets.add(key);
    console.warn(
      `[kafka] ${d.topic}-${d.partition}: ${empty} offset(s) of the read's range held no record (transaction markers, ` +
        `aborted or compacted records); a read of max_num_records ${this.spec.maxNumRecords} takes its ranges by ` +
        "offset, so it returns that many records fewer",
    );
  }

  setup(): void {
    this.lease = acquireClient(this.options);
    this.shared = sharedReadState(this.lease.client, structuralKey(this.spec));
  }

  teardown(): void {
    this.lease?.release();
    this.lease = undefined;
    this.shared = undefined;
  }

  private get client(): KafkaClient {
    if (!this.lease) this.setup();
    return this.lease!.client;
  }

  private get state(): SharedReadState {
    if (!this.shared) this.setup();
    return this.shared!;
  }

  async initialRestriction(element: Uint8Array): Promise<OffsetRange> {
    const d = decodeSourceDescriptor(element);
    const start = d.startOffset ?? (await resolveStartOffsets(this.client, this.spec, this.options, [d]))[0]!;
    return offsetRange(
      start,
      d.stopOffset !== undefined && d.stopOffset > start ? d.stopOffset : (d.stopOffset ?? OFFSET_INFINITY),
    );
  }

  newTracker(restriction: OffsetRange, element: Uint8Array): RestrictionTracker<OffsetRange, bigint> {
    if (restriction.to !== OFFSET_INFINITY) return new OffsetRangeTracker(restriction);
    const d = decodeSourceDescriptor(element);
    return new PartitionTracker(restriction, { estimate: () => this.endEstimate(d, restriction.from) });
  }

  private endEstimate(d: SourceDescriptor, fallback: bigint): bigint {
    return this.state.latestOffsets(this.options.isolationLevel).estimate(d.topic, d.partition, fallback);
  }

  /** Backlog in records: to the end of a bounded range, or to the cached latest offset. */
  getSize(element: Uint8Array, restriction: OffsetRange): number {
    const end =
      restriction.to !== OFFSET_INFINITY
        ? restriction.to
        : this.endEstimate(decodeSourceDescriptor(element), restriction.from);
    return end > restriction.from ? Number(end - restriction.from) : 0;
  }

  splitRestriction(_element: Uint8Array, restriction: OffsetRange): OffsetRange[] {
    // A partition is read in order by one restriction; runners split it dynamically where it helps.
    return [restriction];
  }

  initialWatermarkState(): Instant {
    return MIN_TIMESTAMP;
  }

  newWatermarkEstimator(state: Instant): WatermarkEstimator<Instant> {
    return new ManualWatermarkEstimator(state);
  }

  private async fetch(d: SourceDescriptor, offset: bigint): Promise<FetchResult> {
    const key = partitionKey(d.topic, d.partition);
    const ahead = this.state.prefetched.get(key);
    this.state.prefetched.delete(key);
    if (!ahead || ahead.offset !== offset) {
      ahead?.result.catch(() => undefined);
      return this.client.fetch(d.topic, d.partition, offset, {
        isolationLevel: this.options.isolationLevel,
        maxWaitMs: Math.min(this.spec.pollTimeoutMs, this.options.fetchMaxWaitMs),
      });
    }
    const result = await ahead.result;
    if (result.records.length > 0 || result.nextOffset > offset) return result;
    // An empty prefetch may be stale: its wait on the broker ended with nothing, but the runner can call back long
    // after that (Flink resumes a partition once per bundle, every max_bundle_time_millis): ask again, not waiting.
    return this.client.fetch(d.topic, d.partition, offset, {
      isolationLevel: this.options.isolationLevel,
      maxWaitMs: 0,
    });
  }

  private prefetch(d: SourceDescriptor, offset: bigint): void {
    const result = this.client.fetch(d.topic, d.partition, offset, {
      isolationLevel: this.options.isolationLevel,
      maxWaitMs: Math.min(this.spec.pollTimeoutMs, this.options.fetchMaxWaitMs),
    });
    result.catch(() => undefined); // consumed (and its error seen) by the next fetch() of this offset
    this.state.prefetched.set(partitionKey(d.topic, d.partition), { offset, result });
  }

  private toOutput(d: SourceDescriptor, record: KafkaRecord): unknown {
    if (this.spec.withMetadata) {
      // The record's own timestamp, as Kafka stored it; the element's event time follows the timestamp policy.
      const row: KafkaRecordRow = {
        topic: d.topic,
        partition: d.partition,
        offset: record.offset,
        timestamp: record.timestamp,
        key: record.key,
        value: record.value,
        headers: record.headers.map((h) => ({ key: h.key, value: h.value })),
        timestampTypeId: TIMESTAMP_TYPE_IDS[record.timestampType],
        timestampTypeName: TIMESTAMP_TYPE_NAMES[record.timestampType],
      };
      return row;
    }
    let part = "key";
    try {
      const key = deserialize(this.spec.keyFormat, record.key);
      part = "value";
      return { key, value: deserialize(this.spec.valueFormat, record.value) };
    } catch (err) {
      if (err instanceof DeserializationError) {
        throw new DeserializationError(`${d.topic}-${d.partition}@${record.offset}: ${part}: ${err.message}`, {
          cause: err,
        });
      }
      throw err;
    }
  }

  /** A record that failed to deserialize: to the dead-letter output when there is one, else the read fails. */
  private deadLetter(
    context: ProcessContext<unknown>,
    d: SourceDescriptor,
    record: KafkaRecord,
    err: unknown,
    timestamp: Instant,
  ): void | Promise<void> {
    if (!this.spec.deadLetters || !(err instanceof DeserializationError)) throw err;
    context.metrics.counter(`deserialization_errors/${d.topic}`).inc();
    const letter: KafkaDeadLetter = {
      topic: d.topic,
      partition: d.partition,
      offset: record.offset,
      timestamp: record.timestamp,
      key: copyOf(record.key),
      value: copyOf(record.value),
      headers: record.headers.map((h) => ({ key: h.key, value: copyOf(h.value) })),
      error: err.message,
    };
    return context.outputTagged(DEAD_LETTER_TAG, letter, timestamp);
  }

  private commitOnFinalize(context: ProcessContext<unknown>, d: SourceDescriptor, nextOffset: bigint): void {
    const groupId = this.options.groupId;
    if (!this.spec.commitOffsetsInFinalize || !groupId) return;
    const client = this.client;
    context.bundleFinalizer.afterBundleCommit(
      Date.now() + FINALIZATION_EXPIRY_MS,
      () => client.commitOffsets(groupId, [{ topic: d.topic, partition: d.partition, offset: nextOffset }]),
      // Bundles of one partition finish in offset order; their finalizations may come in any order.
      { latestWins: `${groupId}\u0000${d.topic}\u0000${d.partition}` },
    );
  }

  async processElement(
    context: ProcessContext<unknown>,
    element: Uint8Array,
    tracker: RestrictionTracker<OffsetRange, bigint>,
    watermark: WatermarkEstimator<Instant>,
  ): Promise<ProcessContinuation> {
    const d = decodeSourceDescriptor(element);
    const estimator = watermark as ManualWatermarkEstimator;
    const key = partitionKey(d.topic, d.partition);
    const started = Date.now();
    const range = tracker.currentRestriction();
    let next = range.from;
    let emitted = 0;
    let newest: Instant | undefined;
    let high: bigint | undefined;
    /** Offsets of the range that held no record (markers, aborted or compacted records): counted for maxNumRecords. */
    let empty = 0n;
    const done = (continuation: ProcessContinuation): ProcessContinuation => {
      if (empty > 0n) this.warnOfEmptyOffsets(d, empty);
      if (emitted > 0) this.commitOnFinalize(context, d, next);
      const wm = this.policy.watermarkAfterRecords(newest);
      if (wm !== undefined) estimator.setWatermark(wm);
      if (high !== undefined) notePartitionRead(d.topic, d.partition, estimator.currentWatermark(), next, high);
      return continuation;
    };

    for (;;) {
      if (d.deadlineMs !== undefined && Date.now() >= d.deadlineMs) {
        finishEarly(tracker);
        return done(ProcessContinuation.stop());
      }
      const end = tracker.currentRestriction().to;
      if (next >= end) {
        tracker.tryClaim(end); // past a bounded end (or a split): marks the range done
        return done(ProcessContinuation.stop());
      }
      const waitStarted = Date.now();
      const result = await this.fetch(d, next);
      // Time this read waited for Kafka (prefetch not ready): near 0 while processing is the bottleneck.
      context.metrics.counter(`fetch_wait_ms/${d.topic}`).inc(Date.now() - waitStarted);
      context.metrics.counter(`fetches/${d.topic}`).inc();
      this.state.latestOffsets(this.options.isolationLevel).observe(d.topic, d.partition, result.highWatermark);
      high = result.highWatermark;
      if (result.records.length === 0) {
        if (result.nextOffset > next) {
          // only transaction markers or aborted records: step over them
          if (this.countsEmptyOffsets) empty += minOffset(result.nextOffset, end) - next;
          next = result.nextOffset;
          continue;
        }
        if (emitted === 0) {
          const quiet = this.state.quietSince.get(key) ?? Date.now();
          this.state.quietSince.set(key, quiet);
          const idle = this.policy.watermarkWhenIdle(quiet);
          if (idle !== undefined) estimator.setWatermark(idle);
        }
        // The broker holds this fetch until data arrives (or its wait ends) while other partitions are processed.
        this.prefetch(d, next);
        return done(ProcessContinuation.resume(this.spec.emptyPollResumeDelayMs));
      }
      this.state.quietSince.delete(key);
      if (result.nextOffset < tracker.currentRestriction().to) this.prefetch(d, result.nextOffset);
      this.policy.tick();
      // The last record emitted: `next` follows it where the loop ends (one bigint per batch, not per record).
      let last: bigint | undefined;
      for (const record of result.records) {
        const timestamp = this.policy.timestampOf(record, d.topic, d.partition);
        if (d.stopReadTime !== undefined && timestamp >= d.stopReadTime) {
          if (last !== undefined) next = last + 1n;
          finishEarly(tracker);
          return done(ProcessContinuation.stop());
        }
        if (!tracker.tryClaim(record.offset)) {
          if (last !== undefined) next = last + 1n;
          return done(ProcessContinuation.stop());
        }
        if (this.countsEmptyOffsets) empty += record.offset - (last === undefined ? next : last + 1n);
        let output: unknown;
        let pending: OutputResult | undefined;
        try {
          output = this.toOutput(d, record);
        } catch (err) {
          pending = this.deadLetter(context, d, record, err, timestamp);
        }
        if (output !== undefined) pending = context.outputWithTimestamp(output, timestamp);
        if (pending) {
          await pending;
          this.policy.tick();
        }
        last = record.offset;
        emitted++;
        if (newest === undefined || timestamp > newest) newest = timestamp;
      }
      if (last !== undefined) next = last + 1n;
      if (result.nextOffset > next) {
        if (this.countsEmptyOffsets) empty += minOffset(result.nextOffset, end) - next;
        next = result.nextOffset;
      }
      context.metrics.counter(`records_read/${d.topic}`).inc(result.records.length);
      context.metrics.counter(`partition_records_read/${d.topic}/${d.partition}`).inc(result.records.length);
      context.metrics.counter(`bytes_read/${d.topic}`).inc(result.bytes);
      // After every batch, not only at the end of the call: a runner split in the middle of a long call captures
      // the estimator's state for the residual, and that state must include what was emitted so far.
      const wm = this.policy.watermarkAfterRecords(newest);
      if (wm !== undefined) estimator.setWatermark(wm);
      if (emitted >= this.bounds.maxRecordsPerCall || Date.now() - started >= this.bounds.maxMillisPerCall) {
        return done(ProcessContinuation.resume(0));
      }
      // Caught up with the log as of this response: give the other partitions their turn while the prefetch
      // (already in flight) waits on the broker for more.
      if (next >= result.highWatermark && tracker.currentRestriction().to === OFFSET_INFINITY) {
        return done(ProcessContinuation.resume(0));
      }
    }
  }
}
