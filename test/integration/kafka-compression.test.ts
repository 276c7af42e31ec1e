// Compressed topics on a real broker, both ways across Kafka's own (Java) codecs: lz4-java, snappy-java and zstd-jni
// in the broker. A topic whose compression.type names a codec makes the broker compress what it stores with it, so
// reading it decodes Java's bytes; a write compressed here to a gzip topic is decompressed by the broker (Java's
// decoder, every record) to be stored as gzip, so reading it back proves Java read ours.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { rejection } from "../assertions.js";
import { brokerBootstrap, createTopic, releaseBroker, uniqueTopic } from "../infra/fixtures.js";
import { Create, Pipeline } from "../../src/pipeline/index.js";
import { closeAllClients, registeredCompressionCodecs, type KafkaClient } from "../../src/kafka/client/index.js";
import { writeToKafka, type WriteRecord } from "../../src/kafka/write/index.js";
import { readClient, readTopic, runLocal, type ReadRecord } from "./kafka-write-helpers.js";

const s = suite("kafka compression: Java's codecs both ways", { timeoutMs: 60_000 });
let bootstrap = "";
let reader: KafkaClient;

s.before(async () => {
  bootstrap = await brokerBootstrap();
  reader = readClient(bootstrap);
});
s.after(async () => {
  await reader?.close();
  await closeAllClients();
  await releaseBroker();
});

const RECORDS = 2_000;

/** Deterministic bytes from i: text that compresses, noise that does not, and now and then 70 KB (several LZ4 blocks). */
function valueOf(i: number): Buffer {
  if (i % 400 === 7) return Buffer.concat([noise(i, 30_000), Buffer.alloc(20_000, i & 0xff), noise(i + 1, 20_000)]);
  if (i % 3 === 0) return Buffer.from(`value-${i} `.repeat(1 + (i % 60)));
  if (i % 3 === 1) return noise(i, (i * 37) % 1500);
  return Buffer.concat([Buffer.from(`v${i}`), noise(i, 8), Buffer.from(`v${i}`.repeat(5))]);
}

function noise(seed: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function write(topic: string, compression: string): Promise<void> {
  const records: WriteRecord<string, Buffer>[] = Array.from({ length: RECORDS }, (_, i) => ({
    topic,
    key: `key-${i % 10}`,
    value: valueOf(i),
    headers: [{ key: "i", value: String(i) }],
  }));
  const p = Pipeline.create();
  p.apply(Create.of(records)).apply(
    writeToKafka<string, Buffer>({
      producerConfig: { "bootstrap.servers": bootstrap, "compression.type": compression, "linger.ms": "5" },
      topic,
      keySerializer: "string",
      valueSerializer: "bytes",
      input: "record",
    }),
  );
  await runLocal(p);
}

/** Every record back once, with its key, value and header, whatever the partition. */
function assertExact(records: ReadRecord[]): void {
  assert.is(records.length, RECORDS);
  const byIndex = new Map(records.map((r) => [Number(r.headers[0]!.value!.toString()), r]));
  assert.is(byIndex.size, RECORDS);
  for (let i = 0; i < RECORDS; i++) {
    const r = byIndex.get(i);
    assert.ok(r, `record ${i} missing`);
    assert.is(r!.key!.toString(), `key-${i % 10}`);
    assert.ok(r!.value!.equals(valueOf(i)), `record ${i}: value differs`);
  }
}

for (const codec of ["snappy", "lz4", "zstd"]) {
  if (!registeredCompressionCodecs().includes(codec as "zstd")) {
    // Node < 22.15 has no zstd in zlib (CI runs 22 and 24): what a user of such a Node meets, both ways.
    s.test(`${codec}: without the codec in this Node, reads and writes fail naming the fix`, async () => {
      const topic = uniqueTopic(`java-${codec}`);
      await createTopic(bootstrap, topic, 2, { "compression.type": codec });
      await write(topic, "none");
      const read = await rejection(readTopic(reader, topic, "read_uncommitted"));
      assert.match(String(read), /a record batch is compressed with zstd: this Node \(v[0-9.]+\) has no zstd in zlib/);
      const written = await rejection(write(uniqueTopic(`ours-${codec}`), codec));
      assert.match(String(written), /compression\.type: zstd: this Node .*\(Node >= 22\.15 has\)/);
    });
    continue;
  }
  s.test(`${codec}: batches the broker compressed with Java's ${codec} read back exactly`, async () => {
    const topic = uniqueTopic(`java-${codec}`);
    await createTopic(bootstrap, topic, 2, { "compression.type": codec });
    await write(topic, "none");
    assertExact(await readTopic(reader, topic, "read_uncommitted"));
  });

  s.test(
    `${codec}: batches compressed here, decoded by the broker (Java) into a gzip topic, read back exactly`,
    async () => {
      const topic = uniqueTopic(`ours-${codec}`);
      await createTopic(bootstrap, topic, 2, { "compression.type": "gzip" });
      await write(topic, codec);
      assertExact(await readTopic(reader, topic, "read_uncommitted"));
      // Kept as written (compression.type=producer): read back through our own decoder.
      const kept = uniqueTopic(`kept-${codec}`);
      await createTopic(bootstrap, kept, 2, { "compression.type": "producer" });
      await write(kept, codec);
      assertExact(await readTopic(reader, kept, "read_uncommitted"));
    },
  );
}

s.run();
