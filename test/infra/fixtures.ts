// Fixtures for tests that use real services: the shared broker of the run, unique topics.
import { randomBytes } from "node:crypto";
import { Kafka, logLevel, type Admin } from "kafkajs";
import { startBroker, type Broker } from "./broker.js";
import { createKafkaClient } from "../../src/kafka/client/index.js";
import { parseConsumerConfig } from "../../src/kafka/config/index.js";

let ownBroker: Broker | undefined;

/**
 * The bootstrap address of the run's broker (KBT_BOOTSTRAP, set by test/runner.ts). A file run alone starts
 * its own broker; call `releaseBroker()` in an `after` hook to stop it.
 */
export async function brokerBootstrap(): Promise<string> {
  if (process.env.KBT_BOOTSTRAP) return process.env.KBT_BOOTSTRAP;
  ownBroker ??= await startBroker();
  return ownBroker.bootstrap;
}

/** The process id of the broker this file started (undefined under KBT_BOOTSTRAP: the runner's broker). */
export function ownBrokerPid(): number | undefined {
  return ownBroker?.pid;
}

export async function releaseBroker(): Promise<void> {
  await ownBroker?.stop();
  ownBroker = undefined;
}

export function uniqueTopic(prefix = "t"): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
}

export function testKafka(bootstrap: string, clientId = "kbt-test"): Kafka {
  return new Kafka({ brokers: [bootstrap], clientId, logLevel: logLevel.ERROR });
}

/** Creates a topic and waits until every partition has a leader. */
/** Creates `topic` with its leaders up; `config`: topic configs (e.g. compression.type). */
export async function createTopic(
  bootstrap: string,
  topic: string,
  partitions: number,
  config: Readonly<Record<string, string>> = {},
): Promise<void> {
  const configEntries = Object.entries(config).map(([name, value]) => ({ name, value }));
  await withAdmin(bootstrap, async (admin) => {
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1, configEntries }],
      waitForLeaders: true,
    });
  });
}

export async function withAdmin<T>(bootstrap: string, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = testKafka(bootstrap, "kbt-test-admin").admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Waits until the topic exists with a leader for every partition (e.g. once a pipeline's write created it). */
export async function awaitTopic(bootstrap: string, topic: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await withAdmin(bootstrap, async (admin) => {
    for (;;) {
      if ((await admin.listTopics()).includes(topic)) {
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
        if (topics[0]!.partitions.length > 0 && topics[0]!.partitions.every((p) => p.leader >= 0)) return;
      }
      if (Date.now() > deadline) throw new Error(`topic ${topic} does not exist after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });
}

/** A record as a test checks it: text key/value/headers (null when absent). */
export interface ConsumedRecord {
  readonly partition: number;
  readonly offset: bigint;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly timestamp: bigint;
}

/**
 * Reads a topic from the beginning (a throwaway group) until `count` records arrived, then `settleMs` more so that
 * records beyond the expected count are seen too: callers assert the exact list. Fails after `timeoutMs` naming
 * how many arrived.
 */
export async function consumeTopic(
  bootstrap: string,
  topic: string,
  count: number,
  options: { timeoutMs?: number; settleMs?: number; valueEncoding?: "utf8" | "hex" } = {},
): Promise<ConsumedRecord[]> {
  const records: ConsumedRecord[] = [];
  if (count === 0 && !options.settleMs) return records;
  // A pipeline's write creates its topic: a consumer subscribing before that fails instead of waiting.
  await awaitTopic(bootstrap, topic, options.timeoutMs ?? 60_000);
  const consumer = testKafka(bootstrap).consumer({ groupId: uniqueTopic("check") });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let reached: () => void = () => undefined;
    const enough = new Promise<void>((r) => {
      reached = r;
    });
    // A consumer group can deliver a record twice (a rebalance re-reads from its last commit): count each once, so
    // `count` means distinct records and the wait does not end before the last of them.
    const seen = new Set<string>();
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const id = `${partition}@${message.offset}`;
        if (seen.has(id)) return;
        seen.add(id);
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {}))
          if (value !== undefined) headers[name] = value.toString();
        records.push({
          partition,
          offset: BigInt(message.offset),
          key: message.key?.toString() ?? null,
          value: message.value?.toString(options.valueEncoding ?? "utf8") ?? null,
          headers,
          timestamp: BigInt(message.timestamp),
        });
        if (records.length >= count) reached();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = options.timeoutMs ?? 60_000;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${topic}: ${records.length} of ${count} records after ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([enough, timedOut]);
    } finally {
      clearTimeout(timer);
    }
    await new Promise((r) => setTimeout(r, options.settleMs ?? 300));
    return [...records];
  } finally {
    await consumer.disconnect();
  }
}

/**
 * Every record of a topic by partition, in offset order, up to the end offsets at the call: fetched by offset with
 * no consumer group (nothing skipped or delivered twice), for checks that must see each record exactly once.
 */
export async function readTopicByOffset(bootstrap: string, topic: string): Promise<Map<number, ConsumedRecord[]>> {
  const client = createKafkaClient(
    parseConsumerConfig({ "bootstrap.servers": bootstrap }, { logger: () => undefined }),
    { logger: () => undefined },
  );
  try {
    const partitions = (await client.partitionsFor([topic]))[0]?.partitions ?? [];
    const ends = await client.listOffsets(
      partitions.map((partition) => ({ topic, partition })),
      "latest",
    );
    const byPartition = new Map<number, ConsumedRecord[]>();
    for (const { partition, offset: end } of ends) {
      const records: ConsumedRecord[] = [];
      for (let next = 0n; next < end; ) {
        const result = await client.fetch(topic, partition, next, { maxWaitMs: 100 });
        for (const r of result.records) {
          if (r.offset >= end) break;
          const headers: Record<string, string> = {};
          for (const h of r.headers) headers[h.key] = h.value?.toString() ?? "";
          records.push({
            partition,
            offset: r.offset,
            key: r.key?.toString() ?? null,
            value: r.value?.toString() ?? null,
            headers,
            timestamp: r.timestamp,
          });
        }
        next = result.nextOffset > next ? result.nextOffset : next + 1n;
      }
      byPartition.set(partition, records);
    }
    return byPartition;
  } finally {
    await client.close();
  }
}
