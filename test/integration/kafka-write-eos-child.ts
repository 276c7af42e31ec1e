// A worker that dies mid-transaction, for kafka-write-eos.test.ts: runs the exactly-once write of the parent's
// records; shard `hangShard`'s producer sends its batch inside the transaction and then waits (its transaction open)
// until the parent SIGKILLs this process. Other shards commit normally.
// Usage: node kafka-write-eos-child.js <bootstrap> <topic> <sinkGroupId> <numShards> <records> <hangShard>
import { createKafkaProducer, type KafkaProducer, type KafkaTransaction } from "../../src/kafka/client/index.js";
import { Create, Pipeline, kv } from "../../src/pipeline/index.js";
import { LocalRunner } from "../../src/runners/local/index.js";
import { writeToKafka } from "../../src/kafka/write/index.js";

const [bootstrap, topic, sinkGroupId, numShards, records, hangShard] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const quiet = (): void => undefined;

// Printed once shard `hangShard` has sent (transaction open) and every other shard has committed: the parent then
// kills a worker with both committed and open work, so the retry has to skip some shards and re-do one.
let sent = "";
let othersCommitted = 0;
function reportWhenReady(): void {
  if (sent && othersCommitted === Number(numShards) - 1) process.stdout.write(`SENT ${sent}\n`);
}

function hangingAfterSend(real: KafkaProducer): KafkaProducer {
  const id = real.options.transactionalId ?? "";
  const hangs = id.endsWith(`-${hangShard}`);
  return {
    options: real.options,
    produce: (r) => real.produce(r),
    flush: () => real.flush(),
    partitionsFor: (topic) => real.partitionsFor(topic),
    close: () => real.close(),
    async beginTransaction(): Promise<KafkaTransaction> {
      const txn = await real.beginTransaction();
      return {
        async produce(batch) {
          await txn.produce(batch);
          if (!hangs) return;
          sent = id;
          reportWhenReady();
          await new Promise(() => undefined); // the worker freezes here until it is killed
        },
        sendOffsets: (g, o) => txn.sendOffsets(g, o),
        async commit() {
          await txn.commit();
          othersCommitted++;
          reportWhenReady();
        },
        abort: () => txn.abort(),
      };
    },
  };
}

const p = Pipeline.create();
p.apply(Create.of(Array.from({ length: Number(records) }, (_, i) => kv(`key-${i % 500}`, `value-${i}`)))).apply(
  writeToKafka<string, string>({
    // Far longer than the test: only the retry's fencing can end the open transaction in time.
    producerConfig: { "bootstrap.servers": bootstrap, "transaction.timeout.ms": "300000" },
    topic,
    keySerializer: "string",
    valueSerializer: "string",
    exactlyOnce: { numShards: Number(numShards), sinkGroupId },
    environment: {
      logger: quiet,
      createProducer: (options) => hangingAfterSend(createKafkaProducer(options, { logger: quiet })),
    },
  }),
);
await p.run(new LocalRunner()).waitUntilFinish(120_000);
process.stdout.write("FINISHED\n"); // never reached: the parent kills this process first
