// `demo`: the README's main job. Writes sample click events to a topic, then runs a native TypeScript pipeline on
// the local runner: readFromKafka (bounded: up to the end offsets at start, offsets committed in finalization) →
// enrich each event → writeToKafka into a second topic, partition for partition. Prints progress while it runs and a
// summary at the end (records/s, offsets per partition, committed offsets, watermark).
// With no --bootstrap it starts the project's local broker (a development tool of the repository checkout).
import { Kafka, logLevel, type Admin } from "kafkajs";
import { Map as MapElements, Pipeline, type PipelineState } from "../src/pipeline/index.js";
import { LocalRunner, type LocalPipelineHandle } from "../src/runners/local/index.js";
import { closeAllClients, readFromKafka, writeToKafka, type KafkaRecordRow } from "../src/kafka/index.js";
import type { DemoConfig } from "./config.js";

interface LocalBroker {
  readonly bootstrap: string;
  stop(): Promise<void>;
}

/**
 * The repository's broker launcher, loaded only when needed: the specifier is not a literal so that builds without
 * test/ (the Docker image) compile, and an installation without it says so instead of crashing.
 */
async function startLocalBroker(log: (line: string) => void): Promise<LocalBroker | undefined> {
  const specifier = "../test/infra/broker.js";
  let module: { startBroker(): Promise<LocalBroker> };
  try {
    module = (await import(specifier)) as typeof module;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND") throw err;
    log(
      "demo: this installation has no local broker (it lives in the repository's test/infra): pass --bootstrap HOST:PORT",
    );
    return undefined;
  }
  log("demo: starting a local Kafka broker (the first run resolves its jars from Maven Central)...");
  const t0 = Date.now();
  const broker = await module.startBroker();
  log(`demo: broker ready at ${broker.bootstrap} in ${seconds(Date.now() - t0)} s`);
  return broker;
}

interface DemoEvent {
  readonly seq: number;
  readonly user: string;
  readonly action: "view" | "click" | "purchase";
  readonly cents: number;
}

interface EnrichedEvent extends DemoEvent {
  readonly source: string;
  readonly euros: string;
  readonly big: boolean;
}

const ACTIONS = ["view", "view", "view", "click", "click", "purchase"] as const;

function sampleEvent(seq: number): DemoEvent {
  const action = ACTIONS[(seq * 7) % ACTIONS.length]!;
  return {
    seq,
    user: `user-${(seq * 31) % 97}`,
    action,
    cents: action === "purchase" ? 100 + ((seq * 733) % 9900) : 0,
  };
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

function rate(records: number, ms: number): string {
  return Math.round(records / Math.max(ms / 1000, 0.001)).toLocaleString("en-US");
}

/** A watermark (ms since epoch, bigint) as text; Beam's bounds are beyond what Date can show. */
export function describeWatermark(watermark: bigint | undefined): string {
  if (watermark === undefined) return "unknown";
  if (watermark >= 8_640_000_000_000_000n) return "+∞ (end of input: every partition was read to its end offset)";
  if (watermark <= -8_640_000_000_000_000n) return "-∞ (not advanced yet)";
  return new Date(Number(watermark)).toISOString();
}

async function endOffsets(admin: Admin, topic: string): Promise<Map<number, { low: bigint; high: bigint }>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return new Map(offsets.map((o) => [o.partition, { low: BigInt(o.low), high: BigInt(o.high) }]));
}

async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<Map<number, bigint>> {
  const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return new Map((result?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
}

/** The process exit code: 0 every record arrived, 1 not, 128 + signal number when interrupted (130 Ctrl-C). */
export type DemoOutcome = 0 | 1 | 130 | 143;

/** Runs the demo. SIGINT/SIGTERM cancel the pipeline (it checkpoints, finalized offsets are committed) and the
 * summary still shows what was read, written and committed. */
export async function runDemo(config: DemoConfig, log: (line: string) => void): Promise<DemoOutcome> {
  let broker: LocalBroker | undefined;
  let bootstrap = config.bootstrap;
  if (!bootstrap) {
    broker = await startLocalBroker(log);
    if (!broker) return 1;
    bootstrap = broker.bootstrap;
  }
  const kafka = new Kafka({
    brokers: bootstrap.split(","),
    clientId: "kafka-beam-ts-demo",
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const input = `demo-events-${run}`;
  const output = `demo-enriched-${run}`;
  const groupId = `demo-${run}`;
  let handle: LocalPipelineHandle | undefined;
  let interrupted: NodeJS.Signals | undefined;
  const interrupt = (signal: NodeJS.Signals) => {
    if (interrupted) process.exit(signal === "SIGINT" ? 130 : 143);
    interrupted = signal;
    log(`demo: ${signal}: cancelling the pipeline (again to exit at once)`);
    void handle?.cancel();
  };
  process.on("SIGINT", interrupt);
  process.on("SIGTERM", interrupt);
  try {
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [input, output].map((topic) => ({ topic, numPartitions: config.partitions, replicationFactor: 1 })),
    });
    log(`demo: topics ${input} and ${output} (${config.partitions} partitions each) on ${bootstrap}`);

    // 1. Sample input, written with the plain client: the pipeline below is what the demo is about.
    const t0 = Date.now();
    const producer = kafka.producer();
    await producer.connect();
    const batch = 5000;
    const firstTimestamp = Date.now() - config.records;
    for (let from = 0; from < config.records; from += batch) {
      const messages = [];
      for (let seq = from; seq < Math.min(config.records, from + batch); seq++) {
        const event = sampleEvent(seq);
        messages.push({
          key: event.user,
          value: JSON.stringify(event),
          partition: seq % config.partitions,
          timestamp: String(firstTimestamp + seq),
        });
      }
      await producer.send({ topic: input, acks: -1, messages });
    }
    await producer.disconnect();
    log(`demo: wrote ${config.records.toLocaleString("en-US")} sample events in ${seconds(Date.now() - t0)} s`);

    // 2. The pipeline: read (bounded, with metadata) → enrich → write, keeping each record's partition.
    const pipeline = Pipeline.create();
    const counts = { read: 0, written: 0 };
    const lastOffset = new Map<number, bigint>();
    const records = pipeline.apply(
      readFromKafka({
        consumerConfig: { "bootstrap.servers": bootstrap, "group.id": groupId, "auto.offset.reset": "earliest" },
        topics: [input],
        withMetadata: true,
        stopAtEndOffsets: true,
        commitOffsetsInFinalize: true,
        timestampPolicy: "CreateTime",
      }),
    );
    const enriched = records.apply(
      "Enrich",
      MapElements((row: KafkaRecordRow) => {
        counts.read++;
        const offset = BigInt(row.offset);
        if ((lastOffset.get(row.partition) ?? -1n) < offset) lastOffset.set(row.partition, offset);
        const event = JSON.parse(Buffer.from(row.value!).toString("utf8")) as DemoEvent;
        const value: EnrichedEvent = {
          ...event,
          source: `${row.topic}/${row.partition}@${row.offset}`,
          euros: (event.cents / 100).toFixed(2),
          big: event.cents >= 5000,
        };
        return { key: event.user, value: JSON.stringify(value), partition: row.partition };
      }),
    );
    enriched.apply(
      writeToKafka<string, string>({
        producerConfig: { "bootstrap.servers": bootstrap, acks: "all" },
        topic: output,
        keySerializer: "string",
        valueSerializer: "string",
        // Elements are WriteRecords: each keeps the partition it was read from.
        input: "record",
      }),
    );

    const started = Date.now();
    // The watermark as of the last committed bundle (between commits a bundle in flight holds it back).
    let committedWatermark: bigint | undefined;
    // Short bundles: the read checkpoints every 250 ms, so offsets are committed (and shown) while it runs.
    handle = pipeline.run(
      new LocalRunner({
        maxBundleDurationMs: 250,
        onBundleCommitted: (event) => {
          committedWatermark = event.watermarks[records.id] ?? committedWatermark;
        },
      }),
    );
    if (interrupted) void handle.cancel();
    const pipelineHandle = handle;
    const readWatermark = () =>
      pipelineHandle.state === "RUNNING" ? committedWatermark : pipelineHandle.watermarks()[records.id];
    const progress = setInterval(() => {
      const elapsed = Date.now() - started;
      const offsets = Array.from({ length: config.partitions }, (_, p) => `p${p}@${lastOffset.get(p) ?? "-"}`).join(
        " ",
      );
      log(
        `demo: … ${counts.read.toLocaleString("en-US")}/${config.records.toLocaleString("en-US")} read and enriched` +
          ` (${rate(counts.read, elapsed)} rec/s); last offsets ${offsets}; watermark ${describeWatermark(readWatermark())}`,
      );
    }, 500);
    let state: PipelineState;
    try {
      state = await handle.waitUntilFinish();
    } finally {
      clearInterval(progress);
    }
    const elapsed = Date.now() - started;

    // 3. Summary: what was read, written and committed, per partition.
    const [inOffsets, outOffsets, committed] = await Promise.all([
      endOffsets(admin, input),
      endOffsets(admin, output),
      committedOffsets(admin, groupId, input),
    ]);
    log("");
    log(
      `demo: pipeline ${state} in ${seconds(elapsed)} s: ${counts.read.toLocaleString("en-US")} records read, enriched and written` +
        ` (${rate(counts.read, elapsed)} rec/s end to end)`,
    );
    log("  partition   input offsets      last read   output offsets     committed (group)");
    let ok = state === "DONE";
    for (let partition = 0; partition < config.partitions; partition++) {
      const inRange = inOffsets.get(partition)!;
      const outRange = outOffsets.get(partition)!;
      const read = lastOffset.get(partition);
      const commit = committed.get(partition) ?? -1n;
      if (outRange.high - outRange.low !== inRange.high - inRange.low) ok = false;
      log(
        `  ${String(partition).padEnd(11)} ${`[${inRange.low}, ${inRange.high})`.padEnd(18)} ${String(read ?? "-").padEnd(11)} ` +
          `${`[${outRange.low}, ${outRange.high})`.padEnd(18)} ${commit >= 0n ? commit : "none yet"}`,
      );
    }
    log(`  watermark of the read: ${describeWatermark(readWatermark())}`);
    const sample = await firstOutputRecord(kafka, output);
    if (sample) log(`  first enriched record: ${sample}`);
    if (interrupted) {
      log(
        `demo: interrupted by ${interrupted}: the pipeline was ${state}; the group's committed offsets show where a rerun would resume`,
      );
      return interrupted === "SIGINT" ? 130 : 143;
    }
    log(
      ok
        ? "demo: OK: every partition of the output holds as many records as its input partition"
        : `demo: INCOMPLETE: output offsets differ from input offsets${state !== "DONE" ? ` (pipeline ${state})` : ""}`,
    );
    return ok ? 0 : 1;
  } finally {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
    if (handle?.state === "RUNNING") await handle.cancel().catch(() => undefined);
    await closeAllClients().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await broker?.stop();
  }
}

/** The record at offset 0 of partition 0 of the output, as text (a look at what the pipeline made). */
async function firstOutputRecord(kafka: Kafka, topic: string): Promise<string | undefined> {
  const consumer = kafka.consumer({ groupId: `${topic}-peek`, retry: { retries: 2 } });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    return await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), 10_000);
      void consumer.run({
        eachMessage: async ({ message, partition }) => {
          if (partition !== 0 || message.offset !== "0") return;
          clearTimeout(timer);
          resolve(`${message.key?.toString()} → ${message.value?.toString()}`);
        },
      });
    });
  } catch {
    return undefined;
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}
