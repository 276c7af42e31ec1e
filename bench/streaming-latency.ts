import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { useXlangToolchain } from "../test/infra/toolchain.js";
import { startBroker, type Broker } from "../test/infra/broker.js";
import { startPrism } from "../test/infra/prism.js";
import { startJobServer } from "../test/infra/job-server.js";
import { startServe } from "../test/infra/service.js";
import { createTopic, readTopicByOffset, testKafka, uniqueTopic } from "../test/infra/fixtures.js";
import { runPython } from "../test/infra/python.js";
import { liveLatencies, produceLive, summarizeLatencies, type LatencySummary } from "../test/infra/latency.js";
import { flag, numberFlag } from "./common.js";

const live = numberFlag("live", 100);
const intervalMs = numberFlag("interval", 100);
const runners = flag("runners", "prism,flink").split(",");
const PRELOADED = 1_000;

await useXlangToolchain();

/** Produces `live` records one by one into `input`, then waits until `output` holds them; returns their latencies. */
async function measure(broker: Broker, input: string, output: string, expectedBefore: number): Promise<LatencySummary> {
  const sentAt = await produceLive(broker.bootstrap, input, live, intervalMs);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const out = [...(await readTopicByOffset(broker.bootstrap, output)).values()].flat();
    if (out.length >= expectedBefore + live) return summarizeLatencies(liveLatencies(out, sentAt));
    if (Date.now() > deadline)
      throw new Error(`${output}: ${out.length - expectedBefore} of ${live} live records after 60 s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function preload(broker: Broker, input: string): Promise<void> {
  await createTopic(broker.bootstrap, input, 4);
  const producer = testKafka(broker.bootstrap).producer();
  await producer.connect();
  await producer.send({
    topic: input,
    acks: -1,
    messages: Array.from({ length: PRELOADED }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 4 })),
  });
  await producer.disconnect();
}

async function awaitCount(broker: Broker, topic: string, count: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (
    [...(await readTopicByOffset(broker.bootstrap, topic).catch(() => new Map())).values()].flat().length < count
  ) {
    if (Date.now() > deadline) throw new Error(`${topic}: fewer than ${count} records after 120 s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The floor: kafkajs's group consumer copying each record to the output with its producer. */
async function rawCopy(broker: Broker): Promise<LatencySummary> {
  const input = uniqueTopic("lat-raw-in");
  const output = uniqueTopic("lat-raw-out");
  await preload(broker, input);
  const kafka = testKafka(broker.bootstrap);
  const consumer = kafka.consumer({ groupId: `g-${input}`, maxWaitTimeInMs: 100 });
  const producer = kafka.producer();
  await Promise.all([consumer.connect(), producer.connect()]);
  await consumer.subscribe({ topic: input, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      await producer.send({ topic: output, acks: -1, messages: [{ key: message.key, value: message.value }] });
    },
  });
  try {
    await awaitCount(broker, output, PRELOADED);
    return await measure(broker, input, output, PRELOADED);
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
  }
}

async function pipeline(
  broker: Broker,
  jobEndpoint: string,
  expansion: string,
  pythonMap: boolean,
  options: string[],
): Promise<LatencySummary> {
  const input = uniqueTopic("lat-in");
  const output = uniqueTopic("lat-out");
  await preload(broker, input);
  const stopFile = join(tmpdir(), `kbt-lat-stop-${output}`);
  const run = runPython(
    "kafka_pipelines.py",
    [
      "stream",
      "--expansion",
      expansion,
      "--job-endpoint",
      jobEndpoint,
      "--bootstrap",
      broker.bootstrap,
      "--topic",
      input,
      "--results-topic",
      output,
      "--group",
      `g-${input}`,
      "--run-seconds",
      "600",
      "--stop-file",
      stopFile,
      ...(pythonMap ? ["--python-map"] : []),
      ...options.map((o) => `--pipeline-option=${o}`),
    ],
    700_000,
  );
  try {
    await awaitCount(broker, output, PRELOADED);
    return await measure(broker, input, output, PRELOADED);
  } finally {
    writeFileSync(stopFile, "");
    await run;
    rmSync(stopFile, { force: true });
  }
}

const FLINK = ["--streaming", "--parallelism=2"];
const FLINK_NO_CHECKPOINTS = [...FLINK, "--shutdown_sources_after_idle_ms=9223372036854775807"];
const FLINK_CHECKPOINTS = [...FLINK, "--checkpointing_interval=1000", "--finish_bundle_before_checkpointing"];

const broker = await startBroker();
const serve = await startServe();
const rows: [string, LatencySummary][] = [];
try {
  rows.push(["raw kafkajs consumer → producer", await rawCopy(broker)]);
  if (runners.includes("prism")) {
    const prism = await startPrism();
    try {
      rows.push(["Prism: read → write", await pipeline(broker, prism.jobEndpoint, serve.expansionAddress, false, [])]);
      rows.push([
        "Prism: read → Python Map → write",
        await pipeline(broker, prism.jobEndpoint, serve.expansionAddress, true, []),
      ]);
    } finally {
      await prism.stop();
    }
  }
  if (runners.includes("flink")) {
    const flink = await startJobServer("flink");
    try {
      const run = (map: boolean, options: string[]) =>
        pipeline(broker, flink.jobEndpoint, serve.expansionAddress, map, options);
      rows.push(["Flink: read → write, default bundle time (1 s)", await run(false, FLINK_NO_CHECKPOINTS)]);
      rows.push(["Flink: read → Python Map → write, default bundle time", await run(true, FLINK_NO_CHECKPOINTS)]);
      rows.push([
        "Flink: read → write, --max_bundle_time_mills=100",
        await run(false, [...FLINK_NO_CHECKPOINTS, "--max_bundle_time_mills=100"]),
      ]);
      rows.push([
        "Flink: read → Python Map → write, --max_bundle_time_mills=100",
        await run(true, [...FLINK_NO_CHECKPOINTS, "--max_bundle_time_mills=100"]),
      ]);
      rows.push([
        "Flink: read → Python Map → write, checkpoints 1 s, bundle 100 ms",
        await run(true, [...FLINK_CHECKPOINTS, "--max_bundle_time_mills=100"]),
      ]);
    } finally {
      await flink.stop();
    }
  }
} finally {
  await serve.stop();
  await broker.stop();
}
const floor = rows[0]![1].p50;
console.log(`\n${live} live records, one every ${intervalMs} ms, 4 partitions\n`);
console.log("| path | p50 | p90 | max | p50 / raw |\n|---|---|---|---|---|");
for (const [name, l] of rows)
  console.log(`| ${name} | ${l.p50} ms | ${l.p90} ms | ${l.max} ms | ${(l.p50 / Math.max(1, floor)).toFixed(1)}x |`);
