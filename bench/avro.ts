// The AVRO format of the managed/YAML Kafka transforms: our Avro binary decode and encode (rows as the row coder
// carries them: INT64 as bigint, maps as Map, timestamps as bigint ms) beside avsc (the common JavaScript Avro
// library; longs as numbers, maps as objects), and beside our JSON format for the same rows, in the same run.
// Records/s per format step (what one worker core does per record value), median of the rounds.
// Usage: npx tsc -p . && node dist/bench/avro.js [--records N] [--rounds R]
import avsc from "avsc";
import {
  avroBytesToRow,
  jsonBytesToRow,
  parseAvroSchema,
  parseJsonSchema,
  rowToAvroBytes,
  rowToJsonBytes,
} from "../src/kafka/schematransform/index.js";
import { fmt, median, numberFlag, ratio } from "./common.js";

const RECORDS = numberFlag("records", 200_000);
const ROUNDS = numberFlag("rounds", 5);

/** A click-stream event: the shape many topics carry (~100 bytes of Avro). */
const AVRO_SCHEMA = {
  type: "record",
  name: "Event",
  fields: [
    { name: "id", type: "long" },
    { name: "user", type: "string" },
    { name: "kind", type: { type: "enum", name: "Kind", symbols: ["VIEW", "CLICK", "BUY"] } },
    { name: "at", type: { type: "long", logicalType: "timestamp-millis" } },
    { name: "price", type: ["null", "double"] },
    { name: "tags", type: { type: "array", items: "string" } },
    { name: "attrs", type: { type: "map", values: "string" } },
  ],
};
const JSON_SCHEMA = {
  type: "object",
  required: ["id", "user", "kind", "at"],
  properties: {
    id: { type: "integer" },
    user: { type: "string" },
    kind: { type: "string" },
    at: { type: "integer" },
    price: { type: "number" },
    tags: { type: "array", items: { type: "string" } },
  },
};

function ourRow(i: number): Record<string, unknown> {
  return {
    id: BigInt(i),
    user: `user-${(i * 7919) % 10007}`,
    kind: ["VIEW", "CLICK", "BUY"][i % 3],
    at: 1_764_000_000_000n + BigInt(i),
    price: i % 4 === 0 ? null : i / 7,
    tags: i % 2 ? ["a", "bb"] : [],
    attrs: new Map(i % 3 ? [["src", "web"]] : []),
  };
}

/** The same event as avsc takes it (numbers for longs, a Date-free long, an object for the map). */
function avscRecord(i: number): Record<string, unknown> {
  const row = ourRow(i);
  return {
    ...row,
    id: i,
    at: 1_764_000_000_000 + i,
    attrs: Object.fromEntries(row.attrs as Map<string, string>),
  };
}

/** Records/s of fn over every input, the median of ROUNDS after one warm-up round. */
function rate<T>(inputs: readonly T[], fn: (input: T) => unknown): number {
  const rates: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    const t0 = performance.now();
    for (const input of inputs) fn(input);
    if (round > 0) rates.push(inputs.length / ((performance.now() - t0) / 1000));
  }
  return median(rates);
}

function main(): void {
  const ours = parseAvroSchema(JSON.stringify(AVRO_SCHEMA));
  const theirs = avsc.Type.forSchema(AVRO_SCHEMA as avsc.Schema);
  const json = parseJsonSchema(JSON.stringify(JSON_SCHEMA));
  const rows = Array.from({ length: RECORDS }, (_, i) => ourRow(i));
  const records = Array.from({ length: RECORDS }, (_, i) => avscRecord(i));
  const encoded = rows.map((row) => rowToAvroBytes(row, ours));
  // The two encoders agree byte for byte (else the comparison means nothing).
  for (let i = 0; i < 1000; i++) {
    if (!Buffer.from(encoded[i]!).equals(theirs.toBuffer(records[i]))) throw new Error(`record ${i}: encodings differ`);
  }
  const jsonRows = rows.map(({ attrs: _attrs, ...rest }) => rest);
  const jsonEncoded = jsonRows.map((row) => rowToJsonBytes(row));
  const bytes = encoded.reduce((n, b) => n + b.length, 0) / RECORDS;
  const jsonBytes = jsonEncoded.reduce((n, b) => n + b.length, 0) / RECORDS;

  const decodeOurs = rate(encoded, (b) => avroBytesToRow(b, ours));
  const decodeAvsc = rate(encoded, (b) => theirs.fromBuffer(Buffer.from(b.buffer, b.byteOffset, b.byteLength)));
  const decodeJson = rate(jsonEncoded, (b) => jsonBytesToRow(b, json));
  const encodeOurs = rate(rows, (row) => rowToAvroBytes(row, ours));
  const encodeAvsc = rate(records, (record) => theirs.toBuffer(record));
  const encodeJson = rate(jsonRows, (row) => rowToJsonBytes(row));

  console.log(
    `node ${process.version}, ${fmt(RECORDS)} events (Avro ${bytes.toFixed(0)} B, JSON ${jsonBytes.toFixed(0)} B), median of ${ROUNDS}`,
  );
  console.log("| records/s | ours (AVRO) | avsc | ours / avsc | ours (JSON format) |");
  console.log("|---|---|---|---|---|");
  console.log(
    `| decode | ${fmt(decodeOurs)} | ${fmt(decodeAvsc)} | ${ratio(decodeOurs, decodeAvsc)} | ${fmt(decodeJson)} |`,
  );
  console.log(
    `| encode | ${fmt(encodeOurs)} | ${fmt(encodeAvsc)} | ${ratio(encodeOurs, encodeAvsc)} | ${fmt(encodeJson)} |`,
  );
}

main();
