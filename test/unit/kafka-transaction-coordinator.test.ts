// The transaction coordinator's retries (src/kafka/client/transaction-coordinator.ts), against a fake cluster that
// answers with kafkajs's own protocol errors: CONCURRENT_TRANSACTIONS (the previous transaction's markers still being
// written) is asked again soon and of the same coordinator; a coordinator that moved is looked up again.
import * as assert from "uvu/assert";
import { createRequire } from "node:module";
import { suite } from "../harness.js";
import { parseProducerConfig } from "../../src/kafka/config/index.js";
import type { InternalBroker, InternalCluster } from "../../src/kafka/client/kafkajs-internals.js";
import { TransactionCoordinator } from "../../src/kafka/client/transaction-coordinator.js";

const s = suite("transaction coordinator retries");

/** The error kafkajs throws for a Kafka error code in a response. */
const { createErrorFromCode } = createRequire(import.meta.url)("kafkajs/src/protocol/error.js") as {
  createErrorFromCode(code: number): Error & { type: string };
};

function protocolError(type: string, code: number): Error {
  const err = createErrorFromCode(code);
  assert.is(err.type, type);
  return err;
}

/** A cluster whose coordinator fails AddPartitionsToTxn with `failures` (in order), then accepts it. */
function cluster(failures: Error[]) {
  const attempts: number[] = [];
  let lookups = 0;
  const broker = {
    addPartitionsToTxn: async () => {
      attempts.push(performance.now());
      const failure = failures.shift();
      if (failure) throw failure;
    },
  } as unknown as InternalBroker;
  const fake = {
    findGroupCoordinator: async () => {
      lookups++;
      return broker;
    },
  } as unknown as InternalCluster;
  return { fake, attempts, lookups: () => lookups };
}

function coordinator(fake: InternalCluster, backoffMs: number): TransactionCoordinator {
  const options = parseProducerConfig(
    { "bootstrap.servers": "127.0.0.1:9092", "transactional.id": "t", "retry.backoff.ms": String(backoffMs) },
    { logger: () => undefined },
  );
  return new TransactionCoordinator(fake, "t", options);
}

const id = { producerId: 7n, producerEpoch: 0 };

s.test(
  "CONCURRENT_TRANSACTIONS: asked again after 20 ms, then 40 (not the client's backoff), of the same coordinator",
  async () => {
    const c = cluster([protocolError("CONCURRENT_TRANSACTIONS", 51), protocolError("CONCURRENT_TRANSACTIONS", 51)]);
    // With retry.backoff.ms at 1 s, a wait of the client's backoff shows as a gap of >= 1 s.
    await coordinator(c.fake, 1000).addPartitions(id, [{ topic: "out", partition: 0 }]);
    assert.is(c.attempts.length, 3);
    const gaps = [c.attempts[1]! - c.attempts[0]!, c.attempts[2]! - c.attempts[1]!];
    assert.ok(gaps[0]! >= 15 && gaps[0]! < 500, `first gap ${gaps[0]} ms`);
    assert.ok(gaps[1]! >= 35 && gaps[1]! < 500, `second gap ${gaps[1]} ms`);
    assert.is(c.lookups(), 1, "the coordinator has not moved: not looked up again");
  },
);

s.test(
  "NOT_COORDINATOR (kafkajs: NOT_COORDINATOR_FOR_GROUP): the coordinator is looked up again, after the client's backoff",
  async () => {
    const c = cluster([protocolError("NOT_COORDINATOR_FOR_GROUP", 16)]);
    await coordinator(c.fake, 60).addPartitions(id, [{ topic: "out", partition: 0 }]);
    assert.is(c.attempts.length, 2);
    assert.ok(c.attempts[1]! - c.attempts[0]! >= 55, "the client's backoff");
    assert.is(c.lookups(), 2);
  },
);

s.run();
