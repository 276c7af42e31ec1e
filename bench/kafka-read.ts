// ReadFromKafka through the local runner vs the raw clients, on the same topic in the same run: our group-less
// KafkaClient.fetch loop and kafkajs's own group consumer. Peak RSS is sampled per phase.
// Usage: npx tsc -p . && node --expose-gc dist/bench/kafka-read.js [--records N] [--sizes 100,1024] [--rounds R]
// Uses KBT_BOOTSTRAP if set, else starts a throwaway broker (test/infra/broker.ts).
import { brokerBootstrap, createTopic, releaseBroker } from "../test/infra/fixtures.js";
import { parseConsumerConfig } from "../src/kafka/config/index.js";
import { createKafkaClient, type KafkaClient } from "../src/kafka/client/index.js";
import { readFromKafka, closeAllClients, type KafkaKV } from "../src/kafka/index.js";
import { ParDo, Pipeline } from "../src/pipeline/index.js";
import { LocalRunner } from "../src/runners/local/index.js";
import { flag, fmt, median, mib, numberFlag, PeakRss } from "./common.js";
import {
  consumeWithGroup,
  fetchAll,
  PARTITION_BYTES,
  PARTITIONS,
  produceRaw,
  readRate,
  type ReadRate,
  type ReadTiming,
} from "./kafka-load.js";

const RECORDS = numberFlag("records", 1_000_000);
const SIZES = flag("sizes", "100,1024").split(",").map(Number);
const ROUNDS = numberFlag("rounds", 3);

const rss = new PeakRss(50);

interface Result extends ReadRate {
  /** peak RSS during this phase, and RSS when it started */
  readonly peakRss: number;
  readonly startRss: number;
}

async function measured(run: () => Promise<ReadTiming>): Promise<Result> {
  (globalThis as { gc?: () => void }).gc?.();
  const startRss = rss.restart();
  const timing = await run();
  return { ...readRate(timing, RECORDS), peakRss: rss.peak, startRss };
}

function consumeKafkajs(bootstrap: string, topic: string, round: number): Promise<Result> {
  return measured(() =>
    consumeWithGroup(bootstrap, topic, RECORDS, `bench-read-${topic}-${round}`, "bench-read-kafkajs"),
  );
}

function consumeFetch(client: KafkaClient, topic: string): Promise<Result> {
  return measured(() => fetchAll(client, topic, RECORDS));
}

/** readFromKafka (bounded at the end offsets) → a ParDo that counts: the native API on the local runner. */
function consumePipeline(bootstrap: string, topic: string): Promise<Result> {
  return measured(async () => {
    let first = 0;
    let count = 0;
    let bytes = 0;
    const p = Pipeline.create();
    p.apply(
      readFromKafka({
        consumerConfig: {
          "bootstrap.servers": bootstrap,
          "auto.offset.reset": "earliest",
          "max.partition.fetch.bytes": String(PARTITION_BYTES),
        },
        topics: [topic],
        stopAtEndOffsets: true,
      }),
    ).apply(
      "Count",
      ParDo.of({
        process(kv: KafkaKV) {
          if (first === 0) first = performance.now();
          bytes += kv.value?.length ?? 0;
          count++;
        },
      }),
    );
    const started = performance.now();
    const state = await p.run(new LocalRunner()).waitUntilFinish();
    const end = performance.now();
    if (state !== "DONE" || count !== RECORDS)
      throw new Error(`pipeline ended ${state} after ${count} records, expected ${RECORDS}`);
    await closeAllClients();
    return { first, end, started, bytes };
  });
}

async function benchSize(bootstrap: string, size: number): Promise<void> {
  const topic = `bench-read-${size}-${Date.now().toString(36)}`;
  await createTopic(bootstrap, topic, PARTITIONS);
  const produceRate = await produceRaw(bootstrap, topic, RECORDS, size, "bench-read-producer");
  console.log(`\n${fmt(RECORDS)} records x ${size} B (produced at ${fmt(produceRate)} rec/s)`);
  const client = createKafkaClient(
    parseConsumerConfig(
      { "bootstrap.servers": bootstrap, "client.id": "bench-read-fetch" },
      { logger: () => undefined },
    ),
  );
  const runs: Record<"pipeline" | "fetch" | "kafkajs", Result[]> = { pipeline: [], fetch: [], kafkajs: [] };
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order so no side always reads a warmer page cache or a fresher heap.
    const order = (["pipeline", "fetch", "kafkajs"] as const).map((_, i, all) => all[(i + round) % all.length]!);
    for (const which of order) {
      const result =
        which === "pipeline"
          ? await consumePipeline(bootstrap, topic)
          : which === "fetch"
            ? await consumeFetch(client, topic)
            : await consumeKafkajs(bootstrap, topic, round);
      runs[which].push(result);
    }
    const bytes = new Set(Object.values(runs).map((r) => r[r.length - 1]!.bytes));
    if (bytes.size !== 1) throw new Error(`value bytes differ between the readers: ${[...bytes].join(", ")}`);
    console.log(
      `round ${round + 1}: ${(["pipeline", "fetch", "kafkajs"] as const)
        .map((w) => {
          const r = runs[w][round]!;
          return `${w} ${fmt(r.rate)} rec/s (wall ${r.wall.toFixed(2)} s, peak RSS ${mib(r.peakRss)} from ${mib(r.startRss)})`;
        })
        .join("; ")}`,
    );
  }
  await client.close();
  const rate = (w: keyof typeof runs) => median(runs[w].map((r) => r.rate));
  const wall = (w: keyof typeof runs) => median(runs[w].map((r) => r.wall));
  const rss = (w: keyof typeof runs) => Math.max(...runs[w].map((r) => r.peakRss));
  console.log(
    `median: pipeline ${fmt(rate("pipeline"))} rec/s, raw fetch ${fmt(rate("fetch"))} rec/s, raw kafkajs ${fmt(rate("kafkajs"))} rec/s`,
  );
  console.log(
    `ratio pipeline/fetch ${(rate("pipeline") / rate("fetch")).toFixed(2)}, pipeline/kafkajs ${(rate("pipeline") / rate("kafkajs")).toFixed(2)}; ` +
      `by wall time pipeline/fetch ${(wall("fetch") / wall("pipeline")).toFixed(2)}, pipeline/kafkajs ${(wall("kafkajs") / wall("pipeline")).toFixed(2)}`,
  );
  console.log(
    `peak RSS per phase: pipeline ${mib(rss("pipeline"))}, fetch ${mib(rss("fetch"))}, kafkajs ${mib(rss("kafkajs"))}`,
  );
}

async function main(): Promise<void> {
  const bootstrap = await brokerBootstrap();
  try {
    console.log(
      `kafka-read bench: ${fmt(RECORDS)} records, sizes ${SIZES.join(", ")} B, ${PARTITIONS} partitions, ${PARTITION_BYTES / 1048576} MiB per partition fetch, ${ROUNDS} rounds, node ${process.version}`,
    );
    for (const size of SIZES) await benchSize(bootstrap, size);
  } finally {
    rss.stop();
    await releaseBroker();
  }
}

await main();
