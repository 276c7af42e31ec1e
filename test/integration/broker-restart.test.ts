// The broker restarted (its process stopped, then started again on the same ports and data) while a pipeline reads
// from it or writes to it: requests fail while it is down and are retried with backoff, and the pipeline carries on
// once it serves again. Reads: every record exactly once (offsets and contents). At-least-once writes: nothing
// lost, and with idempotence (the default) nothing written twice either. Exactly-once writes: read_committed sees
// every record once. A private broker, since the shared one must not go away under other test files. Figures are
// printed with a `RESTART:` prefix.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { startBroker, type Broker, type RestartOptions, type RestartTimes } from "../infra/broker.js";
import { createTopic, testKafka, uniqueTopic } from "../infra/fixtures.js";
import { Create, ParDo, Pipeline, kv, type DoFn, type KV, type PipelineHandle } from "../../src/pipeline/index.js";
import { LocalRunner } from "../../src/runners/local/index.js";
import { readFromKafka, closeAllClients } from "../../src/kafka/index.js";
import { createKafkaProducer, type KafkaClient, type KafkaProducer } from "../../src/kafka/client/index.js";
import { ShardWriterPool, WRITE_METRICS, parseShardState, writeToKafka } from "../../src/kafka/write/index.js";
import {
  assertExactly,
  collectRows,
  produce,
  recordsFor,
  sleep,
  until,
  type SeenRecord,
} from "./kafka-read-helpers.js";
import { counter, readClient, readTopic } from "./kafka-write-helpers.js";

const s = suite("broker restarted mid-read and mid-write", { timeoutMs: 90_000 });
let broker: Broker | undefined;
let reader: KafkaClient | undefined;
const quiet = (): void => undefined;

s.before(async () => {
  broker = await startBroker();
  reader = readClient(broker.bootstrap);
});
s.after(async () => {
  await reader?.close();
  await closeAllClients();
  await broker?.stop();
});

function figures(what: string, fields: Record<string, string | number>): void {
  console.log(
    `RESTART: ${what}: ${Object.entries(fields)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")}`,
  );
}

/**
 * Sum of the topic's end offsets: read_uncommitted, the high watermarks (every record in the log); read_committed,
 * the last stable offsets (they stop at the first record of a transaction still open).
 */
async function endOffsetSum(
  topic: string,
  partitions: number,
  isolation: "read_committed" | "read_uncommitted" = "read_uncommitted",
): Promise<number> {
  const ends = await reader!.listOffsets(
    Array.from({ length: partitions }, (_, partition) => ({ topic, partition })),
    "latest",
    isolation,
  );
  return ends.reduce((n, p) => n + Number(p.offset), 0);
}

/** Fails with the pipeline's own error when it is no longer running. */
async function assertRunning(handle: PipelineHandle, what: string): Promise<void> {
  if (handle.state === "RUNNING") return;
  const error = await handle.waitUntilFinish(1_000).then(
    (state) => `ended ${state}`,
    (err: unknown) => (err instanceof Error ? `${err.name}: ${err.message}` : String(err)),
  );
  assert.unreachable(`${what}: the pipeline ${error}`);
}

/** Restarts the broker, printing how long it was gone. */
async function restart(what: string, options: RestartOptions): Promise<RestartTimes> {
  const times = await broker!.restart(options);
  figures(`${what}: broker ${options.signal ?? "SIGTERM"}`, {
    stop_ms: times.stopMs,
    downtime_ms: times.downtimeMs,
  });
  return times;
}

for (const signal of ["SIGTERM", "SIGKILL"] as const) {
  s.test(`read: the broker restarted (${signal}) mid-read; the read resumes, every record exactly once`, async () => {
    const bootstrap = broker!.bootstrap;
    const topic = uniqueTopic(`restart-read-${signal.toLowerCase()}`);
    await createTopic(bootstrap, topic, 3);
    const kafka = testKafka(bootstrap);
    const before = recordsFor(3, 10_000, "a");
    await produce(kafka, topic, before);

    const seen: SeenRecord[] = [];
    const p = Pipeline.create();
    collectRows(
      p.apply(
        readFromKafka({
          consumerConfig: { "bootstrap.servers": bootstrap, "auto.offset.reset": "earliest" },
          topics: [topic],
          withMetadata: true,
          pollTimeoutMs: 500,
        }),
      ),
      seen,
    );
    const handle = p.run(new LocalRunner());
    try {
      await until(() => seen.length > 0, "the first records");
      const atRestart = seen.length;
      const times = await restart(`read ${signal}`, { signal });
      const atReturn = seen.length;
      await assertRunning(handle, "the read survives the restart");
      const after = recordsFor(3, 1_000, "b");
      await produce(kafka, topic, after);
      await until(
        () => seen.length >= before.length + after.length,
        "every record, those produced after the restart too",
        45_000,
      );
      await sleep(500); // a duplicate would show up here
      figures(`read ${signal}`, {
        produced: before.length + after.length,
        read: seen.length,
        read_when_restarted: atRestart,
        read_when_back: atReturn,
        duplicates: seen.length - new Set(seen.map((r) => `${r.partition}@${r.offset}`)).size,
        downtime_ms: times.downtimeMs,
      });
      assert.ok(atRestart < before.length, `the restart began mid-read (${atRestart} of ${before.length} read)`);
      assertExactly(seen, [...before, ...after]);
      assert.is(handle.state, "RUNNING");
    } finally {
      await handle.cancel();
    }
  });
}

/** Passes elements on, pausing now and then, so that a write of a few 10,000 records takes a few seconds. */
function paced<T>(every: number, pauseMs: number): DoFn<T, T> {
  let n = 0;
  return {
    async process(element, context) {
      if (++n % every === 0) await sleep(pauseMs);
      await context.output(element);
    },
  };
}

interface WriteTally {
  readonly records: number;
  readonly lost: string[];
  readonly duplicates: number;
}

/** Which of `value-0 .. value-<total-1>` the topic holds, each with key `key-<i % 500>`. */
async function tally(topic: string, total: number, isolation: "read_committed" | "read_uncommitted") {
  const records = await readTopic(reader!, topic, isolation);
  const counts = new Map<string, number>();
  for (const r of records) {
    const value = r.value!.toString();
    counts.set(value, (counts.get(value) ?? 0) + 1);
    assert.is(r.key?.toString(), `key-${Number(value.slice("value-".length)) % 500}`, `${value} carries its key`);
  }
  const lost: string[] = [];
  for (let i = 0; i < total; i++) if (!counts.has(`value-${i}`)) lost.push(`value-${i}`);
  const strays = [...counts.keys()].filter((v) => !/^value-\d+$/.test(v) || Number(v.slice(6)) >= total);
  assert.equal(strays, [], "only the written values");
  return { records: records.length, lost, duplicates: records.length - counts.size } satisfies WriteTally;
}

function elements(total: number): KV<string, string>[] {
  return Array.from({ length: total }, (_, i) => kv(`key-${i % 500}`, `value-${i}`));
}

for (const { signal, idempotence } of [
  { signal: "SIGTERM", idempotence: undefined },
  { signal: "SIGKILL", idempotence: "false" },
] as const) {
  const mode = idempotence === undefined ? "idempotent (default)" : "enable.idempotence=false";
  s.test(`at-least-once write, ${mode}: the broker restarted (${signal}) mid-write; nothing lost`, async () => {
    const bootstrap = broker!.bootstrap;
    const topic = uniqueTopic(`restart-write-${signal.toLowerCase()}`);
    await createTopic(bootstrap, topic, 4);
    const total = 40_000;
    const p = Pipeline.create();
    p.apply(Create.of(elements(total)))
      .apply("Pace", ParDo.of(paced<KV<string, string>>(1_000, 100)))
      .apply(
        writeToKafka<string, string>({
          producerConfig: {
            "bootstrap.servers": bootstrap,
            ...(idempotence !== undefined ? { "enable.idempotence": idempotence } : {}),
          },
          topic,
          keySerializer: "string",
          valueSerializer: "string",
          environment: { logger: quiet },
        }),
      );
    const started = Date.now();
    const handle = p.run(new LocalRunner());
    let times: RestartTimes;
    let inTopic = 0;
    try {
      // Mid-write: some records acknowledged, the pipeline still running.
      for (;;) {
        inTopic = await endOffsetSum(topic, 4);
        if (inTopic >= 4_000) break;
        if (handle.state !== "RUNNING") assert.unreachable(`the write ended (${handle.state}) before the restart`);
        await sleep(50);
      }
      assert.is(handle.state, "RUNNING", "the write is still running when the broker stops");
      times = await restart(`write ${mode}`, { signal });
      const state = await handle.waitUntilFinish(60_000);
      assert.is(state, "DONE", "the write finishes after the restart");
    } finally {
      await handle.cancel();
    }
    const metrics = handle.metrics();
    const got = await tally(topic, total, "read_uncommitted");
    figures(`write ${mode} ${signal}`, {
      records_in: total,
      in_topic_at_restart: inTopic,
      records_written_metric: counter(metrics, WRITE_METRICS.recordsWritten(topic)),
      records_in_topic: got.records,
      duplicates: got.duplicates,
      lost: got.lost.length,
      downtime_ms: times.downtimeMs,
      run_ms: Date.now() - started,
    });
    assert.ok(inTopic < total, "the restart landed mid-write");
    assert.equal(got.lost.slice(0, 5), [], `lost ${got.lost.length}`);
    assert.is(counter(metrics, WRITE_METRICS.recordsWritten(topic)), total, "every record acknowledged once");
    // An idempotent producer keeps its id and sequence numbers across the restart (the broker restores them from
    // its log), so a send retried after the broker went down is recognised, not appended again.
    if (idempotence === undefined) assert.is(got.duplicates, 0, "idempotence: no duplicates");
  });
}

/**
 * The real transactional producer; once the first shard has sent records in its transaction, `opened` resolves
 * and the producer waits for `proceed` before going on (to the offsets and the commit): the broker restarts with
 * that transaction open. Nothing is faked; Kafka sees only real requests.
 */
function holdingProducer(
  real: KafkaProducer,
  gate: { opened: () => void; proceed: Promise<void>; held: boolean },
): KafkaProducer {
  return {
    options: real.options,
    produce: (records) => real.produce(records),
    flush: () => real.flush(),
    partitionsFor: (topic) => real.partitionsFor(topic),
    close: () => real.close(),
    async beginTransaction() {
      const txn = await real.beginTransaction();
      return {
        async produce(records) {
          await txn.produce(records);
          if (!gate.held) {
            gate.held = true;
            gate.opened();
            await gate.proceed;
          }
        },
        sendOffsets: (groupId, offsets) => txn.sendOffsets(groupId, offsets),
        commit: () => txn.commit(),
        abort: () => txn.abort(),
      };
    },
  };
}

for (const signal of ["SIGTERM", "SIGKILL"] as const) {
  s.test(`exactly-once write: the broker restarted (${signal}) with a transaction open; each record once`, async () => {
    const bootstrap = broker!.bootstrap;
    const topic = uniqueTopic(`restart-eos-${signal.toLowerCase()}`);
    await createTopic(bootstrap, topic, 4);
    const total = 20_000;
    const sinkGroupId = `sink-${topic}`;
    let opened!: () => void;
    let proceed!: () => void;
    const wasOpened = new Promise<void>((r) => {
      opened = r;
    });
    const gate = { held: false, opened: () => opened(), proceed: new Promise<void>((r) => (proceed = r)) };
    let producers = 0;
    const pool = new ShardWriterPool(60_000);
    const p = Pipeline.create();
    p.apply(Create.of(elements(total))).apply(
      writeToKafka<string, string>({
        producerConfig: { "bootstrap.servers": bootstrap, "transaction.timeout.ms": "30000" },
        topic,
        keySerializer: "string",
        valueSerializer: "string",
        exactlyOnce: { numShards: 4, sinkGroupId },
        shardWriterPool: pool,
        environment: {
          logger: quiet,
          createProducer: (options) => {
            producers++;
            return holdingProducer(createKafkaProducer(options, { logger: quiet }), gate);
          },
        },
      }),
    );
    const started = Date.now();
    const handle = p.run(new LocalRunner());
    let times: RestartTimes;
    let inLogAtRestart: number;
    let stableAtRestart: number;
    try {
      await wasOpened;
      inLogAtRestart = await endOffsetSum(topic, 4);
      stableAtRestart = await endOffsetSum(topic, 4, "read_committed");
      const restarted = broker!.restart({ signal });
      await sleep(200); // the broker is going down: the transaction's next requests meet it stopping or gone
      proceed();
      times = await restarted;
      figures(`write exactly-once: broker ${signal}`, { stop_ms: times.stopMs, downtime_ms: times.downtimeMs });
      const state = await handle.waitUntilFinish(60_000);
      assert.is(state, "DONE", "the write finishes after the restart, in the same run");
    } finally {
      proceed();
      await handle.cancel();
      await pool.closeAll();
    }
    const metrics = handle.metrics();
    const committed = counter(metrics, WRITE_METRICS.BATCHES_COMMITTED);
    const skipped = counter(metrics, WRITE_METRICS.BATCHES_SKIPPED);
    const got = await tally(topic, total, "read_committed");
    figures(`write exactly-once ${signal}`, {
      records_in: total,
      in_log_at_restart: inLogAtRestart,
      stable_at_restart: stableAtRestart,
      producers,
      batches_committed: committed,
      batches_skipped: skipped,
      read_committed: got.records,
      duplicates: got.duplicates,
      lost: got.lost.length,
      downtime_ms: times.downtimeMs,
      run_ms: Date.now() - started,
    });
    // Records of the held transaction were in the log, not yet committed (the last stable offsets stop before them).
    assert.ok(stableAtRestart < inLogAtRestart, "the restart landed mid-transaction");
    assert.equal(got.lost.slice(0, 5), [], `lost ${got.lost.length}`);
    assert.is(got.duplicates, 0, "no duplicates");
    assert.is(got.records, total);
    const sequences = await reader!.fetchCommittedOffsets(sinkGroupId, [topic]);
    assert.equal(
      sequences.map((o) => parseShardState(o, "test").seq),
      [1n, 1n, 1n, 1n],
      "each shard committed its batch once (sequence 1)",
    );
    // A transaction the restart broke is written again by a new producer (fencing the old one), or found committed.
    assert.is(committed + skipped, 4, "each shard's batch committed, or found committed on a retry");
  });
}

s.run();
