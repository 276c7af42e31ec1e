// Fixtures for tests that use real services: the shared broker of the run, unique topics.
import { randomBytes } from "node:crypto";
import { Kafka, logLevel, type Admin } from "kafkajs";
import { startBroker, type Broker } from "./broker.js";

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
export async function createTopic(bootstrap: string, topic: string, partitions: number): Promise<void> {
  await withAdmin(bootstrap, async (admin) => {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
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
