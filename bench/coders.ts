// Coder throughput: what the Fn API data channel and the Kafka read spend per record.
//   windowed_value(kv(bytes, bytes)) in the global window (read without metadata: 16-byte key, 100-byte value)
//   the Kafka metadata row of ReadFromKafka with metadata (9 fields, 2 headers)
// Encode writes records back to back into one reused ByteWriter (reset every 1 MiB, as a data channel flushes);
// decode reads them back with one ByteReader. Prints records/s, the median of several runs after a warm-up.
// Each case runs in a child process of its own, so one case's JIT feedback and garbage do not slow the next.
//
//   npx tsc -p . && node dist/bench/coders.js [records=1000000] [runs=5] [case]
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  ByteReader,
  ByteWriter,
  bytesCoder,
  globalWindowCoder,
  kvCoder,
  rowCoder,
  windowedValueCoder,
  type Coder,
} from "../src/model/coders/index.js";
import { kafkaRecordRowSchema, type KafkaRecordRow } from "../src/kafka/index.js";
import { GLOBAL_WINDOW, NO_FIRING_PANE, type WindowedValue } from "../src/model/windowing.js";
import { median } from "./common.js";

const records = Number(process.argv[2] ?? 1_000_000);
const runs = Number(process.argv[3] ?? 5);
const only = process.argv[4];
const FLUSH_BYTES = 1 << 20;

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (seed * 31 + i * 7) & 0xff;
  return out;
}

function windowedKvs(n: number): WindowedValue<{ key: Uint8Array; value: Uint8Array }>[] {
  return Array.from({ length: n }, (_, i) => ({
    value: { key: bytes(16, i), value: bytes(100, i + 1) },
    timestamp: 1_764_460_800_000n + BigInt(i),
    windows: [GLOBAL_WINDOW],
    pane: NO_FIRING_PANE,
  }));
}

function kafkaRows(n: number): KafkaRecordRow[] {
  return Array.from({ length: n }, (_, i) => ({
    topic: "orders",
    partition: i % 12,
    offset: BigInt(1_000_000 + i),
    timestamp: 1_764_460_800_000n + BigInt(i),
    key: bytes(16, i),
    value: bytes(100, i + 1),
    headers: [
      { key: "trace-id", value: bytes(16, i + 2) },
      { key: "source", value: null },
    ],
    timestampTypeId: 0,
    timestampTypeName: "CreateTime",
  }));
}

interface Result {
  encodePerSecond: number;
  decodePerSecond: number;
  bytesPerRecord: number;
}

/**
 * Encodes a pool of distinct values cyclically, and decodes the pool's encoding (about 1-2 MiB, the size of a
 * data channel chunk) over and over: a realistic working set without building gigabytes first.
 */
function measure<T>(coder: Coder<T>, pool: readonly T[], n: number): Result {
  const writer = new ByteWriter(FLUSH_BYTES + 4096);
  const all = new ByteWriter(1 << 22);
  for (const value of pool) coder.encode(value, all, "nested");
  const encoded = all.finish();
  const passes = Math.max(1, Math.round(n / pool.length));
  const total = passes * pool.length;
  const reader = new ByteReader();
  const encodeRates: number[] = [];
  const decodeRates: number[] = [];
  for (let run = -1; run < runs; run++) {
    let t0 = process.hrtime.bigint();
    writer.reset();
    for (let i = 0; i < total; i++) {
      coder.encode(pool[i % pool.length]!, writer, "nested");
      if (writer.length >= FLUSH_BYTES) writer.reset();
    }
    let seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (run >= 0) encodeRates.push(total / seconds);

    t0 = process.hrtime.bigint();
    let decoded = 0;
    for (let pass = 0; pass < passes; pass++) {
      reader.reset(encoded);
      while (!reader.atEnd) if (coder.decode(reader, "nested") !== null) decoded++;
    }
    seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (decoded !== total) throw new Error(`decoded ${decoded} of ${total} records`);
    if (run >= 0) decodeRates.push(total / seconds);
  }
  return {
    encodePerSecond: median(encodeRates),
    decodePerSecond: median(decodeRates),
    bytesPerRecord: encoded.length / pool.length,
  };
}

function report(name: string, r: Result): void {
  const k = (x: number) => `${Math.round(x / 1000).toLocaleString("en-US")}k`;
  const mb = (x: number) => ((x * r.bytesPerRecord) / (1 << 20)).toFixed(0);
  console.log(
    `${name.padEnd(48)} ${r.bytesPerRecord.toFixed(0).padStart(4)} B/rec   encode ${k(r.encodePerSecond).padStart(7)} rec/s (${mb(r.encodePerSecond)} MiB/s)` +
      `   decode ${k(r.decodePerSecond).padStart(7)} rec/s (${mb(r.decodePerSecond)} MiB/s)`,
  );
}

const CASES: Record<string, () => Result> = {
  "windowed_value(kv(bytes,bytes)), global window": () =>
    measure(windowedValueCoder(kvCoder(bytesCoder, bytesCoder), globalWindowCoder), windowedKvs(10_000), records),
  "row: Kafka record with metadata (9 fields)": () =>
    measure(rowCoder(kafkaRecordRowSchema()), kafkaRows(10_000), records),
};

if (only !== undefined) {
  const run = CASES[only];
  if (!run) throw new Error(`unknown case ${only}; cases: ${Object.keys(CASES).join(" | ")}`);
  report(only, run());
} else {
  console.log(
    `coders bench: ${records.toLocaleString("en-US")} records per run, median of ${runs} runs, Node ${process.version}`,
  );
  for (const name of Object.keys(CASES)) {
    const output = execFileSync(
      process.execPath,
      [fileURLToPath(import.meta.url), String(records), String(runs), name],
      {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    process.stdout.write(output);
  }
}
