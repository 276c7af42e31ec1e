// The AVRO format of the Kafka SchemaTransforms: schemas mapped as Java's AvroUtils maps them, the binary encoding
// checked against the specification's own examples and hand-made blocks, and rows written and read back.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import {
  AvroFormatError,
  avroBytesToRow,
  avroRecordOfRowSchema,
  avroRowSchema,
  avroSchemaJson,
  parseAvroSchema,
  rowToAvroBytes,
  type AvroRecord,
} from "../../src/kafka/schematransform/index.js";
import { rng } from "./sdf-prng.js";
import { fieldTypeKind, schema, array, map, nullable, row, type FieldType } from "../../src/model/schema.js";

const s = suite("kafka avro format");

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const bytes = (text: string) => Buffer.from(text.replace(/\s+/g, ""), "hex");

function typeText(type: FieldType): string {
  const k = fieldTypeKind(type);
  const base =
    k.kind === "atomic"
      ? ["BYTE", "INT16", "INT32", "INT64", "FLOAT", "DOUBLE", "STRING", "BOOLEAN", "BYTES"][k.atomic - 1]!
      : k.kind === "array"
        ? `ARRAY<${typeText(k.element)}>`
        : k.kind === "map"
          ? `MAP<${typeText(k.key)},${typeText(k.value)}>`
          : k.kind === "row"
            ? `ROW(${k.schema.fields.map((f) => `${f.name} ${typeText(f.type)}`).join(", ")})`
            : k.kind === "logical"
              ? k.logical.urn
              : k.kind;
  return type.nullable ? `${base}?` : base;
}

function expectAvroError(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (err) {
    assert.instance(err, AvroFormatError);
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable("expected an AvroFormatError");
}

const EVENT = JSON.stringify({
  type: "record",
  name: "Event",
  namespace: "com.example",
  fields: [
    { name: "id", type: "long" },
    { name: "count", type: "int" },
    { name: "ok", type: "boolean" },
    { name: "ratio", type: "float" },
    { name: "score", type: "double" },
    { name: "name", type: ["null", "string"], default: null },
    { name: "payload", type: "bytes" },
    { name: "kind", type: { type: "enum", name: "Kind", symbols: ["CLICK", "VIEW"] } },
    { name: "at", type: { type: "long", logicalType: "timestamp-millis" } },
    { name: "price", type: { type: "bytes", logicalType: "decimal", precision: 9, scale: 2 } },
    { name: "day", type: { type: "int", logicalType: "date" } },
    { name: "tags", type: { type: "array", items: "string" } },
    { name: "attrs", type: { type: "map", values: ["long", "null"] } },
    {
      name: "address",
      type: ["null", { type: "record", name: "Address", fields: [{ name: "city", type: "string" }] }],
    },
    { name: "previous", type: ["null", "Address"] },
    { name: "otherKind", type: "com.example.Kind" },
    { name: "md5", type: { type: "fixed", name: "MD5", size: 4 } },
    {
      name: "exact",
      type: { type: "fixed", name: "Exact", size: 6, logicalType: "decimal", precision: 12, scale: 3 },
    },
  ],
});

/** A row of EVENT with every kind of value (nulls, non-ASCII, negative decimals, a map with a null). */
function eventRow(): Record<string, unknown> {
  return {
    id: 1234567890123n,
    count: -7,
    ok: true,
    ratio: 0.5,
    score: Math.PI,
    name: null,
    payload: Buffer.from([0, 255, 7]),
    kind: "VIEW",
    at: 1_764_000_000_123n,
    price: { unscaled: -12345n, scale: 2 },
    day: 20_000n,
    tags: ["a", "ü"],
    attrs: new Map<string, bigint | null>([
      ["x", 1n],
      ["y", null],
    ]),
    address: { city: "Zürich" },
    previous: null,
    otherKind: "CLICK",
    md5: Buffer.from([1, 2, 3, 4]),
    exact: { unscaled: -1234567n, scale: 3 },
  };
}

s.test("schemas map as Java's AvroUtils: primitives, nullable unions, logical types, nested and named types", () => {
  const record = parseAvroSchema(EVENT);
  assert.is(record.name, "com.example.Event");
  assert.equal(
    avroRowSchema(record).fields.map((f) => `${f.name} ${typeText(f.type)}`),
    [
      "id INT64",
      "count INT32",
      "ok BOOLEAN",
      "ratio FLOAT",
      "score DOUBLE",
      "name STRING?",
      "payload BYTES",
      "kind STRING",
      "at beam:logical_type:millis_instant:v1",
      "price beam:logical_type:decimal:v1",
      "day beam:logical_type:date:v1",
      "tags ARRAY<STRING>",
      "attrs MAP<STRING,INT64?>",
      "address ROW(city STRING)?",
      "previous ROW(city STRING)?",
      "otherKind STRING",
      "md5 beam:logical_type:fixed_bytes:v1",
      "exact beam:logical_type:decimal:v1",
    ],
  );
  const md5 = fieldTypeKind(avroRowSchema(record).fields[16]!.type);
  assert.equal(md5.kind === "logical" && [md5.logical.argument, md5.logical.argumentType], [
    { atomicValue: { int32: 4 } },
    { atomicType: 3 },
  ]);
});

s.test("unsupported schemas are refused at their path: fixed, wide unions, recursion, unknown names", () => {
  const rec = (fields: unknown[]) => JSON.stringify({ type: "record", name: "R", fields });
  expectAvroError(() => parseAvroSchema('"string"'), /^\$: the root must be a record schema/);
  expectAvroError(() => parseAvroSchema("{"), /^\$: not valid JSON/);
  expectAvroError(
    () => parseAvroSchema(rec([{ name: "f", type: { type: "fixed", name: "F", size: -1 } }])),
    /^\$\.f: a fixed needs an integer "size" >= 0, got -1/,
  );
  expectAvroError(
    () => parseAvroSchema(rec([{ name: "u", type: ["null", "string", "long"] }])),
    /^\$\.u: only a union of "null" and one type is supported/,
  );
  expectAvroError(
    () => parseAvroSchema(rec([{ name: "next", type: ["null", "R"] }])),
    /^\$\.next: R refers to itself: a recursive type is not a Row/,
  );
  expectAvroError(() => parseAvroSchema(rec([{ name: "x", type: "Nope" }])), /^\$\.x: unknown type "Nope"/);
  expectAvroError(() => parseAvroSchema(rec([{ name: "n", type: "null" }])), /^\$\.n: "null" alone/);
  expectAvroError(
    () => parseAvroSchema(rec([{ name: "d", type: { type: "bytes", logicalType: "decimal" } }])),
    /^\$\.d: a decimal needs an integer "precision"/,
  );
  expectAvroError(() => parseAvroSchema(rec([])), /^\$: a record needs a non-empty "fields" list/);
  expectAvroError(
    () =>
      parseAvroSchema(
        rec([
          { name: "a", type: "int" },
          { name: "a", type: "int" },
        ]),
      ),
    /^\$\.a: is defined twice/,
  );
});

s.test("binary encoding: the specification's examples, byte for byte, both ways", () => {
  // Spec: record {a: long, b: string} with a=27, b="foo" is 36 06 66 6f 6f.
  const ab = parseAvroSchema(
    JSON.stringify({
      type: "record",
      name: "test",
      fields: [
        { name: "a", type: "long" },
        { name: "b", type: "string" },
      ],
    }),
  );
  assert.is(hex(rowToAvroBytes({ a: 27n, b: "foo" }, ab)), "3606666f6f");
  assert.equal(avroBytesToRow(bytes("36 06 66 6f 6f"), ab), { a: 27n, b: "foo" });
  // Spec: zig-zag longs 0 → 00, -1 → 01, 1 → 02, -2 → 03, 2 → 04, -64 → 7f, 64 → 80 01.
  const one = (type: unknown) =>
    parseAvroSchema(JSON.stringify({ type: "record", name: "r", fields: [{ name: "v", type }] }));
  const long = one("long");
  for (const [n, encoded] of [
    [0n, "00"],
    [-1n, "01"],
    [1n, "02"],
    [-2n, "03"],
    [2n, "04"],
    [-64n, "7f"],
    [64n, "8001"],
    [-(1n << 63n), "ffffffffffffffffff01"],
    [(1n << 63n) - 1n, "feffffffffffffffff01"],
  ] as const) {
    assert.is(hex(rowToAvroBytes({ v: n }, long)), encoded, `long ${n}`);
    assert.equal(avroBytesToRow(bytes(encoded), long), { v: n });
  }
  // Spec: an array of longs [3, 27] is 04 06 36 00; a union ["null","string"] of "a" is 02 02 61, of null 00.
  const longs = one({ type: "array", items: "long" });
  assert.is(hex(rowToAvroBytes({ v: [3n, 27n] }, longs)), "04063600");
  assert.equal(avroBytesToRow(bytes("04 06 36 00"), longs), { v: [3n, 27n] });
  assert.is(hex(rowToAvroBytes({ v: [] }, longs)), "00");
  const union = one(["null", "string"]);
  assert.is(hex(rowToAvroBytes({ v: "a" }, union)), "020261");
  assert.is(hex(rowToAvroBytes({ v: null }, union)), "00");
  assert.equal(avroBytesToRow(bytes("02 02 61"), union), { v: "a" });
  assert.equal(avroBytesToRow(bytes("00"), union), { v: null });
  // ["string", "null"]: null is branch 1.
  assert.equal(avroBytesToRow(bytes("02"), one(["string", "null"])), { v: null });
  // Floats and doubles are little-endian IEEE 754.
  assert.is(hex(rowToAvroBytes({ v: 1.5 }, one("float"))), "0000c03f");
  assert.is(hex(rowToAvroBytes({ v: -2.25 }, one("double"))), "00000000000002c0");
});

s.test("blocks as other writers write them: a negative count with its byte size, several blocks", () => {
  const rec = parseAvroSchema(
    JSON.stringify({
      type: "record",
      name: "r",
      fields: [
        { name: "xs", type: { type: "array", items: "long" } },
        { name: "m", type: { type: "map", values: "int" } },
      ],
    }),
  );
  // xs: block of -2 items (03) with byte size 2 (04): 3, 27; then a block of 1 item: 1; end. m: {"a": 1}, end.
  const value = bytes("03 04 06 36  02 02  00   02 02 61 02  00");
  assert.equal(avroBytesToRow(value, rec), { xs: [3n, 27n, 1n], m: new Map([["a", 1]]) });
});

s.test("a rich row writes and reads back exactly", () => {
  const record = parseAvroSchema(EVENT);
  const row = eventRow();
  const encoded = rowToAvroBytes(row, record);
  assert.equal(avroBytesToRow(encoded, record), row);
  // The fixed fields end the value: 4 bytes as they are, then -1234567 sign-extended to 6 bytes (no lengths).
  assert.is(hex(encoded.subarray(encoded.length - 10)), "01020304ffffffed2979");
  expectAvroError(
    () => rowToAvroBytes({ ...row, md5: Buffer.from([1]) }, record),
    /^\$\.md5: expected 4 bytes, got bytes/,
  );
  expectAvroError(
    () => rowToAvroBytes({ ...row, exact: { unscaled: 1n << 60n, scale: 3 } }, record),
    /^\$\.exact: 1152921504606846976 needs more than 6 bytes/,
  );
});

s.test("bad values are refused at their path, both ways", () => {
  const record = parseAvroSchema(EVENT);
  const good = rowToAvroBytes(eventRow(), record);
  expectAvroError(() => avroBytesToRow(good.subarray(0, good.length - 1), record), /^\$\.exact: the value ends early/);
  expectAvroError(
    () => avroBytesToRow(Buffer.concat([good, bytes("00")]), record),
    /^\$: 1 bytes left after the record/,
  );
  const ab = parseAvroSchema(
    JSON.stringify({
      type: "record",
      name: "r",
      fields: [{ name: "k", type: { type: "enum", name: "K", symbols: ["A"] } }],
    }),
  );
  expectAvroError(() => avroBytesToRow(bytes("02"), ab), /^\$\.k: enum index 1 of 1 symbols/);
  expectAvroError(() => rowToAvroBytes({ k: "B" }, ab), /^\$\.k: "B" is not one of A/);
  const str = parseAvroSchema(
    JSON.stringify({ type: "record", name: "r", fields: [{ name: "s", type: ["null", "string"] }] }),
  );
  expectAvroError(() => avroBytesToRow(bytes("04"), str), /^\$\.s: union branch 2 of 2/);
  expectAvroError(() => avroBytesToRow(bytes("02 02 ff"), str), /^\$\.s: a string that is not UTF-8/);
  expectAvroError(() => rowToAvroBytes({ s: 5 }, str), /^\$\.s: expected a string, got the number 5/);
  const int = parseAvroSchema(JSON.stringify({ type: "record", name: "r", fields: [{ name: "i", type: "int" }] }));
  expectAvroError(() => rowToAvroBytes({ i: 2 ** 31 }, int), /^\$\.i: 2147483648 does not fit an Avro int/);
  expectAvroError(() => rowToAvroBytes({ i: null }, int), /^\$\.i: is null, and its type is not nullable/);
});

s.test("a write's Avro schema comes from its rows' schema, as Java's AvroUtils.toAvroSchema derives it", () => {
  const rows = schema({
    id: "int64",
    n: "int32",
    name: nullable("string"),
    at: "datetime",
    tags: array("string"),
    attrs: map("string", "double"),
    inner: row({ ok: "boolean" }),
    other: nullable(row({ b: "bytes" })),
    items: array(row({ n: "int64" })),
    byName: map("string", row({ n: "int64" })),
  });
  const record: AvroRecord = avroRecordOfRowSchema(rows);
  assert.equal(avroSchemaJson(record), {
    type: "record",
    name: "topLevelRecord",
    fields: [
      { name: "id", type: "long" },
      { name: "n", type: "int" },
      { name: "name", type: ["null", "string"] },
      { name: "at", type: { type: "long", logicalType: "timestamp-millis" } },
      { name: "tags", type: { type: "array", items: "string" } },
      { name: "attrs", type: { type: "map", values: "double" } },
      { name: "inner", type: { type: "record", name: "innerRecord", fields: [{ name: "ok", type: "boolean" }] } },
      {
        name: "other",
        type: ["null", { type: "record", name: "otherRecord", fields: [{ name: "b", type: "bytes" }] }],
      },
      {
        name: "items",
        type: { type: "array", items: { type: "record", name: "itemsRecord", fields: [{ name: "n", type: "long" }] } },
      },
      {
        name: "byName",
        type: { type: "map", values: { type: "record", name: "byNameRecord", fields: [{ name: "n", type: "long" }] } },
      },
    ],
  });
  // The derived schema parses back to the same record.
  assert.equal(parseAvroSchema(JSON.stringify(avroSchemaJson(record))), record);
  expectAvroError(
    () => avroRecordOfRowSchema(schema({ m: map("int64", "string") })),
    /^\$\.m: an Avro map has string keys/,
  );
  expectAvroError(
    () => avroRecordOfRowSchema(schema({ d: "decimal" })),
    /^\$\.d: logical type beam:logical_type:decimal:v1 has no Avro form/,
  );
});

s.test(
  "hostile input: mutated schemas and random bytes fail only as AvroFormatError (the service keeps serving)",
  () => {
    const r = rng(20261206);
    const valid = EVENT;
    const record = parseAvroSchema(valid);
    const sample = rowToAvroBytes(eventRow(), record);
    const outcome = (fn: () => unknown): string => {
      try {
        fn();
        return "ok";
      } catch (err) {
        if (err instanceof AvroFormatError) return "refused";
        throw new Error(`seed ${r.seed}: not an AvroFormatError: ${String(err)}`, { cause: err });
      }
    };
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      // A schema with a few characters changed, dropped or repeated.
      const chars = [...valid];
      for (let k = r.int(1, 4); k > 0; k--) {
        const at = r.int(0, chars.length - 1);
        const op = r.int(0, 2);
        if (op === 0) chars[at] = r.pick(['"', "{", "}", "[", "]", ":", ",", "a", "1", "null"]);
        else if (op === 1) chars.splice(at, 1);
        else chars.splice(at, 0, chars[at]!);
      }
      seen.add(outcome(() => parseAvroSchema(chars.join(""))));
      // A value with bytes flipped, cut short or extended.
      const bytes = Buffer.from(sample);
      const op = r.int(0, 2);
      if (op === 0) for (let k = r.int(1, 3); k > 0; k--) bytes[r.int(0, bytes.length - 1)] = r.int(0, 255);
      const value =
        op === 1
          ? bytes.subarray(0, r.int(0, bytes.length - 1))
          : op === 2
            ? Buffer.concat([bytes, Buffer.from([r.int(0, 255)])])
            : bytes;
      seen.add(outcome(() => avroBytesToRow(value, record)));
    }
    assert.equal([...seen].sort(), ["ok", "refused"], "both outcomes were reached");
  },
);

s.run();
