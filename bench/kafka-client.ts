// Consume throughput: our group-less fetch loop vs kafkajs's own group consumer, on the same topic in the same run.
// Usage: npx tsc -p . && node dist/bench/kafka-client.js [--records N] [--size B] [--rounds R]
// Uses KBT_BOOTSTRAP if set, else starts a throwaway broker (test/infra/broker.ts).
import { randomBytes } from "node:crypto";
import { brokerBootstrap, createTopic, releaseBroker } from "../test/infra/fixtures.js";
import { parseConsumerConfig, parseProducerConfig } from "../src/kafka/config/index.js";
import { createKafkaClient, createKafkaProducer } from "../src/kafka/client/index.js";
import { fmt, median, mib, numberFlag, PeakRss } from "./common.js";
import {
  consumeWithGroup,
  fetchAll,
  PARTITION_BYTES,
  PARTITIONS,
  produceRaw,
  readRate,
  recordsPerSend,
  sendInChunks,
  type ReadRate,
} from "./kafka-load.js";

const RECORDS = numberFlag("records", 1_000_000);
const SIZE = numberFlag("size", 100);
const ROUNDS = numberFlag("rounds", 3);
const PER_SEND = recordsPerSend(SIZE);

const rss = new PeakRss();

/** The same load through our KafkaProducer (acks=all, idempotent by default): PER_SEND-record produce() calls, 4 at once. */
async function produceOurs(bootstrap: string, topic: string, extra: Record<string, string>): Promise<number> {
  await createTopic(bootstrap, topic, PARTITIONS);
  const producer = createKafkaProducer(
    parseProducerConfig({ "bootstrap.servers": bootstrap, ...extra }, { logger: () => undefined }),
  );
  const value = randomBytes(SIZE);
  const started = performance.now();
  await sendInChunks(RECORDS, PER_SEND, (first, count) =>
    producer.produce(Array.from({ length: count }, (_, i) => ({ topic, partition: (first + i) % PARTITIONS, value }))),
  );
  await producer.flush();
  const seconds = (performance.now() - started) / 1000;
  await producer.close();
  return RECORDS / seconds;
}

async function main(): Promise<void> {
  const bootstrap = await brokerBootstrap();
  try {
    const topic = `bench-client-${Date.now().toString(36)}`;
    console.log(
      `kafka-client bench: ${RECORDS.toLocaleString("en")} records x ${SIZE} B, ${PARTITIONS} partitions, ${PARTITION_BYTES / 1048576} MiB per partition fetch, ${ROUNDS} rounds, node ${process.version}`,
    );
    await createTopic(bootstrap, topic, PARTITIONS);
    const produceRate = await produceRaw(bootstrap, topic, RECORDS, SIZE, "bench-producer");
    console.log(
      `produce (raw kafkajs, ${PER_SEND.toLocaleString("en")} per send, 4 in flight, acks=all): ${fmt(produceRate)} rec/s`,
    );
    const idempotent = await produceOurs(bootstrap, `${topic}-p1`, {});
    const plain = await produceOurs(bootstrap, `${topic}-p2`, { "enable.idempotence": "false" });
    console.log(
      `produce (our KafkaProducer, ${PER_SEND.toLocaleString("en")} per call, 4 calls at once, acks=all): idempotent ${fmt(idempotent)} rec/s, not idempotent ${fmt(plain)} rec/s`,
    );

    const client = createKafkaClient(
      parseConsumerConfig({ "bootstrap.servers": bootstrap, "client.id": "bench-ours" }, { logger: () => undefined }),
    );
    const consumeRaw = async (round: number) =>
      readRate(await consumeWithGroup(bootstrap, topic, RECORDS, `bench-raw-${topic}-${round}`, "bench-raw"), RECORDS);
    const consumeOurs = async () => readRate(await fetchAll(client, topic, RECORDS), RECORDS);
    const raw: ReadRate[] = [];
    const ours: ReadRate[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate the order so neither side always reads a warmer page cache or a fresher heap.
      if (round % 2 === 0) {
        raw.push(await consumeRaw(round));
        ours.push(await consumeOurs());
      } else {
        ours.push(await consumeOurs());
        raw.push(await consumeRaw(round));
      }
      const r = raw[raw.length - 1]!;
      const o = ours[ours.length - 1]!;
      if (r.bytes !== o.bytes) throw new Error(`value bytes differ: raw ${r.bytes}, ours ${o.bytes}`);
      console.log(
        `round ${round + 1}: raw ${fmt(r.rate)} rec/s (wall ${r.wall.toFixed(2)} s), ours ${fmt(o.rate)} rec/s (wall ${o.wall.toFixed(2)} s)`,
      );
    }
    await client.close();
    const rawRate = median(raw.map((r) => r.rate));
    const ourRate = median(ours.map((r) => r.rate));
    console.log(
      `median consume: raw kafkajs group consumer (eachBatch) ${fmt(rawRate)} rec/s; ours (group-less fetch) ${fmt(ourRate)} rec/s; ratio ours/raw ${(ourRate / rawRate).toFixed(2)}`,
    );
    console.log(`peak RSS ${mib(rss.peak)}`);
  } finally {
    rss.stop();
    await releaseBroker();
  }
}

await main();
