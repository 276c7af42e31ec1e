// ReadFromKafka through the local runner vs the raw clients, on the same topic in the same run: our group-less
// KafkaClient.fetch loop and kafkajs's own group consumer. Peak RSS is sampled per phase.
// Usage: npx tsc -p . && node --expose-gc dist/bench/kafka-read.js [--records N] [--sizes 100,1024] [--rounds R]
// Uses KBT_BOOTSTRAP if set, else starts a throwaway broker (test/infra/broker.ts).
import { randomBytes } from "node:crypto";
import kafkajs from "kafkajs";
import { startBroker, type Broker } from "../test/infra/broker.js";
import { parseConsumerConfig } from "../src/kafka/config/index.js";
import { createKafkaClient, type KafkaClient } from "../src/kafka/client/index.js";
import { readFromKafka, closeAllClients, type KafkaKV } from "../src/kafka/index.js";
import { ParDo, Pipeline } from "../src/pipeline/index.js";
import { LocalRunner } from "../src/runners/local/index.js";

const { Kafka, logLevel } = kafkajs;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

const RECORDS = Number(arg("records", "1000000"));
const SIZES = arg("sizes", "100,1024").split(",").map(Number);
const ROUNDS = Number(arg("rounds", "3"));
const PARTITIONS = 4;
const PARTITION_BYTES = 4 * 1024 * 1024;

let peakRss = 0;
const rssTimer = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 50);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en");
const mib = (n: number): string => `${(n / 1048576).toFixed(0)} MiB`;

async function produce(bootstrap: string, topic: string, size: number): Promise<number> {
  const kafka = new Kafka({ brokers: [bootstrap], clientId: "bench-read-producer", logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const value = randomBytes(size);
  // Each partition's batch stays under the broker's 1 MiB message.max.bytes.
  const perSend = Math.min(5_000, Math.floor(2_000_000 / size));
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < RECORDS) {
      const first = next;
      next += perSend;
      const count = Math.min(perSend, RECORDS - first);
      await producer.send({ topic, acks: -1, messages: Array.from({ length: count }, (_, i) => ({ partition: (first + i) % PARTITIONS, value })) });
    }
  }));
  const rate = RECORDS / ((performance.now() - started) / 1000);
  await producer.disconnect();
  return rate;
}

interface Result {
  /** records/s from the first record to the last */
  readonly rate: number;
  /** seconds from start (connect, group join, pipeline start included) to the end */
  readonly wall: number;
  readonly bytes: number;
  /** peak RSS during this phase, and RSS when it started */
  readonly peakRss: number;
  readonly startRss: number;
}

async function measured(run: () => Promise<{ first: number; end: number; started: number; bytes: number }>): Promise<Result> {
  (globalThis as { gc?: () => void }).gc?.();
  const startRss = process.memoryUsage().rss;
  peakRss = startRss;
  const { first, end, started, bytes } = await run();
  return { rate: RECORDS / ((end - first) / 1000), wall: (end - started) / 1000, bytes, peakRss, startRss };
}

function consumeKafkajs(bootstrap: string, topic: string, round: number): Promise<Result> {
  return measured(async () => {
    const kafka = new Kafka({ brokers: [bootstrap], clientId: "bench-read-kafkajs", logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `bench-read-${topic}-${round}`, maxBytesPerPartition: PARTITION_BYTES, maxBytes: PARTITION_BYTES * PARTITIONS, readUncommitted: true });
    const started = performance.now();
    let first = 0;
    let count = 0;
    let bytes = 0;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve) => {
      void consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          if (first === 0) first = performance.now();
          for (const m of batch.messages) bytes += m.value?.length ?? 0;
          count += batch.messages.length;
          if (count >= RECORDS) resolve();
        },
      });
    });
    const end = performance.now();
    await consumer.disconnect();
    return { first, end, started, bytes };
  });
}

function consumeFetch(client: KafkaClient, topic: string): Promise<Result> {
  return measured(async () => {
    const started = performance.now();
    let first = 0;
    let count = 0;
    let bytes = 0;
    const ends = await client.listOffsets(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition })), "latest");
    await Promise.all(ends.map(async ({ partition, offset: end }) => {
      let offset = 0n;
      while (offset < end) {
        const result = await client.fetch(topic, partition, offset, { maxBytes: PARTITION_BYTES });
        if (first === 0) first = performance.now();
        for (const r of result.records) bytes += r.value?.length ?? 0;
        count += result.records.length;
        offset = result.nextOffset;
      }
    }));
    const end = performance.now();
    if (count !== RECORDS) throw new Error(`fetch loop read ${count} records, expected ${RECORDS}`);
    return { first, end, started, bytes };
  });
}

/** readFromKafka (bounded at the end offsets) → a ParDo that counts: the native API on the local runner. */
function consumePipeline(bootstrap: string, topic: string): Promise<Result> {
  return measured(async () => {
    let first = 0;
    let count = 0;
    let bytes = 0;
    const p = Pipeline.create();
    p.apply(readFromKafka({
      consumerConfig: { "bootstrap.servers": bootstrap, "auto.offset.reset": "earliest", "max.partition.fetch.bytes": String(PARTITION_BYTES) },
      topics: [topic],
      stopAtEndOffsets: true,
    })).apply("Count", ParDo.of({
      process(kv: KafkaKV) {
        if (first === 0) first = performance.now();
        bytes += kv.value?.length ?? 0;
        count++;
      },
    }));
    const started = performance.now();
    const state = await p.run(new LocalRunner()).waitUntilFinish();
    const end = performance.now();
    if (state !== "DONE" || count !== RECORDS) throw new Error(`pipeline ended ${state} after ${count} records, expected ${RECORDS}`);
    await closeAllClients();
    return { first, end, started, bytes };
  });
}

async function benchSize(bootstrap: string, size: number): Promise<void> {
  const topic = `bench-read-${size}-${Date.now().toString(36)}`;
  const produceRate = await produce(bootstrap, topic, size);
  console.log(`\n${fmt(RECORDS)} records x ${size} B (produced at ${fmt(produceRate)} rec/s)`);
  const client = createKafkaClient(parseConsumerConfig({ "bootstrap.servers": bootstrap, "client.id": "bench-read-fetch" }, { logger: () => undefined }));
  const runs: Record<"pipeline" | "fetch" | "kafkajs", Result[]> = { pipeline: [], fetch: [], kafkajs: [] };
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order so no side always reads a warmer page cache or a fresher heap.
    const order = (["pipeline", "fetch", "kafkajs"] as const).map((_, i, all) => all[(i + round) % all.length]!);
    for (const which of order) {
      const result = which === "pipeline" ? await consumePipeline(bootstrap, topic)
        : which === "fetch" ? await consumeFetch(client, topic) : await consumeKafkajs(bootstrap, topic, round);
      runs[which].push(result);
    }
    const bytes = new Set(Object.values(runs).map((r) => r[r.length - 1]!.bytes));
    if (bytes.size !== 1) throw new Error(`value bytes differ between the readers: ${[...bytes].join(", ")}`);
    console.log(`round ${round + 1}: ` + (["pipeline", "fetch", "kafkajs"] as const).map((w) => {
      const r = runs[w][round]!;
      return `${w} ${fmt(r.rate)} rec/s (wall ${r.wall.toFixed(2)} s, peak RSS ${mib(r.peakRss)} from ${mib(r.startRss)})`;
    }).join("; "));
  }
  await client.close();
  const rate = (w: keyof typeof runs) => median(runs[w].map((r) => r.rate));
  const wall = (w: keyof typeof runs) => median(runs[w].map((r) => r.wall));
  const rss = (w: keyof typeof runs) => Math.max(...runs[w].map((r) => r.peakRss));
  console.log(`median: pipeline ${fmt(rate("pipeline"))} rec/s, raw fetch ${fmt(rate("fetch"))} rec/s, raw kafkajs ${fmt(rate("kafkajs"))} rec/s`);
  console.log(`ratio pipeline/fetch ${(rate("pipeline") / rate("fetch")).toFixed(2)}, pipeline/kafkajs ${(rate("pipeline") / rate("kafkajs")).toFixed(2)}; ` +
    `by wall time pipeline/fetch ${(wall("fetch") / wall("pipeline")).toFixed(2)}, pipeline/kafkajs ${(wall("kafkajs") / wall("pipeline")).toFixed(2)}`);
  console.log(`peak RSS per phase: pipeline ${mib(rss("pipeline"))}, fetch ${mib(rss("fetch"))}, kafkajs ${mib(rss("kafkajs"))}`);
}

async function main(): Promise<void> {
  let broker: Broker | undefined;
  const bootstrap = process.env.KBT_BOOTSTRAP ?? (broker = await startBroker()).bootstrap;
  try {
    console.log(`kafka-read bench: ${fmt(RECORDS)} records, sizes ${SIZES.join(", ")} B, ${PARTITIONS} partitions, ${PARTITION_BYTES / 1048576} MiB per partition fetch, ${ROUNDS} rounds, node ${process.version}`);
    for (const size of SIZES) await benchSize(bootstrap, size);
  } finally {
    clearInterval(rssTimer);
    await broker?.stop();
  }
}

await main();
