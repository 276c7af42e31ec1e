// Write throughput: writeToKafka through the local runner vs the raw kafkajs producer, same records, same run.
// Usage: npx tsc -p . && node dist/bench/kafka-write.js [--records N] [--sizes 100,1000] [--rounds R]
//          [--eos-records N] [--eos-shards S] [--producer-config k=v,...] [--skip raw,sink,eos]
// Uses KBT_BOOTSTRAP if set, else starts a throwaway broker (test/infra/broker.ts).
//
// Each round, for each record size, writes N records with a null key and a random value of that size into a fresh
// 4-partition topic (acks=all), alternating:
//   raw   kafkajs producer.send, 5,000 records per send (fewer for big records, <= 2 MB per send), 4 sends in flight,
//         records spread over the partitions (explicit partition i % 4)
//   sink  Impulse → a DoFn emitting N KV<null, bytes> → writeToKafka (at-least-once; producer defaults: idempotent,
//         linger.ms 5, batch.size 1 MiB), timed from run() to the pipeline's end (every record acknowledged)
//   eos   the same pipeline with exactlyOnce (S shards → GroupByKey → one transaction per shard); --eos-records of them
// Every topic is then checked to hold exactly the number of records written.
import { randomBytes } from "node:crypto";
import { brokerBootstrap, createTopic, releaseBroker } from "../test/infra/fixtures.js";
import { parseConsumerConfig } from "../src/kafka/config/index.js";
import { closeAllClients, createKafkaClient } from "../src/kafka/client/index.js";
import { Impulse, ParDo, Pipeline, type DoFn } from "../src/pipeline/index.js";
import { LocalRunner } from "../src/runners/local/index.js";
import { defaultShardWriterPool, writeToKafka } from "../src/kafka/write/index.js";
import { flag, fmt, median, mib, numberFlag, PeakRss } from "./common.js";
import { PARTITIONS, produceRaw } from "./kafka-load.js";

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

let topicCounter = 0;
async function newTopic(bootstrap: string, what: string): Promise<string> {
  const topic = `bench-write-${what}-${Date.now().toString(36)}-${topicCounter++}`;
  await createTopic(bootstrap, topic, PARTITIONS);
  return topic;
}

/** Emits `records` KV<null, bytes> for the impulse, with backpressure from downstream. */
function generator(records: number, size: number): DoFn<Uint8Array, { key: null; value: Buffer }> {
  return {
    async process(_impulse, context) {
      const value = randomBytes(size);
      for (let i = 0; i < records; i++) {
        const pending = context.output({ key: null, value });
        if (pending) await pending;
      }
    },
  };
}

async function sink(bootstrap: string, topic: string, records: number, size: number, eos: boolean): Promise<number> {
  const p = Pipeline.create();
  p.apply(new Impulse())
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
  const handle = p.run(new LocalRunner());
  const state = await handle.waitUntilFinish(600_000);
  if (state !== "DONE") throw new Error(`pipeline ended ${state}`);
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
      const rates = { raw: [] as number[], sink: [] as number[], eos: [] as number[] };
      const eosRecords = EOS_RECORDS ?? RECORDS;
      for (let round = 0; round < ROUNDS; round++) {
        const rawTopic = await newTopic(bootstrap, "raw");
        rates.raw.push(SKIP.has("raw") ? NaN : await produceRaw(bootstrap, rawTopic, RECORDS, size, "bench-raw"));
        const sinkTopic = await newTopic(bootstrap, "sink");
        rates.sink.push(SKIP.has("sink") ? NaN : await sink(bootstrap, sinkTopic, RECORDS, size, false));
        const eosTopic = await newTopic(bootstrap, "eos");
        rates.eos.push(SKIP.has("eos") ? NaN : await sink(bootstrap, eosTopic, eosRecords, size, true));
        const counts = [
          SKIP.has("raw") ? RECORDS : await count(bootstrap, rawTopic, "read_uncommitted"),
          SKIP.has("sink") ? RECORDS : await count(bootstrap, sinkTopic, "read_uncommitted"),
          SKIP.has("eos") ? eosRecords : await count(bootstrap, eosTopic, "read_committed"),
        ];
        if (counts[0] !== RECORDS || counts[1] !== RECORDS || counts[2] !== eosRecords)
          throw new Error(`record counts ${counts.join("/")} differ from what was written`);
        console.log(
          `  ${size} B round ${round + 1}: raw ${fmt(rates.raw[round]!)}  sink ${fmt(rates.sink[round]!)} (${(rates.sink[round]! / rates.raw[round]!).toFixed(2)}x)  ` +
            `eos ${fmt(rates.eos[round]!)} rec/s (${fmt(eosRecords)} records, ${(rates.eos[round]! / rates.sink[round]!).toFixed(2)}x sink)`,
        );
      }
      const raw_ = median(rates.raw);
      const sink_ = median(rates.sink);
      const eos_ = median(rates.eos);
      console.log(
        `${size} B median: raw kafkajs ${fmt(raw_)} rec/s | writeToKafka ${fmt(sink_)} rec/s = ${(sink_ / raw_).toFixed(2)}x raw | ` +
          `exactly-once ${fmt(eos_)} rec/s = ${(eos_ / sink_).toFixed(2)}x at-least-once`,
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
