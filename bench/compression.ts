// Kafka's codecs: ours (lz4 and snappy in TypeScript) beside Node's native zlib (gzip, zstd), in the same run.
//   codecs  compress / decompress MB/s and size ratio on records sections of 16 KiB and 1 MiB (JSON-like text, as
//           topics mostly carry, and random bytes)
//   read    our fetch loop over 1M x ~100 B JSON-like records from topics the broker compressed with Java's codecs
//           (topic compression.type), against the same records uncompressed: records/s from the start, and the ratio
// Usage: npx tsc -p . && node dist/bench/compression.js [--records N] [--rounds R] [--skip read]
// Uses KBT_BOOTSTRAP if set, else starts a throwaway broker (test/infra/broker.ts).
import zlib from "node:zlib";
import { brokerBootstrap, createTopic, releaseBroker, uniqueTopic } from "../test/infra/fixtures.js";
import { parseConsumerConfig, parseProducerConfig } from "../src/kafka/config/index.js";
import { closeAllClients, createKafkaClient, createKafkaProducer } from "../src/kafka/client/index.js";
import { lz4Compress, lz4Decompress, snappyCompress, snappyDecompress } from "../src/kafka/client/compression/index.js";
import { flag, fmt, median, numberFlag, ratio } from "./common.js";
import { fetchAll, PARTITIONS, readRate, sendInChunks } from "./kafka-load.js";

const RECORDS = numberFlag("records", 1_000_000);
const ROUNDS = numberFlag("rounds", 3);
const SKIP = new Set(flag("skip", "").split(","));
const quiet = (): void => undefined;

type Codec = { compress: (b: Buffer) => Buffer; decompress: (b: Buffer) => Buffer };
const z = zlib as unknown as Record<string, (b: Buffer) => Buffer>;
const CODECS: Record<string, Codec | undefined> = {
  "gzip (zlib)": { compress: (b) => zlib.gzipSync(b), decompress: (b) => zlib.gunzipSync(b) },
  "zstd (zlib)": z.zstdCompressSync && {
    compress: (b) => z.zstdCompressSync!(b),
    decompress: (b) => z.zstdDecompressSync!(b),
  },
  "lz4 (ours)": { compress: lz4Compress, decompress: lz4Decompress },
  "snappy (ours)": { compress: snappyCompress, decompress: snappyDecompress },
};

/** A JSON-like record value of about 100 bytes, different per i (what most topics carry). */
function jsonValue(i: number): string {
  return `{"id":${i},"user":"user-${(i * 7919) % 10007}","event":"${["view", "click", "buy"][i % 3]}","ts":${1_700_000_000_000 + i * 13}}`;
}

function section(bytes: number, kind: "json" | "random"): Buffer {
  if (kind === "random") return Buffer.from(Array.from({ length: bytes }, () => (Math.random() * 256) | 0));
  const parts: string[] = [];
  for (let i = 0, size = 0; size < bytes; i++) {
    parts.push(jsonValue(i));
    size += parts[parts.length - 1]!.length + 8;
  }
  return Buffer.from(parts.join("\n")).subarray(0, bytes);
}

/** MB/s of fn over `input`, repeated to ~64 MiB, the median of ROUNDS. */
function throughput(input: Buffer, fn: (b: Buffer) => unknown, bytes: number): number {
  const repeats = Math.max(1, Math.round((64 << 20) / bytes));
  const rates: number[] = [];
  for (let round = 0; round < ROUNDS + 1; round++) {
    const t0 = performance.now();
    for (let i = 0; i < repeats; i++) fn(input);
    if (round > 0) rates.push((repeats * bytes) / 1e6 / ((performance.now() - t0) / 1000));
  }
  return median(rates);
}

function codecs(): void {
  console.log("codec            | section        | compress MB/s | decompress MB/s | size");
  for (const size of [16 << 10, 1 << 20]) {
    for (const kind of ["json", "random"] as const) {
      const input = section(size, kind);
      for (const [name, codec] of Object.entries(CODECS)) {
        if (!codec) continue;
        const packed = codec.compress(input);
        if (!codec.decompress(packed).equals(input)) throw new Error(`${name}: round trip differs`);
        console.log(
          `${name.padEnd(16)} | ${`${size >> 10} KiB ${kind}`.padEnd(14)} | ${fmt(throughput(input, codec.compress, size)).padStart(13)} | ` +
            `${fmt(throughput(packed, codec.decompress, size)).padStart(15)} | ${(packed.length / size).toFixed(3)}`,
        );
      }
    }
  }
}

async function read(): Promise<void> {
  const bootstrap = await brokerBootstrap();
  const client = createKafkaClient(parseConsumerConfig({ "bootstrap.servers": bootstrap }, { logger: quiet }), {
    logger: quiet,
  });
  const producer = createKafkaProducer(parseProducerConfig({ "bootstrap.servers": bootstrap }, { logger: quiet }), {
    logger: quiet,
  });
  const values = Array.from({ length: 4096 }, (_, i) => Buffer.from(jsonValue(i)));
  const rates: Record<string, number[]> = {};
  for (const compression of ["none", "lz4", "snappy", "zstd", "gzip"]) {
    // The broker compresses what it stores with Java's codec, as a topic written by Java producers would hold.
    const topic = uniqueTopic(`bench-${compression}`);
    await createTopic(bootstrap, topic, PARTITIONS, {
      "compression.type": compression === "none" ? "uncompressed" : compression,
    });
    await sendInChunks(RECORDS, 5_000, (first, count) =>
      producer.produce(
        Array.from({ length: count }, (_, i) => ({
          topic,
          partition: (first + i) % PARTITIONS,
          key: null,
          value: values[(first + i) & 4095]!,
        })),
      ),
    );
    rates[compression] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // From the start: the first fetch of a compressed topic may hold a good part of it.
      rates[compression]!.push(RECORDS / readRate(await fetchAll(client, topic, RECORDS), RECORDS).wall);
    }
    const rate = median(rates[compression]!);
    console.log(
      `read ${compression.padEnd(6)}: ${fmt(rate)} records/s (${ratio(rate, median(rates.none!))} uncompressed)`,
    );
  }
  await producer.close();
  await client.close();
  await closeAllClients();
  await releaseBroker();
}

codecs();
if (!SKIP.has("read")) await read();
