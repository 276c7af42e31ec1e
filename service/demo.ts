// `demo`: the README's main job. With no --bootstrap it starts the project's own local Kafka broker.
import { Kafka, logLevel } from "kafkajs";

export interface DemoOptions {
  readonly bootstrap?: string;
  readonly records: number;
}

export async function runDemo(options: DemoOptions, log: (line: string) => void): Promise<void> {
  let stopBroker: (() => Promise<void>) | undefined;
  let bootstrap = options.bootstrap;
  if (!bootstrap) {
    log("demo: starting a local Kafka broker (first run resolves its jars from Maven Central)...");
    // The local broker is a development tool: loaded only when needed, so images without it still run `demo --bootstrap`.
    const { startBroker } = await import("../test/infra/broker.js");
    const t0 = Date.now();
    const broker = await startBroker();
    stopBroker = () => broker.stop();
    bootstrap = broker.bootstrap;
    log(`demo: broker ready at ${bootstrap} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const kafka = new Kafka({ brokers: [bootstrap], clientId: "kafka-beam-ts-demo", logLevel: logLevel.ERROR });
  const topic = `demo-${Date.now().toString(36)}`;
  const admin = kafka.admin();
  const producer = kafka.producer();
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
    await producer.connect();
    const messages = Array.from({ length: options.records }, (_, i) => ({
      key: `user-${i % 3}`,
      value: JSON.stringify({ seq: i, event: i % 2 ? "click" : "view" }),
      partition: i % 2,
    }));
    await producer.send({ topic, acks: -1, messages });
    log(`demo: wrote ${messages.length} records to ${topic}`);
    for (const partition of [0, 1]) {
      const offsets = await admin.fetchTopicOffsets(topic);
      const high = offsets.find((o) => o.partition === partition)?.high;
      log(`demo: partition ${partition} holds offsets [0, ${high})`);
    }
    const consumer = kafka.consumer({ groupId: `${topic}-reader` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let seen = 0;
    await new Promise<void>((done) => {
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          log(`  p${partition}@${message.offset} ${message.key?.toString()} → ${message.value?.toString()}`);
          if (++seen === messages.length) done();
        },
      });
    });
    await consumer.disconnect();
    log(`demo: read back ${seen} records`);
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await stopBroker?.();
  }
}
