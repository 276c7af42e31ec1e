// The native TypeScript API on the local runner against the real broker: readFromKafka → Map → writeToKafka.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import {
  brokerBootstrap,
  releaseBroker,
  consumeTopic,
  createTopic,
  uniqueTopic,
  testKafka,
} from "../infra/fixtures.js";
import { Pipeline, Map as MapT } from "../../src/pipeline/index.js";
import { LocalRunner } from "../../src/runners/local/index.js";
import { readFromKafka, writeToKafka, closeAllClients, type KafkaKV } from "../../src/kafka/index.js";

const s = suite("native API: readFromKafka → Map → writeToKafka on the local runner", { timeoutMs: 90_000 });
let bootstrap = "";
s.before(async () => {
  bootstrap = await brokerBootstrap();
});
s.after(async () => {
  await closeAllClients(); // the cached Kafka clients of the pipeline's DoFns
  await releaseBroker();
});

s.test("a bounded read of 3 unequal partitions transforms and writes every record exactly once", async () => {
  const input = uniqueTopic("native-in");
  const output = uniqueTopic("native-out");
  await createTopic(bootstrap, input, 3);
  await createTopic(bootstrap, output, 2);
  const producer = testKafka(bootstrap).producer();
  await producer.connect();
  await producer.send({
    topic: input,
    acks: -1,
    messages: Array.from({ length: 3000 }, (_, i) => ({
      key: `k${i}`,
      value: `v${i}`,
      partition: i % 6 === 0 ? 0 : i % 6 < 3 ? 1 : 2,
    })),
  });
  await producer.disconnect();

  const p = Pipeline.create();
  p.apply(
    readFromKafka<string, string>({
      consumerConfig: { "bootstrap.servers": bootstrap, "auto.offset.reset": "earliest" },
      topics: [input],
      keyDeserializer: "string",
      valueDeserializer: "string",
      maxNumRecords: 3000,
    }),
  )
    .apply(MapT((r: KafkaKV<string, string>) => ({ key: r.key, value: r.value!.toUpperCase() })))
    .apply(
      writeToKafka({
        producerConfig: { "bootstrap.servers": bootstrap },
        topic: output,
        keySerializer: "string",
        valueSerializer: "string",
      }),
    );
  const handle = p.run(new LocalRunner());
  assert.is(await handle.waitUntilFinish(60_000), "DONE");

  const written = await consumeTopic(bootstrap, output, 3000);
  assert.is(written.length, 3000);
  const seen = new Map(written.map((r) => [r.key, r.value]));
  for (let i = 0; i < 3000; i++) assert.is(seen.get(`k${i}`), `V${i}`);
});

s.run();
