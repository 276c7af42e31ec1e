// Consume throughput: our group-less fetch loop vs kafkajs's own group consumer, on the same topic in the same run.
// Usage: npx tsc -p . && node dist/bench/kafka-client.js [--records N] [--size B] [--rounds R]
// Uses KBT_BOOTSTRAP if set, else starts a throwaway broker (test/infra/broker.ts).
import { randomBytes } from "node:crypto";
import kafkajs from "kafkajs";
import { startBroker, type Broker } from "../test/infra/broker.js";
import { parseConsumerConfig, parseProducerConfig } from "../src/kafka/config/index.js";
import { createKafkaClient, createKafkaProducer, type KafkaClient } from "../src/kafka/client/index.js";

const { Kafka, logLevel } = kafkajs;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const RECORDS = arg("records", 1_000_000);
const SIZE = arg("size", 100);
const ROUNDS = arg("rounds", 3);
const PARTITIONS = 4;
const PARTITION_BYTES = 4 * 1024 * 1024;
// 5,000 records per send for small records; fewer for large ones so each partition's batch stays under the
// broker's 1 MiB message.max.bytes.
const PER_SEND = Math.min(5_000, Math.floor(2_000_000 / SIZE));

let peakRss = 0;
const rssTimer = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 100);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function createTopic(bootstrap: string, topic: string): Promise<void> {
  const kafka = new Kafka({ brokers: [bootstrap], clientId: "bench-admin", logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
}

async function produce(bootstrap: string, topic: string): Promise<number> {
  await createTopic(bootstrap, topic);
  const kafka = new Kafka({ brokers: [bootstrap], clientId: "bench-producer", logLevel: logLevel.ERROR });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const value = randomBytes(SIZE);
  const perSend = PER_SEND;
  const inFlight = 4;
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < RECORDS) {
      const first = next;
      next += perSend;
      const count = Math.min(perSend, RECORDS - first);
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: count }, (_, i) => ({ partition: (first + i) % PARTITIONS, value })),
      });
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  await producer.disconnect();
  return RECORDS / seconds;
}

/** The same load through our KafkaProducer (acks=all, idempotent by default): PER_SEND-record produce() calls, 4 at once. */
async function produceOurs(bootstrap: string, topic: string, extra: Record<string, string>): Promise<number> {
  await createTopic(bootstrap, topic);
  const producer = createKafkaProducer(parseProducerConfig({ "bootstrap.servers": bootstrap, ...extra }, { logger: () => undefined }));
  const value = randomBytes(SIZE);
  const perCall = PER_SEND;
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < RECORDS) {
      const first = next;
      next += perCall;
      const count = Math.min(perCall, RECORDS - first);
      await producer.produce(Array.from({ length: count }, (_, i) => ({ topic, partition: (first + i) % PARTITIONS, value })));
    }
  }));
  await producer.flush();
  const seconds = (performance.now() - started) / 1000;
  await producer.close();
  return RECORDS / seconds;
}

interface ConsumeResult {
  /** records/s from the first record to the last */
  readonly rate: number;
  /** seconds from start (connect/join included) to the last record */
  readonly wall: number;
  readonly bytes: number;
}

async function consumeRaw(bootstrap: string, topic: string, round: number): Promise<ConsumeResult> {
  const kafka = new Kafka({ brokers: [bootstrap], clientId: "bench-raw", logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({
    groupId: `bench-raw-${topic}-${round}`,
    maxBytesPerPartition: PARTITION_BYTES,
    maxBytes: PARTITION_BYTES * PARTITIONS,
    readUncommitted: true,
  });
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
  return { rate: RECORDS / ((end - first) / 1000), wall: (end - started) / 1000, bytes };
}

async function consumeOurs(client: KafkaClient, topic: string): Promise<ConsumeResult> {
  const started = performance.now();
  let first = 0;
  let count = 0;
  let bytes = 0;
  const [ends] = [await client.listOffsets(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition })), "latest")];
  // One loop per partition, one fetch in flight each; the client merges them into one request per broker.
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
  if (count !== RECORDS) throw new Error(`read ${count} records, expected ${RECORDS}`);
  return { rate: RECORDS / ((end - first) / 1000), wall: (end - started) / 1000, bytes };
}

async function main(): Promise<void> {
  let broker: Broker | undefined;
  const bootstrap = process.env.KBT_BOOTSTRAP ?? (broker = await startBroker()).bootstrap;
  try {
    const topic = `bench-client-${Date.now().toString(36)}`;
    console.log(`kafka-client bench: ${RECORDS.toLocaleString("en")} records x ${SIZE} B, ${PARTITIONS} partitions, ${PARTITION_BYTES / 1048576} MiB per partition fetch, ${ROUNDS} rounds, node ${process.version}`);
    const produceRate = await produce(bootstrap, topic);
    console.log(`produce (raw kafkajs, ${PER_SEND.toLocaleString("en")} per send, 4 in flight, acks=all): ${Math.round(produceRate).toLocaleString("en")} rec/s`);
    const idempotent = await produceOurs(bootstrap, `${topic}-p1`, {});
    const plain = await produceOurs(bootstrap, `${topic}-p2`, { "enable.idempotence": "false" });
    console.log(`produce (our KafkaProducer, ${PER_SEND.toLocaleString("en")} per call, 4 calls at once, acks=all): idempotent ${Math.round(idempotent).toLocaleString("en")} rec/s, not idempotent ${Math.round(plain).toLocaleString("en")} rec/s`);

    const client = createKafkaClient(parseConsumerConfig({ "bootstrap.servers": bootstrap, "client.id": "bench-ours" }, { logger: () => undefined }));
    const raw: ConsumeResult[] = [];
    const ours: ConsumeResult[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate the order so neither side always reads a warmer page cache or a fresher heap.
      if (round % 2 === 0) {
        raw.push(await consumeRaw(bootstrap, topic, round));
        ours.push(await consumeOurs(client, topic));
      } else {
        ours.push(await consumeOurs(client, topic));
        raw.push(await consumeRaw(bootstrap, topic, round));
      }
      const r = raw[raw.length - 1]!;
      const o = ours[ours.length - 1]!;
      if (r.bytes !== o.bytes) throw new Error(`value bytes differ: raw ${r.bytes}, ours ${o.bytes}`);
      console.log(`round ${round + 1}: raw ${Math.round(r.rate).toLocaleString("en")} rec/s (wall ${r.wall.toFixed(2)} s), ours ${Math.round(o.rate).toLocaleString("en")} rec/s (wall ${o.wall.toFixed(2)} s)`);
    }
    await client.close();
    const rawRate = median(raw.map((r) => r.rate));
    const ourRate = median(ours.map((r) => r.rate));
    console.log(`median consume: raw kafkajs group consumer (eachBatch) ${Math.round(rawRate).toLocaleString("en")} rec/s; ours (group-less fetch) ${Math.round(ourRate).toLocaleString("en")} rec/s; ratio ours/raw ${(ourRate / rawRate).toFixed(2)}`);
    console.log(`peak RSS ${(peakRss / 1048576).toFixed(0)} MiB`);
  } finally {
    clearInterval(rssTimer);
    await broker?.stop();
  }
}

await main();
