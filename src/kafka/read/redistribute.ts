// Redistributing a read (Beam's `redistribute` options of ReadFromKafka): the records leave the read keyed by a
// bucket, cross a GroupByKey, and go on with their own timestamps. The runner's shuffle then lets the steps after
// the read run on more workers than the topic has partitions. The graph, as Java's KafkaIO builds it:
//   AssignKey (bucket, timestamp reified) → GroupByKey (global window, fires for every element, earliest
//   timestamp) → Values (each record at its own timestamp)
// under one composite of URN beam:transform:redistribute_arbitrarily:v1, which runners may replace (Prism and our
// local runner pass the records through: one process needs no shuffle); Flink runs the steps.
import { EVERY_ELEMENT_TRIGGER, type DoFn, type KV, type ProcessContext } from "../../sdf/index.js";
import { GlobalWindows, GroupByKey, ParDo, PTransform, WindowInto, type PCollection } from "../../pipeline/index.js";
import { urns } from "../../model/proto/index.js";
import type { DoFnPayload } from "../../model/dofn-payload.js";
import { iterableCoder, kvCoder, varIntCoder, type Coder } from "../../model/coders/index.js";
import type { Instant } from "../../model/windowing.js";
import { keyPartition } from "../client/index.js";
import { KafkaConfigError } from "../errors.js";

/**
 * Buckets when none is asked for (redistribute_num_keys 0): enough to spread over any parallelism, few enough that a
 * runner keeping per-key state for the global window (Flink keeps a pane counter per key) stays small. Java's
 * KafkaIO uses a hash of each offset (2^32 keys) instead.
 */
export const DEFAULT_REDISTRIBUTE_KEYS = 1024;

/** How a redistributed read keys its records. */
export interface RedistributeSpec {
  /** Buckets (>= 1). */
  readonly numKeys: number;
  /** Bucket by a hash of the record's key (a key's records meet in one group) instead of round-robin. */
  readonly byRecordKey: boolean;
}

/** The options as a payload gives them; numKeys 0 or unset: DEFAULT_REDISTRIBUTE_KEYS. */
export function redistributeSpec(numKeys: number | undefined, byRecordKey: boolean | undefined): RedistributeSpec {
  const n = numKeys ?? 0;
  if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff)
    throw new KafkaConfigError(
      "redistribute.numKeys",
      `must be an integer from 0 (the default count) to 2^31-1, got ${numKeys}`,
    );
  return Object.freeze({ numKeys: n === 0 ? DEFAULT_REDISTRIBUTE_KEYS : n, byRecordKey: byRecordKey === true });
}

/** A record on its way through the GroupByKey: its bucket, and its timestamp with it. */
export type KeyedRecord<T> = KV<bigint, KV<Instant, T>>;

/** The coder of AssignKey's output (KV<varint bucket, KV<varint timestamp, record>>): standard, any runner groups it. */
export function keyedRecordCoder(recordCoder: Coder<unknown>): Coder<unknown> {
  return kvCoder(varIntCoder, kvCoder(varIntCoder, recordCoder)) as Coder<unknown>;
}

/** The coder of the GroupByKey's output: KV<varint bucket, iterable<KV<varint timestamp, record>>>. */
export function groupedRecordsCoder(recordCoder: Coder<unknown>): Coder<unknown> {
  return kvCoder(varIntCoder, iterableCoder(kvCoder(varIntCoder, recordCoder))) as Coder<unknown>;
}

const NO_KEY = new Uint8Array(0);

function keyBytes(key: unknown): Uint8Array {
  if (key instanceof Uint8Array) return key;
  if (key === null || key === undefined) return NO_KEY;
  return Buffer.from(typeof key === "string" ? key : String(key), "utf8");
}

/** The Kafka key of a record as the read emits it (a KV, or a row with metadata: both have `key`). */
function recordKey(record: unknown): unknown {
  return (record as { key?: unknown } | null)?.key ?? null;
}

/**
 * Keys each record by its bucket and carries its timestamp in the value. Round-robin from a random bucket per
 * bundle (records spread evenly whatever their keys), or by the murmur2 of the record's key, as Kafka's
 * partitioner hashes it.
 */
export class RedistributeKeyDoFn implements DoFn<unknown, KeyedRecord<unknown>> {
  private next = 0;
  readonly outputCoder: Coder<KeyedRecord<unknown>> | undefined;

  /** `recordCoder`: the records' coder, when known (a portable runner needs the output coder). */
  constructor(
    readonly spec: RedistributeSpec,
    recordCoder?: Coder<unknown>,
  ) {
    this.outputCoder = recordCoder && (keyedRecordCoder(recordCoder) as Coder<KeyedRecord<unknown>>);
  }

  doFnPayload(): DoFnPayload {
    return { fn: "kafka_read_redistribute_key", redistribute: this.spec };
  }

  startBundle(): void {
    this.next = Math.floor(Math.random() * this.spec.numKeys);
  }

  process(record: unknown, context: ProcessContext<KeyedRecord<unknown>>): void {
    let bucket: number;
    if (this.spec.byRecordKey) {
      bucket = keyPartition(keyBytes(recordKey(record)), this.spec.numKeys);
    } else {
      bucket = this.next;
      this.next = bucket + 1 === this.spec.numKeys ? 0 : bucket + 1;
    }
    context.output({ key: BigInt(bucket), value: { key: context.timestamp, value: record } });
  }
}

/**
 * The GroupByKey's groups back to records, each at its own timestamp. The strategy asks for a group's earliest
 * timestamp, but a runner may stamp groups otherwise (a batch GroupByKey may not combine them): the records may
 * leave before the group's timestamp, as Java's Redistribute allows.
 */
export class RedistributedValuesDoFn implements DoFn<KV<bigint, Iterable<KV<Instant, unknown>>>, unknown> {
  readonly outputsMayPrecedeInput = true;

  constructor(readonly outputCoder?: Coder<unknown>) {}

  doFnPayload(): DoFnPayload {
    return { fn: "kafka_read_redistribute_values" };
  }

  process(group: KV<bigint, Iterable<KV<Instant, unknown>>>, context: ProcessContext<unknown>): void {
    for (const { key: timestamp, value: record } of group.value) context.outputWithTimestamp(record, timestamp);
  }
}

/**
 * The native Redistribute of a read's records, the graph the expansion service builds for other SDKs: AssignKey →
 * WindowInto(every element) → GroupByKey → Values → WindowInto(the input's trigger again). Its URN lets Prism and the
 * local runner pass the records through; Flink runs the steps.
 */
export class RedistributeRecords<T> extends PTransform<PCollection<T>, PCollection<T>> {
  override readonly urn = urns.StandardPTransforms.Composites.REDISTRIBUTE_ARBITRARILY;

  constructor(
    private readonly spec: RedistributeSpec,
    private readonly recordCoder: Coder<unknown> | undefined,
  ) {
    super("Redistribute");
  }

  expand(input: PCollection<T>): PCollection<T> {
    return input
      .apply("AssignKey", ParDo.of(new RedistributeKeyDoFn(this.spec, this.recordCoder)))
      .apply("EveryElement", WindowInto(GlobalWindows(), "EveryElement", { trigger: EVERY_ELEMENT_TRIGGER }))
      .apply("GroupByKey", GroupByKey<bigint, KV<Instant, unknown>>())
      .apply("Values", ParDo.of(new RedistributedValuesDoFn(this.recordCoder)))
      .apply(
        "RestoreTrigger",
        WindowInto(GlobalWindows(), "RestoreTrigger", { trigger: input.trigger }),
      ) as PCollection<T>;
  }
}
