// `demo`: the README's main job. Writes sample click events to a topic, then runs a native TypeScript pipeline:
// readFromKafka (bounded: up to the end offsets at start, offsets committed in finalization) → enrich each event →
// writeToKafka into a second topic, partition for partition. Prints progress while it runs and a summary at the end
// (records/s, offsets per partition, committed offsets, watermark). On the local runner by default; `--runner prism`
// or `flink` submits the same pipeline to a portable runner (the workers rebuild it from buildDemoPipeline).
// With no --bootstrap it starts the project's local broker, and with no --job-endpoint the runner (development tools
// of the repository checkout).
import { Kafka, logLevel, type Admin } from "kafkajs";
import {
  Map as MapElements,
  Pipeline,
  type PCollection,
  type PipelineHandle,
  type PipelineState,
} from "../src/pipeline/index.js";
import { LocalRunner, type LocalPipelineHandle } from "../src/runners/local/index.js";
import { PortableRunner } from "../src/runners/portable/index.js";
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
async function repositoryTool<T>(name: string): Promise<T | undefined> {
  const specifier = `../test/infra/${name}.js`;
  try {
    return (await import(specifier)) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND") throw err;
    return undefined;
  }
}

async function startLocalBroker(log: (line: string) => void): Promise<LocalBroker | undefined> {
  const module = await repositoryTool<{ startBroker(): Promise<LocalBroker> }>("broker");
  if (!module) {
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

/** What the demo pipeline is built from: JSON, since a portable runner's workers build it again from the same. */
export interface DemoPipelineArgs {
  readonly bootstrap: string;
  readonly input: string;
  readonly output: string;
  readonly groupId: string;
  /** Commit the read offsets of finalized bundles (not on Flink batch jobs: Flink cannot finalize them). */
  readonly commitOffsets: boolean;
}

/**
 * The demo pipeline: read (bounded, with metadata) → enrich → write, keeping each record's partition. `observe`
 * sees every record as it is enriched (the local runner's progress; a runner's workers build it without). Exported
 * for the portable runner: its workers import this module and call it with the same args.
 */
export function buildDemoPipeline(
  pipeline: Pipeline,
  args: unknown,
  observe?: (row: KafkaRecordRow) => void,
): PCollection<KafkaRecordRow> {
  const { bootstrap, input, output, groupId, commitOffsets } = args as DemoPipelineArgs;
  const records = pipeline.apply(
    readFromKafka({
      consumerConfig: { "bootstrap.servers": bootstrap, "group.id": groupId, "auto.offset.reset": "earliest" },
      topics: [input],
      withMetadata: true,
      stopAtEndOffsets: true,
      commitOffsetsInFinalize: commitOffsets,
      timestampPolicy: "CreateTime",
    }),
  );
  records
    .apply(
      "Enrich",
      MapElements((row: KafkaRecordRow) => {
        observe?.(row);
        const event = JSON.parse(Buffer.from(row.value!).toString("utf8")) as DemoEvent;
        const value: EnrichedEvent = {
          ...event,
          source: `${row.topic}/${row.partition}@${row.offset}`,
          euros: (event.cents / 100).toFixed(2),
          big: event.cents >= 5000,
        };
        return { key: event.user, value: JSON.stringify(value), partition: row.partition };
      }),
    )
    .apply(
      writeToKafka<string, string>({
        producerConfig: { "bootstrap.servers": bootstrap, acks: "all" },
        topic: output,
        keySerializer: "string",
        valueSerializer: "string",
        // Elements are WriteRecords: each keeps the partition it was read from.
        input: "record",
      }),
    );
  return records;
}

interface RunnerTool {
  readonly jobEndpoint: string;
  stop(): Promise<void>;
}

/** The job service for --runner prism/flink: the one named, else one started from the repository checkout. */
async function jobService(config: DemoConfig, log: (line: string) => void): Promise<RunnerTool | undefined> {
  if (config.jobEndpoint) return { jobEndpoint: config.jobEndpoint, stop: async () => undefined };
  const t0 = Date.now();
  if (config.runner === "prism") {
    const prism = await repositoryTool<{ startPrism(): Promise<RunnerTool> }>("prism");
    if (!prism) {
      log("demo: this installation cannot start Prism (the launcher lives in the repository): pass --job-endpoint");
      return undefined;
    }
    log("demo: starting Prism (the first run builds it with go install, about 2 minutes)...");
    const { execFileSync } = await import("node:child_process");
    const { fileURLToPath } = await import("node:url");
    process.env.KBT_PRISM ??= execFileSync(
      "bash",
      [fileURLToPath(new URL("../../scripts/prism.sh", import.meta.url))],
      {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
      },
    ).trim();
    const started = await prism.startPrism();
    log(`demo: Prism ready at ${started.jobEndpoint} in ${seconds(Date.now() - t0)} s`);
    return started;
  }
  const jobServer = await repositoryTool<{ startJobServer(engine: "flink"): Promise<RunnerTool> }>("job-server");
  if (!jobServer) {
    log(
      "demo: this installation cannot start a Flink job server (the launcher lives in the repository): pass --job-endpoint",
    );
    return undefined;
  }
  log("demo: starting a Flink job server (the first run resolves Beam's Flink runner from Maven Central)...");
  const started = await jobServer.startJobServer("flink");
  log(`demo: Flink job server ready at ${started.jobEndpoint} in ${seconds(Date.now() - t0)} s`);
  return started;
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
  let handle: PipelineHandle | undefined;
  let jobs: RunnerTool | undefined;
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
    const counts = { read: 0 };
    const lastOffset = new Map<number, bigint>();
    const local = config.runner === "local";
    // Flink's portable runner finalizes bundles only after checkpoints of streaming jobs (README, "On Flink").
    const commitOffsets = config.runner !== "flink";
    if (!commitOffsets) log("demo: on Flink a batch job cannot finalize bundles, so no offsets are committed this run");
    const args: DemoPipelineArgs = { bootstrap, input, output, groupId, commitOffsets };
    const records = buildDemoPipeline(pipeline, args, (row) => {
      counts.read++;
      const offset = BigInt(row.offset);
      if ((lastOffset.get(row.partition) ?? -1n) < offset) lastOffset.set(row.partition, offset);
    });

    const started = Date.now();
    // The watermark as of the last committed bundle (between commits a bundle in flight holds it back).
    let committedWatermark: bigint | undefined;
    let readWatermark: () => bigint | undefined = () => undefined;
    if (local) {
      // Short bundles: the read checkpoints every 250 ms, so offsets are committed (and shown) while it runs.
      const localHandle: LocalPipelineHandle = pipeline.run(
        new LocalRunner({
          maxBundleDurationMs: 250,
          onBundleCommitted: (event) => {
            committedWatermark = event.watermarks[records.id] ?? committedWatermark;
          },
        }),
      );
      readWatermark = () =>
        localHandle.state === "RUNNING" ? committedWatermark : localHandle.watermarks()[records.id];
      handle = localHandle;
    } else {
      jobs = await jobService(config, log);
      if (!jobs) return 1;
      handle = pipeline.run(
        new PortableRunner({
          jobEndpoint: jobs.jobEndpoint,
          pipelineModule: { url: import.meta.url, export: "buildDemoPipeline", args },
          jobName: `kafka-beam-ts-demo-${run}`,
          metricsIntervalMs: 500,
        }),
      );
      log(`demo: submitted to ${config.runner} at ${jobs.jobEndpoint}; the runner starts our workers`);
    }
    if (interrupted) void handle.cancel();
    const pipelineHandle = handle;
    // On a portable runner, records are counted by the runner's metrics (the Map runs on its workers).
    const readSoFar = () => (local ? counts.read : (pipelineHandle.metrics().steps.Enrich?.elementsIn ?? 0));
    const progress = setInterval(() => {
      const elapsed = Date.now() - started;
      const offsets = local
        ? `; last offsets ${Array.from({ length: config.partitions }, (_, p) => `p${p}@${lastOffset.get(p) ?? "-"}`).join(" ")}; watermark ${describeWatermark(readWatermark())}`
        : "";
      log(
        `demo: … ${readSoFar().toLocaleString("en-US")}/${config.records.toLocaleString("en-US")} read and enriched` +
          ` (${rate(readSoFar(), elapsed)} rec/s)${offsets}`,
      );
    }, 500);
    let state: PipelineState;
    try {
      state = await handle.waitUntilFinish();
    } catch (err) {
      // The summary below still shows what was read, written and committed.
      log(`demo: the pipeline failed: ${(err as Error).message}`);
      state = "FAILED";
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
      `demo: pipeline ${state} in ${seconds(elapsed)} s on the ${config.runner} runner: ${readSoFar().toLocaleString("en-US")} ` +
        `records read, enriched and written (${rate(readSoFar(), elapsed)} rec/s end to end)`,
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
    if (local) log(`  watermark of the read: ${describeWatermark(readWatermark())}`);
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
    await jobs?.stop();
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
