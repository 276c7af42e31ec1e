// The partition-discovery restriction: its coder, its checkpoint semantics, and which reads discover; the custom
// timestamp function stays in-process.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { decodeFromBytes, encodeToBytes } from "../../src/model/coders/index.js";
import {
  DiscoveryTracker,
  discoveryRestrictionCoder,
  discoversPartitions,
  readSpecFromOptions,
  ReadFromKafkaDoFn,
  type DiscoveryRestriction,
} from "../../src/kafka/read/index.js";
import { kafkaDoFnFactories, KafkaConfigError } from "../../src/kafka/index.js";

const s = suite("kafka read: partition discovery restriction and custom timestamps");
const config = { "bootstrap.servers": "127.0.0.1:9" };

s.test("discovery restriction: the coder round-trips nested and outer, as a byte string", () => {
  const values: DiscoveryRestriction[] = [
    { emitted: null, done: false },
    { emitted: { a: 3, "b.c": 1 }, done: false },
    { emitted: {}, done: true },
  ];
  for (const value of values) {
    for (const context of ["nested", "outer"] as const) {
      assert.equal(
        decodeFromBytes(discoveryRestrictionCoder, encodeToBytes(discoveryRestrictionCoder, value, context), context),
        value,
      );
    }
  }
  assert.is(discoveryRestrictionCoder.urn, "beam:coder:bytes:v1");
});

s.test("discovery tracker: claims until a checkpoint, which hands the same state on and ends the primary", () => {
  const tracker = new DiscoveryTracker({ emitted: null, done: false });
  assert.is(tracker.isBounded(), "unbounded");
  assert.throws(() => tracker.checkDone(), /never ends/);
  assert.ok(tracker.tryClaim({ emitted: { t: 2 }, done: false }));
  assert.is(tracker.trySplit(0.5), undefined, "no split but a checkpoint");
  const split = tracker.trySplit(0)!;
  assert.equal(split.primary, { emitted: { t: 2 }, done: true });
  assert.equal(split.residual, { emitted: { t: 2 }, done: false });
  assert.is(tracker.tryClaim({ emitted: { t: 3 }, done: false }), false, "nothing is claimed after the checkpoint");
  assert.equal(tracker.currentRestriction(), { emitted: { t: 2 }, done: true });
  assert.is(tracker.trySplit(0), undefined);
  tracker.checkDone();
  assert.is(tracker.isBounded(), "bounded");
});

s.test("discovery: only unbounded reads of topics or patterns with an interval discover partitions", () => {
  assert.ok(
    discoversPartitions(
      readSpecFromOptions({ consumerConfig: config, topics: ["t"], partitionDiscoveryIntervalMs: 1000 }),
    ),
  );
  assert.ok(
    discoversPartitions(
      readSpecFromOptions({ consumerConfig: config, topicPattern: "t.*", partitionDiscoveryIntervalMs: 1000 }),
    ),
  );
  assert.not.ok(discoversPartitions(readSpecFromOptions({ consumerConfig: config, topics: ["t"] })));
  assert.not.ok(
    discoversPartitions(
      readSpecFromOptions({
        consumerConfig: config,
        topics: ["t"],
        partitionDiscoveryIntervalMs: 1000,
        stopAtEndOffsets: true,
      }),
    ),
  );
  assert.not.ok(
    discoversPartitions(
      readSpecFromOptions({
        consumerConfig: config,
        topicPartitions: [{ topic: "t", partition: 0 }],
        partitionDiscoveryIntervalMs: 1000,
      }),
    ),
  );
  const spec = readSpecFromOptions({ consumerConfig: config, topics: ["t"], partitionDiscoveryIntervalMs: 1000 });
  const dofn = kafkaDoFnFactories.kafka_read_discovery!({ fn: "kafka_read_discovery", read: spec });
  assert.equal(
    dofn.doFnPayload?.(),
    { fn: "kafka_read_discovery", read: spec },
    "a worker rebuilds it from its payload",
  );
});

s.test(
  "custom timestamps: the read has no payload, a worker refuses a Custom spec, and options conflict loudly",
  () => {
    const spec = readSpecFromOptions({ consumerConfig: config, topics: ["t"], timestampFn: () => 1 });
    assert.is(spec.timestampPolicy, "Custom");
    assert.is(JSON.stringify(spec).includes("=>"), false, "the function is not in the spec");
    assert.is(new ReadFromKafkaDoFn(spec, undefined, () => 1).doFnPayload, undefined);
    assert.ok(new ReadFromKafkaDoFn(readSpecFromOptions({ consumerConfig: config, topics: ["t"] })).doFnPayload);
    assert.throws(
      () => kafkaDoFnFactories.kafka_read!({ fn: "kafka_read", read: spec }),
      (e: unknown) => e instanceof KafkaConfigError && /in-process only/.test(e.message),
    );
    assert.throws(
      () =>
        readSpecFromOptions({
          consumerConfig: config,
          topics: ["t"],
          timestampFn: () => 1,
          timestampPolicy: "CreateTime",
        }),
      /not both/,
    );
  },
);

s.run();
