// The broker hangs mid-read (its process frozen with SIGSTOP: connections open, nothing answers, as in a network
// partition or a long GC): fetches time out and are retried with backoff, the pipeline keeps running, and once the
// broker answers again the read continues where it was: nothing lost, nothing read twice. A private broker, since
// the shared one must not freeze under other test files.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { rejection } from "../assertions.js";
import { startBroker, type Broker } from "../infra/broker.js";
import { createTopic, testKafka, uniqueTopic } from "../infra/fixtures.js";
import { Pipeline } from "../../src/pipeline/index.js";
import { LocalRunner } from "../../src/runners/local/index.js";
import { readFromKafka, closeAllClients } from "../../src/kafka/index.js";
import {
  assertExactly,
  collectRows,
  produce,
  recordsFor,
  sleep,
  until,
  type SeenRecord,
} from "./kafka-read-helpers.js";

const s = suite("kafka read: the broker hangs mid-run", { timeoutMs: 120_000 });
let broker: Broker | undefined;
s.before(async () => {
  broker = await startBroker();
});
s.after(async () => {
  broker?.resume();
  await closeAllClients();
  await broker?.stop();
});

s.test("fetches time out and retry while the broker is frozen; the read then continues exactly", async () => {
  const bootstrap = broker!.bootstrap;
  const topic = uniqueTopic("read-pause");
  await createTopic(bootstrap, topic, 2);
  const kafka = testKafka(bootstrap);
  const before = recordsFor(2, 500, "a");
  await produce(kafka, topic, before);

  const seen: SeenRecord[] = [];
  const p = Pipeline.create();
  // Short timeouts so the frozen broker costs several timed-out requests, not one long wait.
  collectRows(
    p.apply(
      readFromKafka({
        consumerConfig: {
          "bootstrap.servers": bootstrap,
          "auto.offset.reset": "earliest",
          "request.timeout.ms": "1500",
          "retry.backoff.max.ms": "500",
        },
        topics: [topic],
        withMetadata: true,
        pollTimeoutMs: 500,
      }),
    ),
    seen,
  );
  const handle = p.run(new LocalRunner());
  try {
    await until(() => seen.length >= before.length, `${before.length} records before the pause`);
    broker!.pause();
    await sleep(6_000);
    assert.is(handle.state, "RUNNING", "the read survives a broker that does not answer for 6 s (4 request timeouts)");
    const during = seen.length;
    broker!.resume();

    const after = recordsFor(2, 500, "b");
    await produce(kafka, topic, after);
    await until(
      () => seen.length >= before.length + after.length,
      "the records produced after the broker came back",
      30_000,
    );
    await sleep(300); // a duplicate would show up here
    assert.is(during, before.length, "nothing was read while the broker was frozen");
    assertExactly(seen, [...before, ...after]);
  } finally {
    broker!.resume();
    await handle.cancel();
  }
});

s.test(
  "an outage longer than default.api.timeout.ms fails the pipeline with a clear Kafka error, not a hang",
  async () => {
    const bootstrap = broker!.bootstrap;
    const topic = uniqueTopic("read-outage");
    await createTopic(bootstrap, topic, 1);
    await produce(testKafka(bootstrap), topic, recordsFor(1, 100, "c"));
    const seen: SeenRecord[] = [];
    const p = Pipeline.create();
    collectRows(
      p.apply(
        readFromKafka({
          consumerConfig: {
            "bootstrap.servers": bootstrap,
            "auto.offset.reset": "earliest",
            "request.timeout.ms": "1000",
            "retry.backoff.max.ms": "200",
            "default.api.timeout.ms": "3000",
          },
          topics: [topic],
          withMetadata: true,
          pollTimeoutMs: 300,
        }),
      ),
      seen,
    );
    const handle = p.run(new LocalRunner());
    try {
      await until(() => seen.length >= 100, "100 records before the outage");
      broker!.pause();
      const failure = (await rejection(handle.waitUntilFinish(30_000))) as Error;
      console.log(`  outage error: ${failure.name}: ${failure.message.split("\n")[0]}`);
      assert.match(
        failure.message,
        new RegExp(`${bootstrap.replace(/\./g, "\\.")}|timed out|timeout`, "i"),
        failure.message,
      );
      assert.is(handle.state, "FAILED");
    } finally {
      broker!.resume();
      await handle.cancel().catch(() => undefined);
    }
  },
);

s.run();
