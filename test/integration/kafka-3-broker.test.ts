// The connector against a Kafka 3.9 cluster (the last 3.x line), as many production clusters and Confluent
// Platform 7 still run: older maximum request versions, no transactions v2 (the exactly-once write must speak v1),
// and, as a user meets it, a broker no consumer group has asked yet. The suite's broker is its own.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { startBroker, type Broker } from "../infra/broker.js";
import { createTopic, uniqueTopic } from "../infra/fixtures.js";
import { Create, ParDo, Pipeline } from "../../src/pipeline/index.js";
import { LocalRunner } from "../../src/runners/local/index.js";
import {
  closeAllClients,
  readFromKafka,
  writeToKafka,
  type KafkaRecordRow,
  type WriteRecord,
  type ExactlyOnceOptions,
} from "../../src/kafka/index.js";
import { readClient, readTopic } from "./kafka-write-helpers.js";

const s = suite("Kafka 3.9: reads and writes against a 3.x cluster", { timeoutMs: 120_000 });
let broker: Broker | undefined;
let bootstrap = "";
s.before(async () => {
  broker = await startBroker({ release: "3.x", warm: false });
  bootstrap = broker.bootstrap;
});
s.after(async () => {
  await closeAllClients();
  await broker?.stop();
});

/** A row as the test compares it: strings for bytes, headers as [key, value] pairs. */
interface Row {
  readonly partition: number;
  readonly offset: bigint;
  readonly key: string | null;
  readonly value: string | null;
  readonly timestamp: bigint;
  readonly type: string;
  readonly headers: [string, string | null][];
}

function describeRow(row: KafkaRecordRow): Row {
  const text = (bytes: Uint8Array | null) => (bytes === null ? null : Buffer.from(bytes).toString("utf8"));
  return {
    partition: row.partition,
    offset: row.offset,
    key: text(row.key),
    value: text(row.value),
    timestamp: row.timestamp,
    type: row.timestampTypeName,
    headers: (row.headers ?? []).map((h) => [h.key, text(h.value)]),
  };
}

/** Reads `topic` on the local runner, bounded by `bounds`, with its metadata. */
async function readRows(
  consumerConfig: Record<string, string>,
  topic: string,
  bounds: { maxNumRecords: number } | { stopAtEndOffsets: true },
): Promise<Row[]> {
  const rows: Row[] = [];
  const p = Pipeline.create();
  p.apply(
    readFromKafka({
      consumerConfig: { "bootstrap.servers": bootstrap, "auto.offset.reset": "earliest", ...consumerConfig },
      topics: [topic],
      withMetadata: true,
      commitOffsetsInFinalize: consumerConfig["group.id"] !== undefined,
      ...bounds,
    }),
  ).apply(
    "Collect",
    ParDo.of<KafkaRecordRow, never>({
      process(row) {
        rows.push(describeRow(row));
      },
    }),
  );
  assert.is(await p.run(new LocalRunner()).waitUntilFinish(60_000), "DONE");
  return rows;
}

/** Writes `records` (string keys and values) into `topic` on the local runner. */
async function writeStrings(
  records: readonly WriteRecord<string, string>[],
  topic: string,
  exactlyOnce?: ExactlyOnceOptions,
): Promise<void> {
  const p = Pipeline.create();
  p.apply(Create.of(records)).apply(
    writeToKafka<string, string>({
      producerConfig: { "bootstrap.servers": bootstrap },
      topic,
      keySerializer: "string",
      valueSerializer: "string",
      input: "record",
      ...(exactlyOnce ? { exactlyOnce } : {}),
    }),
  );
  assert.is(await p.run(new LocalRunner()).waitUntilFinish(90_000), "DONE");
}

s.test(
  "at-least-once: a topic nobody made gets every record with its headers, timestamp and tombstones; the first group commits after the read",
  async () => {
    const topic = uniqueTopic("k3-alo");
    const records: WriteRecord<string, string>[] = Array.from({ length: 300 }, (_, i) => ({
      key: `k${i % 7}`,
      value: i % 50 === 49 ? null : `v${i}`,
      timestamp: 1_600_000_000_000n + BigInt(i),
      headers: i % 3 === 0 ? [{ key: "n", value: String(i) }] : [],
    }));
    await writeStrings(records, topic);

    const group = `g-${topic}`;
    const rows = await readRows({ "group.id": group }, topic, { maxNumRecords: records.length });
    // One partition (the broker's default for a topic it makes): the records in the order they were written.
    assert.equal(
      rows,
      records.map((r, i) => ({
        partition: 0,
        offset: BigInt(i),
        key: r.key,
        value: r.value,
        timestamp: r.timestamp,
        type: "CreateTime",
        headers: (r.headers ?? []).map((h) => [h.key, h.value]),
      })),
    );
    const client = readClient(bootstrap);
    try {
      const [committed] = await client.fetchCommittedOffsets(group, [{ topic, partition: 0 }]);
      assert.is(committed?.offset, 300n, "the group's offset after the last record read");
    } finally {
      await client.close();
    }
  },
);

s.test(
  "exactly-once (transactions v1: 3.x has no transaction.version 2): each record once, per key in order; a read_committed read steps over the commit markers",
  async () => {
    const topic = uniqueTopic("k3-eos");
    await createTopic(bootstrap, topic, 3); // made by the user: the sink keeps shard i's sequence in partition i
    const count = 3_000;
    const records = Array.from({ length: count }, (_, i) => ({ key: `k${i % 30}`, value: String(i) }));
    const sinkGroupId = `sink-${topic}`;
    await writeStrings(records, topic, { numShards: 3, sinkGroupId });

    const client = readClient(bootstrap);
    try {
      const written = await readTopic(client, topic, "read_committed");
      assert.equal(
        written.map((r) => Number(r.value!.toString())).sort((a, b) => a - b),
        records.map((_, i) => i),
        "every record once",
      );
      const valuesByKey = new Map<string, number[]>();
      for (const r of written.sort((a, b) => a.partition - b.partition || Number(a.offset - b.offset))) {
        const key = r.key!.toString();
        valuesByKey.set(key, [...(valuesByKey.get(key) ?? []), Number(r.value!.toString())]);
      }
      for (const [key, values] of valuesByKey) {
        assert.equal(
          values,
          [...values].sort((a, b) => a - b),
          `${key}: in the order written`,
        );
      }
      const states = await client.fetchCommittedOffsets(
        sinkGroupId,
        [0, 1, 2].map((partition) => ({ topic, partition })),
      );
      for (const state of states)
        assert.ok((state?.offset ?? 0n) >= 1n, `a shard's sequence committed in the sink group: ${state?.offset}`);
    } finally {
      await client.close();
    }

    // The log holds a commit marker after each transaction's records: a read_committed read steps over them.
    const committed = await readRows({ "isolation.level": "read_committed" }, topic, { stopAtEndOffsets: true });
    assert.equal(
      committed.map((r) => Number(r.value)).sort((a, b) => a - b),
      records.map((_, i) => i),
    );

    // maxNumRecords takes its ranges by offset: the markers inside them are records it does not return, and it says so.
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (message: unknown) => void warnings.push(String(message));
    let bounded: Row[];
    try {
      bounded = await readRows({ "isolation.level": "read_committed" }, topic, { maxNumRecords: count });
    } finally {
      console.warn = warn;
    }
    const allocated = new Map<number, bigint>(); // partition → the end of its range: after its last offset read
    for (const r of bounded) allocated.set(r.partition, r.offset + 1n);
    const expected = committed.filter((r) => r.offset < (allocated.get(r.partition) ?? 0n));
    assert.equal(
      bounded.map((r) => r.value).sort(),
      expected.map((r) => r.value).sort(),
      "the committed records of each partition's range, once",
    );
    const short = count - bounded.length;
    assert.ok(short > 0, "commit markers sit inside the ranges of a 3-partition exactly-once topic");
    assert.ok(
      warnings.some((w) => /offset\(s\) of the read's range held no record .* max_num_records 3000/.test(w)),
      `a warning says why ${short} record(s) are missing: ${warnings.join(" | ")}`,
    );
  },
);

s.run();
