// The ordering rule of our producer's partition queues, without a broker: several batches in flight in order; a
// failure stops the partition until every batch in flight has answered, then it resends from the first
// unacknowledged batch with the same sequence numbers; a new producer id renumbers from 0.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { Batch, PartitionQueue, type ProducerIdentity } from "../../src/kafka/client/partition-queue.js";

const s = suite("kafka producer partition queue");
const ID: ProducerIdentity = { producerId: 7n, producerEpoch: 0, generation: 1, transactional: false };
const NEW_ID: ProducerIdentity = { producerId: 8n, producerEpoch: 0, generation: 2, transactional: false };

async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("expected a rejection");
}

/** A queue with `sizes.length` sealed batches of that many records each. */
function queueOf(...sizes: number[]): { queue: PartitionQueue; batches: Batch[] } {
  const queue = new PartitionQueue("t", 0);
  const batches = sizes.map((n) => {
    queue.open = new Batch();
    for (let i = 0; i < n; i++) queue.open.add({ topic: "t", value: `v${i}` }, 10);
    const batch = queue.open;
    queue.seal();
    return batch;
  });
  return { queue, batches };
}

/** Takes what may go now, in order, as the sender does. */
function sendable(queue: PartitionQueue, identity: ProducerIdentity | undefined, limit = 5, now = 0): Batch[] {
  const sent: Batch[] = [];
  for (let batch = queue.next(now, limit); batch; batch = queue.next(now, limit)) {
    queue.take(batch, identity);
    sent.push(batch);
  }
  return sent;
}

s.test("batches go in order, up to the limit in flight, numbered by the partition's sequence", () => {
  const { queue, batches } = queueOf(3, 2, 4);
  assert.equal(sendable(queue, ID, 2), [batches[0], batches[1]]);
  assert.equal(
    batches.slice(0, 2).map((b) => b.producer.baseSequence),
    [0, 3],
  );
  queue.acknowledged(batches[0]!);
  assert.equal(sendable(queue, ID, 2), [batches[2]]);
  assert.is(batches[2]!.producer.baseSequence, 5);
  assert.equal([batches[2]!.producer.producerId, batches[2]!.producer.producerEpoch], [7n, 0]);
});

s.test("a failure waits for the batches in flight, then resends from the first with the same sequences", async () => {
  const { queue, batches } = queueOf(1, 1, 1);
  sendable(queue, ID);
  batches[0]!.encoded = Buffer.from("bytes of batch 0");
  queue.retry(batches[0]!, 100); // e.g. NOT_LEADER_OR_FOLLOWER
  assert.is(queue.next(200, 5), undefined, "batches 1 and 2 are still in flight");
  queue.retry(batches[1]!, 100); // OUT_OF_ORDER_SEQUENCE_NUMBER: the gap batch 0 left
  queue.retry(batches[2]!, 100);
  assert.is(queue.next(50, 5), undefined, "not before the backoff");
  assert.equal(sendable(queue, ID, 5, 200), batches, "all three again, in order");
  assert.equal(
    batches.map((b) => b.producer.baseSequence),
    [0, 1, 2],
  );
  assert.is(batches[0]!.encoded?.toString(), "bytes of batch 0", "a resend reuses the encoded bytes");
  for (const b of batches) queue.acknowledged(b);
  await Promise.all(batches.map((b) => b.done));
  assert.is(queue.unacked.length, 0);
  assert.is(queue.inFlight, 0);
});

s.test(
  "a batch that fails for good is rejected; the ones after it go again under a new producer id, from 0",
  async () => {
    const { queue, batches } = queueOf(2, 3);
    sendable(queue, ID);
    queue.fail(batches[0]!, new Error("MESSAGE_TOO_LARGE"));
    queue.retry(batches[1]!, 0); // OUT_OF_ORDER_SEQUENCE_NUMBER behind the failed batch
    const again = sendable(queue, NEW_ID);
    assert.equal(again, [batches[1]]);
    assert.equal([batches[1]!.producer.producerId, batches[1]!.producer.baseSequence], [8n, 0]);
    assert.is(batches[1]!.encoded, undefined, "renumbered, so encoded again");
    assert.is(await rejection(batches[0]!.done), "MESSAGE_TOO_LARGE");
  },
);

s.test("without idempotence nothing is numbered; failWaiting rejects what is not in flight", async () => {
  const { queue, batches } = queueOf(1, 1);
  queue.open = new Batch();
  queue.open.add({ topic: "t", value: "open" }, 10);
  const open = queue.open;
  assert.equal(sendable(queue, undefined, 1), [batches[0]]);
  assert.is(batches[0]!.producer.baseSequence, -1);
  queue.failWaiting(new Error("no producer id"));
  assert.is(await rejection(batches[1]!.done), "no producer id");
  assert.is(await rejection(open.done), "no producer id");
  assert.equal(queue.unacked, [batches[0]], "the batch in flight waits for its answer");
});

s.run();
