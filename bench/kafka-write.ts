// Write throughput: writeToKafka through the local runner vs the raw Node producers and Kafka's own Java producer,
// same records, same broker, same run.
// Usage: npx tsc -p . && node dist/bench/kafka-write.js [--records N] [--sizes 100,1000] [--rounds R]
//          [--eos-records N] [--eos-shards S] [--chunk N] [--producer-config k=v,...] [--skip raw,platformatic,java,sink,eos]
// Uses KBT_BOOTSTRAP if set, else starts a throwaway broker (test/infra/broker.ts).
//
// Each round, for each record size, writes N records with a null key and a random value of that size into a fresh
// 4-partition topic (acks=all), alternating:
//   raw   kafkajs producer.send, 5,000 records per send (fewer for big records, <= 2 MB per send), 4 sends in flight,
//         records spread over the partitions (explicit partition i % 4)
//   platformatic  @platformatic/kafka's Producer (a dev dependency of this bench; Node >= 22), sends as raw's
//   java  Kafka's ProducerPerformance (kafka-tools, scripts/maven-libs.sh kafka-tools; Java producer defaults,
//         acks=all): the limit, a separate JVM process
//   sink  chunks of 2,500 (--chunk; 4 to a bundle) → a DoFn emitting each chunk's KV<null, bytes> → writeToKafka
//         (at-least-once; producer defaults: idempotent, linger.ms 5, batch.size 1 MiB), timed from run() to the
//         pipeline's end (every record acknowledged)
//   eos   the same pipeline with exactlyOnce (S shards → GroupByKey firing whenever the writer is free → a
//         transaction per shard and pane); --eos-records of them
//   copy  after the others: readFromKafka (bounded at the end offsets) of the sink's topic → Map (the value's first
//         byte flipped in place) → writeToKafka into a fresh topic, timed from run() to DONE, against the sink alone
// Each round rotates which side goes first. Every topic is then checked to hold exactly the records written.
// sink, eos and copy also print the CPU seconds this process and the broker (when the bench started it) used, and
// so the most each could reach with that CPU spread over every core: where the broker shares the machine's cores,
// a bound that no threading of ours passes.
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { brokerBootstrap, createTopic, ownBrokerPid, releaseBroker } from "../test/infra/fixtures.js";
import { parseConsumerConfig } from "../src/kafka/config/index.js";
import { closeAllClients, createKafkaClient } from "../src/kafka/client/index.js";
import {
  Create,
  GroupByKey,
  kv,
  Map as MapElements,
  ParDo,
  Pipeline,
  type DoFn,
  type KV,
} from "../src/pipeline/index.js";
import { LocalRunner } from "../src/runners/local/index.js";
import { defaultShardWriterPool, writeToKafka } from "../src/kafka/write/index.js";
import { readFromKafka, type KafkaKV } from "../src/kafka/index.js";
import { processCpuSeconds } from "../test/infra/process-memory.js";
import { flag, fmt, median, mib, numberFlag, ownCpuSeconds, PeakRss, ratio } from "./common.js";
import { PARTITIONS, produceRaw } from "./kafka-load.js";
import { producePlatformatic, producerPerformance } from "./producers.js";

const RECORDS = numberFlag("records", 1_000_000);
const SIZES = flag("sizes", "100,1000").split(",").map(Number);
const ROUNDS = numberFlag("rounds", 3);
const EOS_RECORDS = numberFlag("eos-records", 0) || undefined;
const EOS_SHARDS = numberFlag("eos-shards", 4);
/** Extra producer config for the sink, "key=value,key=value" (e.g. enable.idempotence=false). */
const SINK_CONFIG: Record<string, string> = Object.fromEntries(
  flag("producer-config", "")
    .split(",")
    .filter(Boolean)
    .map((kv) => kv.split("=", 2) as [string, string]),
);
const SKIP = new Set(flag("skip", "").split(",").filter(Boolean));
const quiet = (): void => undefined;

const rss = new PeakRss();

type SideName = "raw" | "platformatic" | "java" | "sink" | "eos" | "copy";
/** One way of writing `records` records into a fresh topic; returns records/s. */
interface Side {
  readonly name: SideName;
  readonly records: number;
  run(topic: string): Promise<number>;
}

/** CPU seconds a side used per million records: this process's and the broker's (NaN under KBT_BOOTSTRAP). */
interface CpuUse {
  readonly ours: number;
  readonly broker: number;
}

/** Runs `run`, returning its result and the CPU this process and the broker used meanwhile, per million records. */
async function withCpu<T>(records: number, run: () => Promise<T>): Promise<[T, CpuUse]> {
  const brokerPid = ownBrokerPid();
  const ours = ownCpuSeconds();
  const broker = processCpuSeconds(brokerPid);
  const result = await run();
  const perMillion = 1e6 / records;
  return [
    result,
    { ours: (ownCpuSeconds() - ours) * perMillion, broker: (processCpuSeconds(brokerPid) - broker) * perMillion },
  ];
}

/**
 * The most a side could reach, in records/s, were its CPU (ours and the broker's) spread over every core of the
 * machine: a bound no threading of ours can pass while the broker shares the cores.
 */
const coreBound = (cpu: CpuUse): number => (availableParallelism() * 1e6) / (cpu.ours + cpu.broker);

const cpuText = (cpu: CpuUse): string =>
  Number.isNaN(cpu.ours) ? "-" : `${cpu.ours.toFixed(2)} + ${Number.isNaN(cpu.broker) ? "-" : cpu.broker.toFixed(2)}`;

let topicCounter = 0;
async function newTopic(bootstrap: string, what: string): Promise<string> {
  const topic = `bench-write-${what}-${Date.now().toString(36)}-${topicCounter++}`;
  await createTopic(bootstrap, topic, PARTITIONS);
  return topic;
}

/** Records per generated chunk; a bundle takes BUNDLE_CHUNKS of them (the exactly-once write's panes stream). */
const CHUNK = numberFlag("chunk", 2_500);
const BUNDLE_CHUNKS = 4;

/**
 * Emits the chunk's KV<null, bytes> records (CHUNK, fewer in the last chunk of `records`), with backpressure from
 * downstream. Values cycle through 1,024 random ones: different records, as real data (an exactly-once write shards
 * keyless records by the record's hash), at no per-record allocation.
 */
function generator(records: number, size: number): DoFn<KV<number, number[]>, { key: null; value: Buffer }> {
  const values = Array.from({ length: 1024 }, () => randomBytes(size));
  return {
    async process(chunk, context) {
      const from = chunk.key * CHUNK;
      for (let i = from; i < Math.min(records, from + CHUNK); i++) {
        const pending = context.output({ key: null, value: values[i & 1023]! });
        if (pending) await pending;
      }
    },
  };
}

async function sink(bootstrap: string, topic: string, records: number, size: number, eos: boolean): Promise<number> {
  const p = Pipeline.create();
  // Chunks through a GroupByKey reach the generator as a queue, run BUNDLE_CHUNKS to a bundle (as a runner spreads
  // a source's splits): input arrives over time, as from a read.
  p.apply(Create.of(Array.from({ length: Math.ceil(records / CHUNK) }, (_, i) => kv(i, i))))
    .apply("Chunks", GroupByKey<number, number>())
    .apply("Generate", ParDo.of(generator(records, size)))
    .apply(
      writeToKafka<null, Buffer>({
        producerConfig: {
          "bootstrap.servers": bootstrap,
          "transaction.timeout.ms": "120000",
          ...(eos ? {} : SINK_CONFIG),
        },
        topic,
        ...(eos ? { exactlyOnce: { numShards: EOS_SHARDS, sinkGroupId: `sink-${topic}` } } : {}),
        environment: { logger: quiet },
      }),
    );
  const started = performance.now();
  const handle = p.run(new LocalRunner({ maxBundleSize: BUNDLE_CHUNKS }));
  const state = await handle.waitUntilFinish(600_000);
  if (state !== "DONE") throw new Error(`pipeline ended ${state}`);
  return records / ((performance.now() - started) / 1000);
}

/** readFromKafka of `input` (to its end offsets) → Map → writeToKafka into `output`; records/s from run() to DONE. */
async function copy(bootstrap: string, input: string, output: string, records: number): Promise<number> {
  const p = Pipeline.create();
  p.apply(
    readFromKafka({
      consumerConfig: { "bootstrap.servers": bootstrap, "auto.offset.reset": "earliest" },
      topics: [input],
      stopAtEndOffsets: true,
    }),
  )
    .apply(
      "Flip",
      MapElements((kv: KafkaKV) => {
        const value = kv.value as Buffer; // a view of the fetch response, ours to change
        value[0] = value[0]! ^ 0xff;
        return { key: kv.key, value };
      }),
    )
    .apply(
      writeToKafka<Uint8Array | null, Buffer>({
        producerConfig: { "bootstrap.servers": bootstrap, ...SINK_CONFIG },
        topic: output,
        environment: { logger: quiet },
      }),
    );
  const started = performance.now();
  const state = await p.run(new LocalRunner()).waitUntilFinish(600_000);
  if (state !== "DONE") throw new Error(`copy pipeline ended ${state}`);
  return records / ((performance.now() - started) / 1000);
}

async function count(
  bootstrap: string,
  topic: string,
  isolationLevel: "read_committed" | "read_uncommitted",
): Promise<number> {
  const client = createKafkaClient(parseConsumerConfig({ "bootstrap.servers": bootstrap }, { logger: quiet }), {
    logger: quiet,
  });
  try {
    const latest = await client.listOffsets(
      Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition })),
      "latest",
      isolationLevel,
    );
    let total = 0;
    for (const { partition, offset } of latest) {
      let at = 0n;
      while (at < offset) {
        const result = await client.fetch(topic, partition, at, { maxBytes: 8 << 20, maxWaitMs: 50, isolationLevel });
        total += result.records.length;
        at = result.nextOffset;
      }
    }
    return total;
  } finally {
    await client.close();
  }
}

async function main(): Promise<void> {
  const bootstrap = await brokerBootstrap();
  console.log(
    `bench kafka-write: ${fmt(RECORDS)} records, sizes ${SIZES.join("/")} B, ${ROUNDS} rounds, ${PARTITIONS} partitions, Node ${process.version}`,
  );
  try {
    for (const size of SIZES) {
      const eosRecords = EOS_RECORDS ?? RECORDS;
      const sides: Side[] = [
        { name: "raw", records: RECORDS, run: (t) => produceRaw(bootstrap, t, RECORDS, size, "bench-raw") },
        { name: "platformatic", records: RECORDS, run: (t) => producePlatformatic(bootstrap, t, RECORDS, size) },
        { name: "java", records: RECORDS, run: (t) => producerPerformance(bootstrap, t, RECORDS, size) },
        { name: "sink", records: RECORDS, run: (t) => sink(bootstrap, t, RECORDS, size, false) },
        { name: "eos", records: eosRecords, run: (t) => sink(bootstrap, t, eosRecords, size, true) },
      ];
      const rates: Record<SideName, number[]> = { raw: [], platformatic: [], java: [], sink: [], eos: [], copy: [] };
      const skipped: CpuUse = { ours: Number.NaN, broker: Number.NaN };
      const cpu: Record<"sink" | "eos" | "copy", CpuUse[]> = { sink: [], eos: [], copy: [] };
      let sinkTopic: string | undefined;
      for (let round = 0; round < ROUNDS; round++) {
        // Each round starts with another side: the broker is slower right after a side wrote its gigabyte.
        for (let i = 0; i < sides.length; i++) {
          const side = sides[(round + i) % sides.length]!;
          const measured = side.name === "sink" || side.name === "eos" ? cpu[side.name] : undefined;
          if (SKIP.has(side.name)) {
            rates[side.name].push(NaN);
            measured?.push(skipped);
            continue;
          }
          const topic = await newTopic(bootstrap, side.name);
          if (side.name === "sink") sinkTopic = topic;
          const [rate, used] = await withCpu(side.records, () => side.run(topic));
          rates[side.name].push(rate);
          measured?.push(used);
          const isolation = side.name === "eos" ? "read_committed" : "read_uncommitted";
          // A commit returns before the coordinator has written its markers: read_committed may lag a moment.
          let written = await count(bootstrap, topic, isolation);
          for (const deadline = Date.now() + 10_000; written < side.records && Date.now() < deadline; ) {
            await new Promise((r) => setTimeout(r, 200));
            written = await count(bootstrap, topic, isolation);
          }
          if (written !== side.records)
            throw new Error(`${side.name}: ${written} records in ${topic}, not ${side.records}`);
        }
        if (SKIP.has("copy") || !sinkTopic) {
          rates.copy.push(NaN);
          cpu.copy.push(skipped);
        } else {
          const copyTopic = await newTopic(bootstrap, "copy");
          const [rate, used] = await withCpu(RECORDS, () => copy(bootstrap, sinkTopic!, copyTopic, RECORDS));
          rates.copy.push(rate);
          cpu.copy.push(used);
          const copied = await count(bootstrap, copyTopic, "read_uncommitted");
          if (copied !== RECORDS) throw new Error(`copy: ${copied} records in ${copyTopic}, not ${RECORDS}`);
        }
        const at = (name: SideName) => rates[name][round]!;
        console.log(
          `  ${size} B round ${round + 1}: raw ${fmt(at("raw"))}  platformatic ${fmt(at("platformatic"))}  ` +
            `java ${fmt(at("java"))}  sink ${fmt(at("sink"))} (${ratio(at("sink"), at("platformatic"))} platformatic)  ` +
            `eos ${fmt(at("eos"))} rec/s (${fmt(eosRecords)} records, ${ratio(at("eos"), at("sink"))} sink)  ` +
            `copy ${fmt(at("copy"))} rec/s (${ratio(at("copy"), at("sink"))} sink)\n` +
            `    CPU-s per 1M records, ours + broker: sink ${cpuText(cpu.sink[round]!)}  eos ${cpuText(cpu.eos[round]!)}  ` +
            `copy ${cpuText(cpu.copy[round]!)}; on ${availableParallelism()} cores at most: ` +
            `eos ${ratio(coreBound(cpu.eos[round]!), at("sink"))} sink, copy ${ratio(coreBound(cpu.copy[round]!), at("sink"))} sink`,
        );
      }
      const raw_ = median(rates.raw);
      const platformatic_ = median(rates.platformatic);
      const java_ = median(rates.java);
      const sink_ = median(rates.sink);
      const eos_ = median(rates.eos);
      const copy_ = median(rates.copy);
      console.log(
        `${size} B median: raw kafkajs ${fmt(raw_)} | platformatic ${fmt(platformatic_)} | Java ProducerPerformance ${fmt(java_)} rec/s\n` +
          `  writeToKafka ${fmt(sink_)} rec/s = ${ratio(sink_, platformatic_)} platformatic, ${ratio(sink_, raw_)} kafkajs, ` +
          `${ratio(sink_, java_)} Java | ` +
          `exactly-once ${fmt(eos_)} rec/s = ${ratio(eos_, sink_)} at-least-once | ` +
          `copy (read → map → write) ${fmt(copy_)} rec/s = ${ratio(copy_, sink_)} the write alone\n` +
          `  bound by ${availableParallelism()} cores (the side's CPU, ours + the broker's, spread over all of them): ` +
          `exactly-once ${ratio(median(cpu.eos.map(coreBound)), sink_)} at-least-once, ` +
          `copy ${ratio(median(cpu.copy.map(coreBound)), sink_)} the write alone`,
      );
    }
    console.log(`peak RSS ${mib(rss.peak)}`);
  } finally {
    await defaultShardWriterPool.closeAll();
    await closeAllClients();
    await releaseBroker();
    rss.stop();
  }
}

await main();
