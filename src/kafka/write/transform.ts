// writeToKafka: the sink in the native TypeScript API.
//   at-least-once:  input → ParDo(KafkaWriteDoFn)
//   exactly-once:   input [→ WindowInto(fixed) if global and unbounded | → WindowInto(same, every element) if
//                   bounded] → ParDo(KafkaShardDoFn) → GroupByKey (shard) → ParDo(KafkaTransactionalWriteDoFn)
// The expansion service builds the same graphs for foreign pipelines from the same DoFns.
import {
  FixedWindows,
  GroupByKey,
  ParDo,
  PTransform,
  repeatedlyElementCount,
  WindowInto,
  type PCollection,
  type Pipeline,
} from "../../pipeline/index.js";
import type { KV } from "../../sdf/index.js";
import { bytesCoder, iterableCoder, kvCoder, varIntCoder } from "../../model/coders/index.js";
import type { DoFnPayload } from "../../model/dofn-payload.js";
import { writeEnvironment, type WriteEnvironmentOptions } from "./environment.js";
import {
  KafkaShardDoFn,
  KafkaTransactionalWriteDoFn,
  KafkaWriteDoFn,
  type ShardBatch,
  type WriteFunctions,
} from "./dofns.js";
import type { WriteRecord } from "./record.js";
import type { ShardWriterPool } from "./shard-writer.js";
import { writeSpecFromOptions, type WriteSpec, type WriteToKafkaOptions } from "./spec.js";
import { KafkaConfigError } from "../errors.js";

/**
 * writeToKafka's options: WriteToKafkaOptions plus what only the native API has: element functions (topicFn,
 * timestampFn, partitioner), the input kind, and the exactly-once batching window and writer pool.
 */
export interface WriteToKafkaNativeOptions extends WriteToKafkaOptions, WriteFunctions {
  /** "kv" (default): KV<K, V> elements; "record": WriteRecord elements (own topic, partition, headers, timestamp). */
  readonly input?: "kv" | "record";
  /**
   * Exactly-once on an unbounded PCollection in the global window: the runner's GroupByKey fires only at the end of
   * a window, so the sink batches in event-time windows of this many ms (default 1000). Records keep their own
   * timestamps; only the batching changes.
   */
  readonly exactlyOnceWindowMs?: number;
  /** The client cache, logger and transactional producer factory (tests wrap the producer to inject faults). */
  readonly environment?: WriteEnvironmentOptions;
  /** Where exactly-once shards get their transactional writers. Default: the process-wide defaultShardWriterPool. */
  readonly shardWriterPool?: ShardWriterPool;
}

/** Gives a DoFn the payload a Fn API worker rebuilds it from (kafkaWriteDoFnFactory), when there is one. */
function withPayload<D extends object>(dofn: D, payload: DoFnPayload | undefined): D {
  if (payload !== undefined) Object.defineProperty(dofn, "doFnPayload", { value: () => payload });
  return dofn;
}

/** What a write returns: nothing to consume (Beam's PDone); the pipeline it was applied to. */
export class KafkaWriteResult {
  constructor(readonly pipeline: Pipeline) {}
}

/** The sink as a transform class (writeToKafka() is the typed shorthand). */
export class WriteToKafka<E> extends PTransform<PCollection<E>, KafkaWriteResult> {
  readonly spec: WriteSpec;

  constructor(
    private readonly options: WriteToKafkaNativeOptions,
    label = "WriteToKafka",
  ) {
    super(label);
    this.spec = writeSpecFromOptions(options);
    const windowMs = options.exactlyOnceWindowMs;
    if (windowMs !== undefined && (!Number.isInteger(windowMs) || windowMs < 1)) {
      throw new KafkaConfigError("exactlyOnceWindowMs", `must be an integer >= 1, got ${windowMs}`);
    }
  }

  expand(input: PCollection<E>): KafkaWriteResult {
    const env = writeEnvironment(this.options.environment);
    const kind = this.options.input ?? "kv";
    const fns: WriteFunctions = {
      ...(this.options.timestampFn ? { timestampFn: this.options.timestampFn } : {}),
      ...(this.options.topicFn ? { topicFn: this.options.topicFn } : {}),
      ...(this.options.partitioner ? { partitioner: this.options.partitioner } : {}),
    };
    // A write whose behaviour is all in its spec (no functions, the default environment) can be rebuilt by a Fn API
    // worker from a payload; one with functions is user code, shipped as such by the portable runner.
    const portable =
      Object.keys(fns).length === 0 &&
      this.options.environment === undefined &&
      this.options.shardWriterPool === undefined;
    const payload = (step: string) =>
      portable ? { fn: "kafka_write", write: this.spec, input: kind, step } : undefined;
    if (!this.spec.exactlyOnce) {
      input.apply(
        "Write",
        ParDo.of(withPayload(new KafkaWriteDoFn(this.spec, kind, fns, env), payload("write")) as never),
      );
      return new KafkaWriteResult(input.pipeline);
    }
    let batched: PCollection<E> = input;
    if (input.windowFn.kind === "global" && !input.isBounded) {
      batched = input.apply("BatchWindows", WindowInto<E>(FixedWindows(this.options.exactlyOnceWindowMs ?? 1000)));
    } else if (input.isBounded && input.trigger.kind === "default") {
      // As Java's sink: the shard GroupByKey emits a pane whenever records arrived (a runner fires at bundle
      // boundaries), not only at the window's end: transactions stream instead of waiting for all the input, which
      // a runner would otherwise hold (the local runner in memory). The batch id carries the pane's index.
      batched = input.apply(
        "StreamBatches",
        WindowInto<E>(input.windowFn, "StreamBatches", { trigger: repeatedlyElementCount(1) }),
      );
    }
    // Standard coders on the way through the GroupByKey, so a portable runner can group and move the records.
    batched
      .apply(
        "Shard",
        ParDo.of<E, KV<bigint, Uint8Array>>(
          withPayload(new KafkaShardDoFn(this.spec, kind, fns, env), payload("shard")) as never,
        ),
      )
      .withCoder(kvCoder(varIntCoder, bytesCoder))
      .apply("GroupByShard", GroupByKey<bigint, Uint8Array>())
      .withCoder(kvCoder(varIntCoder, iterableCoder(bytesCoder)) as never)
      .apply(
        "WriteTransactions",
        ParDo.of<KV<bigint, Uint8Array[]>, never>(
          withPayload(
            new KafkaTransactionalWriteDoFn(
              this.spec,
              env,
              this.options.shardWriterPool ? { pool: this.options.shardWriterPool } : {},
            ),
            payload("transactional_write"),
          ) as never,
        ),
      );
    return new KafkaWriteResult(input.pipeline);
  }
}

/**
 * Writes a PCollection to Kafka. KV input by default (key and value serialized by keySerializer/valueSerializer);
 * `input: "record"` takes WriteRecords. With `exactlyOnce`, records are written through Kafka transactions in a fixed
 * number of shards, each batch exactly once across retries and restarts (read them with isolation.level=read_committed).
 */
export function writeToKafka<K = unknown, V = unknown>(
  options: WriteToKafkaNativeOptions & { readonly input?: "kv" },
): PTransform<PCollection<KV<K, V>>, KafkaWriteResult>;
export function writeToKafka<K = unknown, V = unknown>(
  options: WriteToKafkaNativeOptions & { readonly input: "record" },
): PTransform<PCollection<WriteRecord<K, V>>, KafkaWriteResult>;
export function writeToKafka(options: WriteToKafkaNativeOptions): PTransform<PCollection<unknown>, KafkaWriteResult> {
  return new WriteToKafka<unknown>(options);
}

export type { ShardBatch };
