import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { brokerBootstrap, releaseBroker, createTopic, uniqueTopic, testKafka } from "../infra/fixtures.js";

const s = suite("broker test bed", { timeoutMs: 120_000 });
let bootstrap = "";
s.before(async () => {
  bootstrap = await brokerBootstrap();
});
s.after(releaseBroker);

s.test("kafkajs: 10,000 records with keys, values and headers round-trip over 3 partitions in order", async () => {
  const topic = uniqueTopic("roundtrip");
  await createTopic(bootstrap, topic, 3);
  const kafka = testKafka(bootstrap);
  const producer = kafka.producer();
  await producer.connect();
  const total = 10_000;
  const sent = Array.from({ length: total }, (_, i) => ({
    key: `key-${i % 97}`,
    value: `value-${i}`,
    partition: i % 3,
    headers: { seq: String(i), origin: "broker.test" },
  }));
  for (let i = 0; i < total; i += 1000) {
    await producer.send({ topic, acks: -1, messages: sent.slice(i, i + 1000) });
  }
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: `g-${topic}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = new Map<number, { offset: string; key: string; value: string; seq: string; origin: string }[]>();
  let count = 0;
  const done = new Promise<void>((resolveDone) => {
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        const list = seen.get(partition) ?? [];
        list.push({
          offset: message.offset,
          key: message.key!.toString(),
          value: message.value!.toString(),
          seq: message.headers!.seq!.toString(),
          origin: message.headers!.origin!.toString(),
        });
        seen.set(partition, list);
        if (++count === total) resolveDone();
      },
    });
  });
  await done;
  await consumer.disconnect();

  assert.equal([...seen.keys()].sort(), [0, 1, 2]);
  for (const [partition, records] of seen) {
    const expected = sent.filter((m) => m.partition === partition);
    assert.is(records.length, expected.length, `partition ${partition} count`);
    records.forEach((r, i) => {
      const m = expected[i]!;
      assert.equal(r, { offset: String(i), key: m.key, value: m.value, seq: m.headers.seq, origin: "broker.test" });
    });
  }
});

s.run();
