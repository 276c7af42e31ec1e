// writeToKafka exactly-once on a real broker, through the local runner. A failed bundle fails the local
// pipeline; running the same pipeline again is the retry (a restarted worker re-doing the bundle, with a new
// producer). Faults are injected by wrapping the real transactional producer; Kafka itself is never faked.
// Every check reads with isolation.level=read_committed and asserts each record exactly once.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { brokerBootstrap, createTopic, releaseBroker, uniqueTopic } from "../infra/fixtures.js";
import {
  Create,
  FixedWindows,
  GroupByKey,
  ParDo,
  Pipeline,
  WindowInto,
  kv,
  type KV,
} from "../../src/pipeline/index.js";
import type { DoFnPayload } from "../../src/model/dofn-payload.js";
import { closeAllClients, createKafkaProducer, type KafkaClient } from "../../src/kafka/client/index.js";
import { parseProducerConfig } from "../../src/kafka/config/index.js";
import {
  ShardWriter,
  ShardWriterPool,
  WRITE_METRICS,
  defaultShardWriterPool,
  kafkaWriteDoFnFactory,
  parseShardState,
  shardOf,
  writeSpecFromOptions,
  writeToKafka,
  type ExactlyOnceOptions,
} from "../../src/kafka/write/index.js";
import {
  counter,
  faultyProducer,
  InjectedFault,
  readClient,
  readTopic,
  runLocal,
  userCounters,
  type FaultPoint,
} from "./kafka-write-helpers.js";

const s = suite("kafka write: exactly-once on a real broker", { timeoutMs: 55_000 });
let bootstrap = "";
let reader: KafkaClient;
const quiet = (): void => undefined;

s.before(async () => {
  bootstrap = await brokerBootstrap();
  reader = readClient(bootstrap);
});
s.after(async () => {
  await defaultShardWriterPool.closeAll();
  await reader?.close();
  await closeAllClients();
  await releaseBroker();
});

interface Run {
  readonly topic: string;
  readonly eos: ExactlyOnceOptions;
  readonly elements: KV<string, string>[];
}

function newRun(total: number, numShards = 4): Run {
  const topic = uniqueTopic("eos");
  return {
    topic,
    eos: { numShards, sinkGroupId: `sink-${topic}` },
    elements: Array.from({ length: total }, (_, i) => kv(`key-${i % 500}`, `value-${i}`)),
  };
}

/** One attempt of the pipeline; with a fault, the first transaction of shard `shard` fails at `point`. */
async function attempt(run: Run, fault?: { point: FaultPoint; shard: number }, config: Record<string, string> = {}) {
  const pool = new ShardWriterPool(60_000); // a fresh pool per attempt: a restarted worker
  const armed = { fired: false, when: (id: string) => fault !== undefined && id.endsWith(`-${fault.shard}`) };
  const p = Pipeline.create();
  p.apply(Create.of(run.elements)).apply(
    writeToKafka<string, string>({
      producerConfig: { "bootstrap.servers": bootstrap, "transaction.timeout.ms": "30000", ...config },
      topic: run.topic,
      keySerializer: "string",
      valueSerializer: "string",
      exactlyOnce: run.eos,
      shardWriterPool: pool,
      environment: {
        logger: quiet,
        createProducer: (options) => {
          const real = createKafkaProducer(options, { logger: quiet });
          return fault ? faultyProducer(real, fault.point, armed) : real;
        },
      },
    }),
  );
  try {
    return await runLocal(p);
  } finally {
    await pool.closeAll();
  }
}

/** Asserts a read_committed reader sees every element exactly once. */
async function assertExactlyOnce(run: Run): Promise<void> {
  const records = await readTopic(reader, run.topic, "read_committed");
  const seen = new Map<string, number>();
  for (const r of records) {
    const value = r.value!.toString();
    seen.set(value, (seen.get(value) ?? 0) + 1);
    const i = Number(value.slice("value-".length));
    assert.is(r.key?.toString(), run.elements[i]?.key, `${value} carries its key`);
  }
  const dupes = [...seen].filter(([, n]) => n > 1).slice(0, 3);
  assert.equal(dupes, [], "no duplicates");
  assert.is(records.length, run.elements.length, "every record once");
  for (const { value } of run.elements) assert.ok(seen.has(value), `${value} is missing`);
}

async function committedSequences(run: Run): Promise<bigint[]> {
  const offsets = await reader.fetchCommittedOffsets(run.eos.sinkGroupId, [run.topic]);
  return offsets.map((o) => parseShardState(o, "test").seq);
}

s.test("exactly-once: 50,000 records in 4 shards, one transaction per shard, each record once", async () => {
  const run = newRun(50_000);
  await createTopic(bootstrap, run.topic, 4);
  const metrics = await attempt(run);
  const bytes = run.elements.reduce((n, e) => n + e.key.length + e.value.length, 0);
  assert.equal(userCounters(metrics, /_written\//), {
    [WRITE_METRICS.recordsWritten(run.topic)]: 50_000,
    [WRITE_METRICS.bytesWritten(run.topic)]: bytes,
  });
  assert.is(counter(metrics, WRITE_METRICS.BATCHES_COMMITTED), 4);
  await assertExactlyOnce(run);
  assert.equal(await committedSequences(run), [1n, 1n, 1n, 1n]);
  // The same job again (replayed input): every batch is recognised as committed; nothing is written twice.
  const again = await attempt(run);
  assert.is(counter(again, WRITE_METRICS.BATCHES_SKIPPED), 4);
  assert.is(counter(again, WRITE_METRICS.BATCHES_COMMITTED), 0);
  assert.equal(userCounters(again, /_written\//), {}, "a skipped batch writes (and counts) nothing");
  await assertExactlyOnce(run);
});

s.test("exactly-once, gzip batches of 2 KB: each record once, per key in order", async () => {
  const run = newRun(5_000);
  await createTopic(bootstrap, run.topic, 4);
  await attempt(run, undefined, { "compression.type": "gzip", "batch.size": "2048" });
  await assertExactlyOnce(run);
  const records = await readTopic(reader, run.topic, "read_committed");
  const last = new Map<string, number>();
  for (const r of records) {
    const i = Number(r.value!.toString().slice("value-".length));
    const key = r.key!.toString();
    assert.ok((last.get(key) ?? -1) < i, `${key}: value-${i} after value-${last.get(key)}`);
    last.set(key, i);
  }
});

for (const [point, what] of [
  ["after-commit", "throws after the commit (bundle fails, records are committed)"],
  ["after-produce", "throws after the send, before the commit"],
  ["kill-after-produce", "is killed mid-transaction (connection gone, transaction left open)"],
] as const) {
  s.test(`exactly-once: a shard that ${what} → retry → each record once`, async () => {
    const run = newRun(20_000);
    await createTopic(bootstrap, run.topic, 4);
    await attempt(run, { point, shard: 2 }).then(
      () => assert.unreachable("the faulty attempt succeeded"),
      (err: unknown) => assert.instance(err, InjectedFault, String(err)),
    );
    if (point !== "after-commit") {
      // The failed shard's records reached the log, uncommitted: read_uncommitted sees more than read_committed.
      const uncommitted = (await readTopic(reader, run.topic, "read_uncommitted")).length;
      assert.ok(uncommitted > 15_000, `uncommitted ${uncommitted}`);
    }
    const started = Date.now();
    const retry = await attempt(run);
    // The retry's new producer fences the old one: an open transaction is aborted at once, not after its timeout.
    assert.ok(Date.now() - started < 25_000, `retry took ${Date.now() - started} ms`);
    await assertExactlyOnce(run);
    const skipped = counter(retry, WRITE_METRICS.BATCHES_SKIPPED);
    assert.is(skipped, point === "after-commit" ? 4 : 3, "shards committed before the failure are skipped");
    assert.equal(await committedSequences(run), [1n, 1n, 1n, 1n]);
  });
}

s.test(
  "exactly-once: a bundle retried in the same worker (same shard writer) after each fault is written once",
  async () => {
    const topic = uniqueTopic("eos-same-writer");
    await createTopic(bootstrap, topic, 1);
    const spec = writeSpecFromOptions({
      producerConfig: { "bootstrap.servers": bootstrap },
      topic,
      exactlyOnce: { numShards: 1, sinkGroupId: `sink-${topic}` },
    });
    const options = parseProducerConfig(
      {
        "bootstrap.servers": bootstrap,
        "transaction.timeout.ms": "60000",
        "transactional.id": `${spec.exactlyOnce!.transactionalIdPrefix}-0`,
      },
      { logger: quiet },
    );
    const points = ["after-produce", "kill-after-produce", "after-commit"] as const;
    const expected: string[] = [];
    for (const point of points) {
      const armed = { fired: false, when: () => true };
      const writer = new ShardWriter(spec.exactlyOnce!, 0, options, {
        createProducer: (o) => faultyProducer(createKafkaProducer(o, { logger: quiet }), point, armed),
        offsets: reader,
      });
      const records = Array.from({ length: 1000 }, (_, i) => ({
        topic,
        partition: 0,
        key: null,
        value: Buffer.from(`${point}-${i}`),
      }));
      expected.push(...records.map((r) => r.value.toString()));
      try {
        const started = Date.now();
        await writer.writeBatch(`batch-${point}`, `1000:${point}`, records).then(
          () => assert.unreachable("no fault"),
          (err: unknown) => assert.instance(err, InjectedFault, String(err)),
        );
        // The retry: the writer dropped its producer and what it knew; a new producer fences the old transaction
        // (aborted at once, not after transaction.timeout.ms) and the committed sequence says whether to write.
        const outcome = await writer.writeBatch(`batch-${point}`, `1000:${point}`, records);
        assert.equal(
          outcome,
          point === "after-commit"
            ? { kind: "skipped", seq: BigInt(points.indexOf(point) + 1), records: 0 }
            : { kind: "committed", seq: BigInt(points.indexOf(point) + 1), records: 1000 },
        );
        assert.ok(Date.now() - started < 20_000, `${point}: retry took ${Date.now() - started} ms`);
      } finally {
        await writer.close();
      }
    }
    const values = (await readTopic(reader, topic, "read_committed")).map((r) => r.value!.toString());
    assert.equal(values, expected, "every batch once, in order");
    const [state] = await reader.fetchCommittedOffsets(`sink-${topic}`, [{ topic, partition: 0 }]);
    assert.equal(
      parseShardState(state!, "test").recent.map((b) => [b.id, b.seq]),
      points.map((p, i) => [`batch-${p}`, BigInt(i + 1)]),
    );
  },
);

s.test(
  "exactly-once: a worker process SIGKILLed mid-transaction → a new worker fences it; each record once",
  async () => {
    const run = newRun(20_000);
    await createTopic(bootstrap, run.topic, 4);
    const child = spawn(
      process.execPath,
      [
        fileURLToPath(new URL("./kafka-write-eos-child.js", import.meta.url)),
        bootstrap,
        run.topic,
        run.eos.sinkGroupId,
        String(run.eos.numShards),
        String(run.elements.length),
        "1",
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const exited = new Promise<string | number | null>((resolve) =>
      child.once("exit", (code, signal) => resolve(signal ?? code)),
    );
    try {
      const sent = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout!.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          const line = out.split("\n").find((l) => l.startsWith("SENT "));
          if (line) resolve(line);
        });
        void exited.then((how) => reject(new Error(`the worker exited (${how}) before sending: ${out}`)));
      });
      assert.match(sent, /-1$/, "shard 1 sent inside its transaction, shards 0, 2 and 3 committed");
    } finally {
      child.kill("SIGKILL");
    }
    assert.is(await exited, "SIGKILL");
    // Shard 1's records are in the log, in a transaction nobody will end (its timeout is 300 s).
    const uncommitted = await readTopic(reader, run.topic, "read_uncommitted");
    const inShard1 = run.elements.filter(
      (e) => shardOf({ topic: run.topic, key: Buffer.from(e.key), value: Buffer.from(e.value) }, 4) === 1,
    );
    const logged = new Set(uncommitted.map((r) => r.value!.toString()));
    assert.ok(
      inShard1.length > 3000 && inShard1.every((e) => logged.has(e.value)),
      "every record of shard 1 is in the log",
    );
    const started = Date.now();
    const retry = await attempt(run);
    assert.ok(
      Date.now() - started < 25_000,
      `retry took ${Date.now() - started} ms: the killed worker's transaction was not fenced`,
    );
    await assertExactlyOnce(run);
    const committed = counter(retry, WRITE_METRICS.BATCHES_COMMITTED);
    const skipped = counter(retry, WRITE_METRICS.BATCHES_SKIPPED);
    assert.equal(
      { committed, skipped },
      { committed: 1, skipped: 3 },
      "the killed shard's batch is re-done, the 3 committed ones skipped",
    );
    assert.equal(await committedSequences(run), [1n, 1n, 1n, 1n]);
  },
);

s.test(
  "exactly-once: fixed windows make a batch per shard and window; a retry skips exactly the committed ones",
  async () => {
    const run = newRun(0, 2);
    await createTopic(bootstrap, run.topic, 2);
    const elements = Array.from({ length: 3000 }, (_, i) => ({
      value: kv(`key-${i % 50}`, `value-${i}`),
      timestamp: 1_700_000_000_000n + BigInt(i),
    }));
    const write = (fault: boolean) => {
      const pool = new ShardWriterPool();
      const armed = { fired: false, when: (id: string) => fault && id.endsWith("-1") };
      const p = Pipeline.create();
      p.apply(Create.timestamped(elements))
        .apply(WindowInto<KV<string, string>>(FixedWindows(1000)))
        .apply(
          writeToKafka<string, string>({
            producerConfig: { "bootstrap.servers": bootstrap },
            topic: run.topic,
            keySerializer: "string",
            valueSerializer: "string",
            timestampPolicy: "element",
            exactlyOnce: run.eos,
            shardWriterPool: pool,
            environment: {
              logger: quiet,
              createProducer: (options) =>
                faultyProducer(createKafkaProducer(options, { logger: quiet }), "after-produce", armed),
            },
          }),
        );
      return runLocal(p).finally(() => pool.closeAll());
    };
    await write(true).then(
      () => assert.unreachable("no fault"),
      (err: unknown) => assert.instance(err, InjectedFault),
    );
    const metrics = await write(false);
    const committed = counter(metrics, WRITE_METRICS.BATCHES_COMMITTED);
    const skipped = counter(metrics, WRITE_METRICS.BATCHES_SKIPPED);
    assert.is(committed + skipped, 6, "3 windows x 2 shards");
    assert.ok(committed >= 1 && skipped >= 3, `committed ${committed}, skipped ${skipped}`);
    const records = await readTopic(reader, run.topic, "read_committed");
    assert.is(records.length, 3000);
    assert.is(new Set(records.map((r) => r.value!.toString())).size, 3000);
    for (const r of records) {
      const i = Number(r.value!.toString().slice("value-".length));
      assert.is(r.timestamp, 1_700_000_000_000n + BigInt(i), "element timestamps survive the GroupByKey");
    }
    assert.equal((await committedSequences(run)).sort(), [3n, 3n]);
  },
);

s.test(
  "exactly-once: the payload graph the expansion emits (shard → GroupByKey → transactional_write), KV input",
  async () => {
    const run = newRun(5_000, 3);
    await createTopic(bootstrap, run.topic, 3);
    const write = writeSpecFromOptions({
      producerConfig: { "bootstrap.servers": bootstrap },
      topic: run.topic,
      keySerializer: "string",
      valueSerializer: "string",
      exactlyOnce: run.eos,
    });
    const payload = (step: string) =>
      JSON.parse(JSON.stringify({ fn: "kafka_write", write, input: "kv", step })) as DoFnPayload;
    for (let attemptNo = 0; attemptNo < 2; attemptNo++) {
      const p = Pipeline.create();
      p.apply(Create.of(run.elements))
        .apply("Shard", ParDo.of(kafkaWriteDoFnFactory(payload("shard"))))
        .apply("GroupByShard", GroupByKey())
        .apply("WriteTransactions", ParDo.of(kafkaWriteDoFnFactory(payload("transactional_write"))));
      const metrics = await runLocal(p);
      assert.is(counter(metrics, attemptNo === 0 ? WRITE_METRICS.BATCHES_COMMITTED : WRITE_METRICS.BATCHES_SKIPPED), 3);
    }
    await defaultShardWriterPool.closeAll();
    await assertExactlyOnce(run);
  },
);

s.test("exactly-once: a zombie producer is fenced; only the newer writer's batches are visible", async () => {
  const topic = uniqueTopic("eos-zombie");
  await createTopic(bootstrap, topic, 2);
  const spec = writeSpecFromOptions({
    producerConfig: { "bootstrap.servers": bootstrap },
    topic,
    exactlyOnce: { numShards: 2, sinkGroupId: `sink-${topic}` },
  });
  const options = parseProducerConfig(
    { "bootstrap.servers": bootstrap, "transactional.id": `${spec.exactlyOnce!.transactionalIdPrefix}-0` },
    { logger: quiet },
  );
  const zombieProducer = createKafkaProducer(options, { logger: quiet });
  const deps = { createProducer: () => createKafkaProducer(options, { logger: quiet }), offsets: reader };
  try {
    // The zombie opens a transaction and sends, then stalls (a paused worker)...
    const zombieTxn = await zombieProducer.beginTransaction();
    await zombieTxn.produce([{ topic, partition: 0, key: null, value: Buffer.from("zombie") }]);
    // ...while the runner gives its shard to a new worker, whose producer fences it and writes the batch.
    const fresh = new ShardWriter(spec.exactlyOnce!, 0, options, deps);
    const outcome = await fresh.writeBatch("g/0", "1:x", [
      { topic, partition: 0, key: null, value: Buffer.from("fresh") },
    ]);
    assert.equal(outcome, { kind: "committed", seq: 1n, records: 1 });
    // The zombie wakes up and tries to finish: Kafka refuses (CONCURRENT_TRANSACTIONS while the coordinator still
    // completes the fencing, then the zombie's stale epoch).
    let refusal: { message: string; kafkaErrorType?: string } | undefined;
    for (let i = 0; i < 50 && refusal === undefined; i++) {
      try {
        await zombieTxn.sendOffsets(spec.exactlyOnce!.sinkGroupId, [
          { topic, partition: 0, offset: 1n, metadata: "zombie" },
        ]);
        await zombieTxn.commit();
        assert.unreachable("the zombie committed");
      } catch (err) {
        const e = err as { message: string; kafkaErrorType?: string };
        if (e.kafkaErrorType === "CONCURRENT_TRANSACTIONS") await new Promise((r) => setTimeout(r, 100));
        else refusal = e;
      }
    }
    assert.match(String(refusal?.kafkaErrorType), /PRODUCER_FENCED|INVALID_PRODUCER_EPOCH/, refusal?.message);
    await fresh.close();
  } finally {
    await zombieProducer.close();
  }
  const records = await readTopic(reader, topic, "read_committed");
  assert.equal(
    records.map((r) => r.value!.toString()),
    ["fresh"],
  );
  const [state] = await reader.fetchCommittedOffsets(`sink-${topic}`, [{ topic, partition: 0 }]);
  assert.is(parseShardState(state!, "test").seq, 1n);
});

s.run();
