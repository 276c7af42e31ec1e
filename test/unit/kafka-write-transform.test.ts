// The graphs writeToKafka builds in the native API: one ParDo at-least-once; shard → GroupByKey → transactional
// write for exactly-once (with standard coders across the GroupByKey, and batching windows only where the runner's
// GroupByKey would otherwise never fire).
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { Create, Pipeline, PTransform, type PCollection, primitiveTransforms } from "../../src/pipeline/index.js";
import { CoderUrns } from "../../src/model/coders/index.js";
import {
  KafkaShardDoFn,
  KafkaTransactionalWriteDoFn,
  KafkaWriteDoFn,
  KafkaWriteResult,
  writeToKafka,
} from "../../src/kafka/write/index.js";
import { KafkaConfigError } from "../../src/kafka/errors.js";

const s = suite("kafka write: native transform graphs");
const producerConfig = { "bootstrap.servers": "127.0.0.1:9092" };

function primitives(p: Pipeline): { id: string; kind: string; dofn?: string }[] {
  return primitiveTransforms(p.graph).map((t) => ({
    id: t.id,
    kind: t.payload.kind,
    ...(t.payload.kind === "pardo" ? { dofn: (t.payload.dofn as object).constructor.name } : {}),
  }));
}

/** A PCollection marked unbounded (as a streaming read's output is). */
class Unbounded<T> extends PTransform<PCollection<T>, PCollection<T>> {
  expand(
    input: PCollection<T>,
    context: Parameters<PTransform<PCollection<T>, PCollection<T>>["expand"]>[1],
  ): PCollection<T> {
    return context.primitive({
      payload: { kind: "flatten" },
      inputs: { 0: input as PCollection<unknown> },
      outputs: ["output"],
      isBounded: false,
    }).output as PCollection<T>;
  }
}

s.test("at-least-once: a single ParDo; the result is a PDone-like handle", () => {
  const p = Pipeline.create();
  const result = p
    .apply(Create.of([{ key: null, value: new Uint8Array(1) }]))
    .apply(writeToKafka({ producerConfig, topic: "t" }));
  assert.instance(result, KafkaWriteResult);
  assert.is(result.pipeline, p);
  const write = primitives(p).filter((t) => t.id.startsWith("WriteToKafka"));
  assert.equal(write, [{ id: "WriteToKafka/Write", kind: "pardo", dofn: KafkaWriteDoFn.name }]);
});

s.test("exactly-once: shard → GroupByKey → transactional write, KV<varint, bytes> across the GroupByKey", () => {
  const p = Pipeline.create();
  p.apply(Create.of([{ key: null, value: new Uint8Array(1) }])).apply(
    writeToKafka({ producerConfig, topic: "t", exactlyOnce: { numShards: 3, sinkGroupId: "g" } }),
  );
  const write = primitives(p).filter((t) => t.id.startsWith("WriteToKafka"));
  assert.equal(write, [
    { id: "WriteToKafka/StreamBatches", kind: "window-into" },
    { id: "WriteToKafka/Shard", kind: "pardo", dofn: KafkaShardDoFn.name },
    { id: "WriteToKafka/GroupByShard", kind: "group-by-key" },
    { id: "WriteToKafka/WriteTransactions", kind: "pardo", dofn: KafkaTransactionalWriteDoFn.name },
  ]);
  const shardOut = p.graph.pcollections["WriteToKafka/Shard.output"]!;
  assert.is(shardOut.coder?.urn, CoderUrns.KV);
  assert.equal(
    shardOut.coder?.components.map((c) => c.urn),
    [CoderUrns.VARINT, CoderUrns.BYTES],
  );
  assert.equal(
    p.graph.pcollections["WriteToKafka/GroupByShard.output"]!.coder?.components.map((c) => c.urn),
    [CoderUrns.VARINT, CoderUrns.ITERABLE],
  );
  assert.is(shardOut.windowFn.kind, "global", "bounded input keeps its windows");
  // The GroupByKey fires as records arrive (Java's sink does the same), not only at the window's end.
  assert.equal(shardOut.trigger, { kind: "element-count", count: 1 });
});

s.test("exactly-once: an unbounded global-window input is batched in fixed windows (exactlyOnceWindowMs)", () => {
  const p = Pipeline.create();
  p.apply(Create.of([{ key: null, value: new Uint8Array(1) }]))
    .apply("Stream", new Unbounded<{ key: null; value: Uint8Array }>("Stream"))
    .apply(
      writeToKafka({
        producerConfig,
        topic: "t",
        exactlyOnce: { numShards: 2, sinkGroupId: "g" },
        exactlyOnceWindowMs: 250,
      }),
    );
  const windowed = primitives(p).find((t) => t.id === "WriteToKafka/BatchWindows");
  assert.equal(windowed, { id: "WriteToKafka/BatchWindows", kind: "window-into" });
  assert.equal(p.graph.pcollections["WriteToKafka/Shard.output"]!.windowFn, {
    kind: "fixed",
    sizeMs: 250n,
    offsetMs: 0n,
  });
  assert.throws(
    () =>
      writeToKafka({
        producerConfig,
        topic: "t",
        exactlyOnce: { numShards: 2, sinkGroupId: "g" },
        exactlyOnceWindowMs: 0,
      }),
    (err: unknown) => err instanceof KafkaConfigError,
  );
});

s.run();
