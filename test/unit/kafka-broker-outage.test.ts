// What a broker restart looks like to the client layer, without a broker: kafkajs's connection errors (also when an
// outer kafkajs retrier wrapped an inner one's surrender as non-retriable) and its "no coordinator" are retriable,
// and an exactly-once shard writer retries a batch whose transaction failed for such a reason with a new producer,
// while other failures still fail the batch at once. The real broker restarts are in
// test/integration/broker-restart.test.ts.
import * as assert from "uvu/assert";
import kafkajs from "kafkajs";
import { suite } from "../harness.js";
import { lostConnection, toKafkaError } from "../../src/kafka/client/kafkajs-errors.js";
import { KafkaAuthenticationError, KafkaClientError, isRetriableKafkaError } from "../../src/kafka/errors.js";
import { ShardWriter, writeSpecFromOptions, type ShardOffsetsClient } from "../../src/kafka/write/index.js";
import { parseProducerConfig } from "../../src/kafka/config/index.js";
import type { GroupOffset, KafkaProducer, KafkaTransaction, ProducerRecord } from "../../src/kafka/client/index.js";

const {
  KafkaJSConnectionError,
  KafkaJSConnectionClosedError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSGroupCoordinatorNotFound,
  KafkaJSSASLAuthenticationError,
} = kafkajs as unknown as Record<string, new (e: unknown, o?: Record<string, unknown>) => Error>;

const s = suite("kafka client: a broker outage is retriable");

const refused = () =>
  new KafkaJSConnectionError!("Connection error: connect ECONNREFUSED 127.0.0.1:9", {
    broker: "127.0.0.1:9",
    code: "ECONNREFUSED",
  });
/** What kafkajs's producer threw when the broker restarted: its send retrier wrapping the cluster's surrender. */
const gaveUp = (cause: Error) => {
  const exhausted = new KafkaJSNumberOfRetriesExceeded!(cause, { retryCount: 5, retryTime: 1000, cause });
  return new KafkaJSNonRetriableError!(exhausted, { cause });
};

s.test("lostConnection: refused or closed connections, directly or anywhere in the cause chain; nothing else", () => {
  assert.ok(lostConnection(refused()));
  assert.ok(lostConnection(new KafkaJSConnectionClosedError!("Closed connection", { host: "h", port: 1 })));
  assert.ok(lostConnection(gaveUp(refused())));
  assert.ok(lostConnection(toKafkaError(gaveUp(refused()), { what: "produce" })), "also once wrapped as ours");
  assert.not.ok(lostConnection(new KafkaJSSASLAuthenticationError!("SASL PLAIN authentication failed: bad")));
  assert.not.ok(lostConnection(gaveUp(new Error("something else"))));
  assert.not.ok(lostConnection(undefined));
  const loop: { name: string; cause?: unknown } = { name: "Error" };
  loop.cause = loop;
  assert.not.ok(lostConnection(loop), "a cause cycle ends the walk");
});

s.test("toKafkaError: a kafkajs retrier that gave up on a connection is a retriable connection error", () => {
  const mapped = toKafkaError(gaveUp(refused()), { what: "produce" });
  assert.instance(mapped, KafkaClientError);
  assert.ok(mapped.retriable, "retriable");
  assert.is(mapped.message, "produce: Connection error: connect ECONNREFUSED 127.0.0.1:9");
  // A non-retriable error wrapped the same way stays non-retriable.
  const other = new KafkaJSNonRetriableError!(new Error("Invalid topic"));
  assert.not.ok(toKafkaError(other, { what: "produce" }).retriable);
  assert.instance(
    toKafkaError(new KafkaJSSASLAuthenticationError!("SASL PLAIN authentication failed: bad"), { what: "connect" }),
    KafkaAuthenticationError,
  );
});

s.test(
  "toKafkaError: kafkajs's 'Failed to find group coordinator' is Kafka's retriable COORDINATOR_NOT_AVAILABLE",
  () => {
    const mapped = toKafkaError(new KafkaJSGroupCoordinatorNotFound!("Failed to find group coordinator"), {
      what: "commit transaction",
    }) as KafkaClientError;
    assert.ok(mapped.retriable);
    assert.is(mapped.kafkaErrorType, "COORDINATOR_NOT_AVAILABLE");
    assert.is(mapped.message, "commit transaction: Failed to find group coordinator");
    // The same, as a transactional send meets it: wrapped by kafkajs's retrier as non-retriable.
    const lookup = new KafkaJSGroupCoordinatorNotFound!("Failed to find group coordinator");
    const wrapped = new KafkaJSNonRetriableError!(lookup, { cause: lookup });
    const inSend = toKafkaError(wrapped, { what: "produce in transaction" }) as KafkaClientError;
    assert.ok(inSend.retriable, "retried by the exactly-once writer");
    assert.is(inSend.kafkaErrorType, "COORDINATOR_NOT_AVAILABLE");
  },
);

// ---- the exactly-once shard writer ----

/** Committed records and group offsets of one in-memory "cluster"; a producer's commit fails while `failures` > 0. */
class Log {
  readonly records: string[] = [];
  readonly offsets = new Map<string, { offset: bigint; metadata: string | null }>();
  producers: { closed: boolean }[] = [];

  constructor(
    public failures: number,
    readonly failure: () => Error,
  ) {}

  offsetsClient(): ShardOffsetsClient {
    return {
      commitOffsets: async () => undefined,
      fetchCommittedOffsets: async (groupId, parts) =>
        (parts as { topic: string; partition: number }[]).map(({ topic, partition }) => {
          const c = this.offsets.get(`${groupId}/${topic}/${partition}`);
          return { topic, partition, offset: c?.offset ?? null, metadata: c?.metadata ?? null };
        }),
    };
  }

  producer(options: KafkaProducer["options"]): KafkaProducer {
    const state = { closed: false };
    this.producers.push(state);
    return {
      options,
      produce: async () => undefined,
      flush: async () => undefined,
      partitionsFor: async () => [0, 1, 2, 3],
      close: async () => {
        state.closed = true;
      },
      beginTransaction: async (): Promise<KafkaTransaction> => {
        const pending: string[] = [];
        const offsets: { groupId: string; offsets: readonly GroupOffset[] }[] = [];
        return {
          produce: async (records: readonly ProducerRecord[]) => {
            pending.push(...records.map((r) => String(r.value)));
          },
          sendOffsets: async (groupId, list) => {
            offsets.push({ groupId, offsets: list });
          },
          commit: async () => {
            if (this.failures > 0) {
              this.failures--;
              throw this.failure();
            }
            this.records.push(...pending);
            for (const { groupId, offsets: list } of offsets)
              for (const o of list)
                this.offsets.set(`${groupId}/${o.topic}/${o.partition}`, {
                  offset: o.offset,
                  metadata: o.metadata ?? null,
                });
          },
          abort: async () => undefined,
        };
      },
    };
  }
}

function writer(log: Log, extra: Record<string, string> = {}): ShardWriter {
  const spec = writeSpecFromOptions({
    producerConfig: { "bootstrap.servers": "127.0.0.1:9092" },
    topic: "out",
    exactlyOnce: { numShards: 4, sinkGroupId: "sink" },
  }).exactlyOnce!;
  const options = parseProducerConfig(
    {
      "bootstrap.servers": "127.0.0.1:9092",
      "transactional.id": "kbt-sink-sink-2",
      "retry.backoff.ms": "10",
      ...extra,
    },
    { logger: () => undefined },
  );
  return new ShardWriter(spec, 2, options, { createProducer: (o) => log.producer(o), offsets: log.offsetsClient() });
}

const records = (n: number): ProducerRecord[] =>
  Array.from({ length: n }, (_, i) => ({ topic: "out", key: null, value: Buffer.from(`r${i}`) }));

s.test(
  "shard writer: a commit that fails for want of the broker is retried with a new producer, once written",
  async () => {
    const log = new Log(2, () => toKafkaError(gaveUp(refused()), { what: "commit transaction" }));
    const w = writer(log);
    assert.equal(await w.writeBatch("b/0", "3:x", records(3)), { kind: "committed", seq: 1n, records: 3 });
    assert.equal(log.records, ["r0", "r1", "r2"]);
    assert.is(log.producers.length, 3, "two failed attempts, each producer discarded, and the one that committed");
    assert.equal(
      log.producers.map((p) => p.closed),
      [true, true, false],
    );
    await w.close();
  },
);

s.test("shard writer: a failure that is not retriable fails the batch at once (the runner retries)", async () => {
  const log = new Log(1, () => new Error("injected: not a Kafka error"));
  const w = writer(log);
  await w.writeBatch("b/0", "3:x", records(3)).then(
    () => assert.unreachable("the batch was written"),
    (err: unknown) => assert.not.ok(isRetriableKafkaError(err), String(err)),
  );
  assert.is(log.producers.length, 1);
  assert.equal(log.records, []);
  await w.close();
});

s.test("shard writer: retries end at delivery.timeout.ms with the last error", async () => {
  const log = new Log(Number.POSITIVE_INFINITY, () => toKafkaError(refused(), { what: "commit transaction" }));
  const w = writer(log, { "delivery.timeout.ms": "400", "request.timeout.ms": "300", "linger.ms": "0" });
  const started = Date.now();
  await w.writeBatch("b/0", "3:x", records(3)).then(
    () => assert.unreachable("the batch was written"),
    (err: unknown) => assert.match(String(err), /ECONNREFUSED/),
  );
  const took = Date.now() - started;
  assert.ok(took >= 150 && took < 2_000, `gave up after ${took} ms`);
  assert.ok(log.producers.length >= 3, `${log.producers.length} attempts`);
  assert.equal(log.records, []);
  await w.close();
});

s.run();
