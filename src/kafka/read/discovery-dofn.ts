// The first step of an unbounded read that discovers partitions: a splittable DoFn over the impulse that emits the
// source descriptors of the partitions that exist at start, then checkpoints and, every discovery interval, emits
// descriptors for partitions (and, with a pattern, topics) that appeared since. Its restriction is what it has
// emitted so far — per topic, how many partitions — so a residual resumed on any worker emits each partition once.
// Kafka never removes partitions from a topic, so a count per topic says exactly which ones were emitted.
import {
  ManualWatermarkEstimator,
  ProcessContinuation,
  type Coder,
  type ProcessContext,
  type RestrictionTracker,
  type SplittableDoFn,
  type SplitResult,
  type WatermarkEstimator,
  type IsBounded,
  TrackerStateError,
  watermarkInstantCoder,
} from "../../sdf/index.js";
import {
  bytesCoder,
  CoderUrns,
  kvCoder,
  type ByteReader,
  type ByteWriter,
  type CoderContext,
} from "../../model/coders/index.js";
import { MIN_TIMESTAMP, type Instant } from "../../model/windowing.js";
import type { DoFnPayload } from "../../model/dofn-payload.js";
import { parseConsumerConfig, type ConsumerOptions } from "../config/index.js";
import { acquireClient, type ClientLease, type KafkaClient, type TopicPartition } from "../client/index.js";
import { KafkaConfigError } from "../errors.js";
import { SourceDescriptorsDoFn } from "./descriptors-dofn.js";
import { encodeSourceDescriptor } from "./source-descriptor.js";
import { resolveDiscoveredStartOffsets } from "./start-offsets.js";
import type { ReadSpec } from "./spec.js";

/** Partitions emitted so far (topic → count; null before the first round), and whether this restriction is over. */
export interface DiscoveryRestriction {
  readonly emitted: Readonly<Record<string, number>> | null;
  readonly done: boolean;
}

/**
 * The restriction on the wire: its JSON as a byte string (beam:coder:bytes:v1), so a runner that sees it inside a
 * sized element decodes it with a standard coder.
 */
export const discoveryRestrictionCoder: Coder<DiscoveryRestriction> = Object.freeze({
  urn: CoderUrns.BYTES,
  components: [],
  minNestedBytes: 1,
  encode(value: DiscoveryRestriction, out: ByteWriter, context: CoderContext): void {
    bytesCoder.encode(Buffer.from(JSON.stringify(value), "utf8"), out, context);
  },
  decode(input: ByteReader, context: CoderContext): DiscoveryRestriction {
    const bytes = bytesCoder.decode(input, context);
    const raw = JSON.parse(
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"),
    ) as DiscoveryRestriction;
    return Object.freeze({
      emitted: raw.emitted === null ? null : Object.freeze({ ...raw.emitted }),
      done: raw.done === true,
    });
  },
});

/** The SDF's restriction coder as the expansion declares it: KV<restriction, watermark state>. */
export const discoveryRestrictionWithWatermarkCoder = kvCoder(discoveryRestrictionCoder, watermarkInstantCoder);

/**
 * Claims discovery rounds: each claim is the emitted-partitions state after the round. A checkpoint (split at 0)
 * ends this restriction where it is and hands the same state on as the residual; no other split exists.
 */
export class DiscoveryTracker implements RestrictionTracker<DiscoveryRestriction, DiscoveryRestriction> {
  private restriction: DiscoveryRestriction;

  constructor(restriction: DiscoveryRestriction) {
    this.restriction = restriction;
  }

  tryClaim(next: DiscoveryRestriction): boolean {
    if (this.restriction.done) return false;
    this.restriction = Object.freeze({ emitted: next.emitted, done: false });
    return true;
  }

  currentRestriction(): DiscoveryRestriction {
    return this.restriction;
  }

  trySplit(fractionOfRemainder: number): SplitResult<DiscoveryRestriction> | undefined {
    if (fractionOfRemainder > 0 || this.restriction.done) return undefined;
    const { emitted } = this.restriction;
    this.restriction = Object.freeze({ emitted, done: true });
    return { primary: this.restriction, residual: Object.freeze({ emitted, done: false }) };
  }

  checkDone(): void {
    if (!this.restriction.done)
      throw new TrackerStateError("partition discovery stopped without a checkpoint: its restriction never ends");
  }

  isBounded(): IsBounded {
    return this.restriction.done ? "bounded" : "unbounded";
  }

  getProgress() {
    return { workCompleted: 0, workRemaining: this.restriction.done ? 0 : 1 };
  }
}

/** Partition counts per topic (the highest partition id + 1). */
function countsOf(partitions: readonly TopicPartition[], into: Record<string, number> = {}): Record<string, number> {
  for (const { topic, partition } of partitions) into[topic] = Math.max(into[topic] ?? 0, partition + 1);
  return into;
}

/**
 * The first step of an unbounded read with partitionDiscoveryIntervalMs: emits the partitions that exist at start,
 * then every interval those added since (and new topics, with a pattern), from startReadTime, else the committed
 * offset, else the earliest. A failed round is logged and retried next interval, not the read's failure. Throws
 * KafkaConfigError without an interval or with explicit topicPartitions.
 */
export class PartitionDiscoveryDoFn
  implements SplittableDoFn<Uint8Array, Uint8Array, DiscoveryRestriction, Instant, DiscoveryRestriction>
{
  readonly restrictionCoder = discoveryRestrictionCoder;
  readonly watermarkStateCoder = watermarkInstantCoder;
  readonly unboundedPerElement = true;
  readonly outputCoder: Coder<Uint8Array> = bytesCoder;
  private readonly options: ConsumerOptions;
  private readonly descriptors: SourceDescriptorsDoFn;
  private readonly intervalMs: number;
  private lease: ClientLease<KafkaClient> | undefined;

  constructor(
    readonly spec: ReadSpec,
    private readonly log: (message: string) => void = (m) => console.warn(m),
    private readonly clock: () => number = Date.now,
  ) {
    if (spec.partitionDiscoveryIntervalMs === null || spec.topicPartitions.length > 0) {
      throw new KafkaConfigError(
        "partitionDiscoveryIntervalMs",
        "partition discovery needs topics or a topic pattern and an interval",
      );
    }
    this.intervalMs = spec.partitionDiscoveryIntervalMs;
    this.options = parseConsumerConfig(spec.consumerConfig, { logger: () => undefined });
    this.descriptors = new SourceDescriptorsDoFn(spec);
  }

  doFnPayload(): DoFnPayload {
    return { fn: "kafka_read_discovery", read: this.spec };
  }

  setup(): void {
    this.lease ??= acquireClient(this.options);
  }

  teardown(): void {
    this.lease?.release();
    this.lease = undefined;
  }

  private get client(): KafkaClient {
    this.setup();
    return this.lease!.client;
  }

  initialRestriction(): DiscoveryRestriction {
    return Object.freeze({ emitted: null, done: false });
  }

  newTracker(restriction: DiscoveryRestriction): RestrictionTracker<DiscoveryRestriction, DiscoveryRestriction> {
    return new DiscoveryTracker(restriction);
  }

  getSize(): number {
    return 1;
  }

  splitRestriction(_element: Uint8Array, restriction: DiscoveryRestriction): DiscoveryRestriction[] {
    return [restriction];
  }

  initialWatermarkState(): Instant {
    return MIN_TIMESTAMP;
  }

  newWatermarkEstimator(state: Instant): WatermarkEstimator<Instant> {
    return new ManualWatermarkEstimator(state);
  }

  /** Drain: no more discovery. */
  truncateRestriction(): undefined {
    return undefined;
  }

  /** What the first round did not find: named topics without partitions, or a pattern that matched nothing. */
  private notFound(found: readonly TopicPartition[]): string | undefined {
    if (this.spec.topicPattern !== null)
      return found.length === 0 ? `no topic matches ${this.spec.topicPattern}` : undefined;
    const missing = this.spec.topics.filter((topic) => !found.some((tp) => tp.topic === topic));
    return missing.length > 0 ? `topic(s) ${missing.join(", ")} not found` : undefined;
  }

  async processElement(
    context: ProcessContext<Uint8Array>,
    _impulse: Uint8Array,
    tracker: RestrictionTracker<DiscoveryRestriction, DiscoveryRestriction>,
    watermark: WatermarkEstimator<Instant>,
  ): Promise<ProcessContinuation> {
    const { emitted } = tracker.currentRestriction();
    const client = this.client;
    const now = this.clock();
    if (emitted === null) {
      // The first round is the read's usual start: every partition, at the configured start position. A topic not
      // there yet (or a pattern matching nothing yet) is looked for again each round, and read from its beginning.
      const initial = await this.descriptors.descriptors(client, "skip");
      const absent = this.notFound(initial);
      if (absent) this.log(`partition discovery: ${absent} yet; looking again every ${this.intervalMs} ms`);
      if (!tracker.tryClaim({ emitted: countsOf(initial), done: false })) return ProcessContinuation.stop();
      for (const d of initial) context.output(encodeSourceDescriptor(d));
    } else {
      let fresh: TopicPartition[] = [];
      let starts: bigint[] = [];
      try {
        const found = await this.descriptors.partitions(client, "skip");
        fresh = found.filter((tp) => tp.partition >= (emitted[tp.topic] ?? 0));
        starts = await resolveDiscoveredStartOffsets(client, this.spec, this.options, fresh);
      } catch (err) {
        // A failed poll (a broker away, say) is not the read's failure: the partitions already found keep being
        // read, and the next round looks again.
        this.log(`partition discovery: ${(err as Error).message}; retrying in ${this.intervalMs} ms`);
        return ProcessContinuation.resume(this.intervalMs);
      }
      if (fresh.length > 0) {
        if (!tracker.tryClaim({ emitted: countsOf(fresh, { ...emitted }), done: false }))
          return ProcessContinuation.stop();
        // Stamped with the time they were found: the watermark of this step has already moved past older times.
        for (const [i, tp] of fresh.entries())
          context.outputWithTimestamp(encodeSourceDescriptor({ ...tp, startOffset: starts[i]! }), BigInt(now));
      }
    }
    (watermark as ManualWatermarkEstimator).setWatermark(BigInt(now));
    return ProcessContinuation.resume(this.intervalMs);
  }
}
