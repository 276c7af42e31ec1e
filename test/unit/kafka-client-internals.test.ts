// The one module that reaches into kafkajs's internals checks itself: with the kafkajs we pin every reach is there,
// and a kafkajs without them fails with a message naming what is missing (not a TypeError mid-pipeline).
import * as assert from "uvu/assert";
import { Kafka } from "kafkajs";
import { suite } from "../harness.js";
import { createInternalCluster, verifyKafkajsInternals } from "../../src/kafka/client/kafkajs-internals.js";
import { KafkaUnsupportedError } from "../../src/kafka/index.js";

const s = suite("kafkajs internals");

s.test("the pinned kafkajs has every internal the client reaches (checked without connecting)", async () => {
  await verifyKafkajsInternals();
});

s.test("a kafkajs without its private cluster factory, or with a cluster missing a method, is refused by name", () => {
  const options = { allowAutoTopicCreation: false, metadataMaxAge: 1000, isolationLevel: 0 as const };
  assert.throws(
    () => createInternalCluster({} as Kafka, options),
    (err: unknown) =>
      err instanceof KafkaUnsupportedError && /cluster layer \(kafkajs 2\.2\.x expected\)/.test(err.message),
  );
  const kafka = new Kafka({ brokers: ["127.0.0.1:9"] });
  const symbol = Object.getOwnPropertySymbols(kafka).find((x) => x.description === "private:Kafka:createCluster")!;
  const real = (kafka as unknown as Record<symbol, (o: unknown) => Record<string, unknown>>)[symbol]!;
  (kafka as unknown as Record<symbol, unknown>)[symbol] = (o: unknown) =>
    Object.assign(real(o), { findGroupCoordinator: undefined });
  assert.throws(
    () => createInternalCluster(kafka, options),
    (err: unknown) =>
      err instanceof KafkaUnsupportedError && /Cluster\.findGroupCoordinator is missing/.test(err.message),
  );
});

s.run();
