// beam:coder:row:v1: every schema field type, nulls, nested rows, maps, arrays, encoding positions, schema
// evolution, and bytes checked by hand and against Beam's Python RowCoder (apache-beam 2.77.0; the Python
// snippets that produced them are quoted beside them).
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { throwsCoderError } from "../assertions.js";
import {
  decimalFromString,
  decimalToString,
  decodeFromBytes,
  encodeToBytes,
  fieldValueCoder,
  rowCoder,
  type Coder,
} from "../../src/model/coders/index.js";
import {
  AtomicType,
  array,
  decodeSchema,
  encodeSchema,
  iterable,
  logical,
  map,
  nullable,
  row,
  schema,
  type Decimal,
  type Row,
  type RowOf,
  type Schema,
} from "../../src/model/schema.js";

const s = suite("row coder");
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const fromHex = (text: string) => new Uint8Array(Buffer.from(text.replace(/\s+/g, ""), "hex"));
const utf8 = (text: string) => new TextEncoder().encode(text);

// The output row of Beam's ReadFromKafka with metadata, in the Java connector's field order.
const kafkaRecord = schema(
  {
    topic: "string",
    partition: "int32",
    offset: "int64",
    timestamp: "int64",
    key: nullable("bytes"),
    value: nullable("bytes"),
    headers: nullable(array(row({ key: "string", value: nullable("bytes") }, { id: "hdr" }))),
    timestampTypeId: "int32",
    timestampTypeName: "string",
  },
  { id: "kafka" },
);
type KafkaRecord = RowOf<typeof kafkaRecord>;

const record: KafkaRecord = {
  topic: "t",
  partition: 3,
  offset: 42n,
  timestamp: 1700000000000n,
  key: utf8("k"),
  value: utf8("v"),
  headers: [
    { key: "h", value: utf8("x") },
    { key: "n", value: null },
  ],
  timestampTypeId: 0,
  timestampTypeName: "CreateTime",
};

s.test("hand-checked bytes: a Kafka metadata row (and what Python's RowCoder writes for it)", () => {
  const annotated: [bytes: string, meaning: string][] = [
    ["09", "9 fields"],
    ["00", "null bitmap: length 0 (no nulls)"],
    ["01 74", 'topic "t"'],
    ["03", "partition 3 (varint)"],
    ["2a", "offset 42 (varint)"],
    ["80 d0 95 ff bc 31", "timestamp 1700000000000 (varint)"],
    ["01 6b", 'key b"k"'],
    ["01 76", 'value b"v"'],
    ["00 00 00 02", "headers: 2 elements (4-byte big-endian count)"],
    ["02 00 01 68 01 78", 'row: 2 fields, no nulls, key "h", value b"x"'],
    ["02 01 02 01 6e", 'row: 2 fields, bitmap of 1 byte 0b10 (value is null), key "n"'],
    ["00", "timestampTypeId 0"],
    ["0a 43 72 65 61 74 65 54 69 6d 65", 'timestampTypeName "CreateTime"'],
  ];
  const expected = fromHex(annotated.map(([bytes]) => bytes).join(""));
  // Python: RowCoder(kafka_schema).encode(T(topic="t", partition=3, offset=42, timestamp=1700000000000, key=b"k",
  //   value=b"v", headers=[H(key="h", value=b"x"), H(key="n", value=None)], timestampTypeId=0,
  //   timestampTypeName="CreateTime")).hex()
  assert.is(hex(expected), "09000174032a80d095ffbc31016b017600000002020001680178020102016e000a43726561746554696d65");
  const coder = rowCoder(kafkaRecord);
  assert.is(hex(encodeToBytes(coder, record)), hex(expected));
  const back: KafkaRecord = decodeFromBytes(coder, expected);
  assert.equal(back, record);
  assert.is(typeof back.offset, "bigint");
});

// Every field type in one schema, with Python's bytes for the same schema and values.
const everyType = schema(
  {
    b: "byte",
    i16: "int16",
    i32: "int32",
    i64: "int64",
    f: "float",
    d: "double",
    s: "string",
    bo: "boolean",
    by: "bytes",
    arr: array(nullable("int32")),
    it: iterable("string"),
    m: map("string", nullable("int64")),
    r: row({ n: "int64" }, { id: "inner" }),
    ts: "datetime",
    dec: "decimal",
    nul: nullable("string"),
  },
  { id: "every" },
);

const everyValue: RowOf<typeof everyType> = {
  b: 7,
  i16: -2,
  i32: -1,
  i64: -1n,
  f: 1.5,
  d: -0.25,
  s: "é",
  bo: true,
  by: new Uint8Array([0x00, 0xff]),
  arr: [1, null, -3],
  it: ["x"],
  m: new Map([
    ["a", 1n],
    ["z", null],
  ]),
  r: { n: 300n },
  ts: 1700000000123n,
  dec: { unscaled: -1250n, scale: 2 },
  nul: null,
};

// Python: every = Schema(id="every", fields=[b BYTE, i16 INT16, i32 INT32, i64 INT64, f FLOAT, d DOUBLE, s STRING,
//   bo BOOLEAN, by BYTES, arr ARRAY<INT32?>, it ITERABLE<STRING>, m MAP<STRING, INT64?>, r ROW<n INT64> (id "inner"),
//   ts millis_instant<INT64>, dec decimal<BYTES>, nul STRING?]); every.SerializeToString().hex() and
//   RowCoder(every).encode(T(b=7, i16=-2, i32=-1, i64=-1, f=1.5, d=-0.25, s="é", bo=True, by=b"\x00\xff",
//   arr=[1, None, -3], it=["x"], m={"a": 1, "z": None}, r=I(n=300), ts=Timestamp(micros=1700000000123000),
//   dec=Decimal("-12.50"), nul=None)).hex()
const PYTHON_EVERY_SCHEMA =
  "0a070a01621a0210010a090a036931361a0210020a090a036933321a0210030a090a036936341a0210040a070a01661a0210050a070a01641a02" +
  "10060a070a01731a0210070a080a02626f1a0210080a080a0262791a0210090a0f0a036172721a081a060a04080110030a0c0a0269741a062204" +
  "0a0210070a110a016d1a0c2a0a0a0210071204080110040a190a01721a1432120a100a070a016e1a0210041205696e6e65720a310a0274731a2b" +
  "3a290a236265616d3a6c6f676963616c5f747970653a6d696c6c69735f696e7374616e743a76311a0210040a2b0a036465631a243a220a1c6265" +
  "616d3a6c6f676963616c5f747970653a646563696d616c3a76311a0210090a0b0a036e756c1a040801100712056576657279";
const PYTHON_EVERY_ROW =
  "1002008007fffeffffffff0fffffffffffffffffff013fc00000bfd000000000000002c3a9010200ff0000000301010001fdffffff0f00000001" +
  "01780000000201610101017a000100ac028000018bcfe5687b0202fb1e";

s.test("every field type: bytes equal Python's RowCoder, and decode back", () => {
  const coder = rowCoder(everyType);
  const bytes = encodeToBytes(coder, everyValue);
  assert.is(hex(bytes), PYTHON_EVERY_ROW);
  assert.equal(decodeFromBytes(coder, bytes), everyValue);
});

s.test("the builder's schema encodes to the proto bytes Python writes, and decodes back to a working coder", () => {
  assert.is(hex(encodeSchema(everyType)), PYTHON_EVERY_SCHEMA);
  const decoded = decodeSchema(fromHex(PYTHON_EVERY_SCHEMA));
  assert.is(decoded.id, "every");
  const coder = rowCoder(decoded);
  assert.equal(decodeFromBytes(coder, fromHex(PYTHON_EVERY_ROW)), everyValue);
  assert.is(hex(encodeToBytes(coder, everyValue)), PYTHON_EVERY_ROW);
  assert.is(hex(rowCoder(everyType).payload!), PYTHON_EVERY_SCHEMA, "payload of a builder schema");
});

s.test("nulls: every nullable field null, and a null in a non-nullable field names the field", () => {
  const coder = rowCoder(kafkaRecord);
  const allNull = { ...record, key: null, value: null, headers: null };
  const bytes = encodeToBytes(coder, allNull);
  // 9 fields; bitmap of 1 byte with bits 4, 5, 6 (0x70): Java's BitSet trims to the last set bit.
  assert.is(hex(bytes.subarray(0, 3)), "090170");
  assert.equal(decodeFromBytes(coder, bytes), allNull);
  // The row type rejects these at compile time; an untyped caller gets a CoderError naming the field.
  const untyped = coder as Coder<Row>;
  throwsCoderError(() => encodeToBytes(untyped, { ...record, topic: null }), "CODER_VALUE", 'row field "topic"');
  throwsCoderError(
    () => encodeToBytes(untyped, { ...record, partition: undefined }),
    "CODER_VALUE",
    'row field "partition"',
  );
  throwsCoderError(
    () => encodeToBytes(untyped, { ...record, headers: [{ key: null, value: null }] }),
    "CODER_VALUE",
    'row field "headers": row field "key"',
  );
});

s.test("null bitmap past 8 fields: Java's trimmed form on encode, Python's full-width form decodes too", () => {
  const wide = schema({
    a: nullable("int32"),
    b: "int32",
    c: "int32",
    d: "int32",
    e: "int32",
    f: "int32",
    g: "int32",
    h: "int32",
    i: nullable("int32"),
    j: nullable("int32"),
  });
  const coder = rowCoder(wide);
  const value = { a: null, b: 1, c: 2, d: 3, e: 4, f: 5, g: 6, h: 7, i: 8, j: 9 };
  assert.is(hex(encodeToBytes(coder, value)), "0a0101" + "01020304050607" + "0809");
  assert.equal(decodeFromBytes(coder, fromHex("0a020100" + "01020304050607" + "0809")), value);
  const lastNull = { ...value, a: 0, j: null };
  assert.is(hex(encodeToBytes(coder, lastNull)), "0a020002" + "00" + "01020304050607" + "08");
  assert.equal(decodeFromBytes(coder, fromHex("0a020002" + "0001020304050607" + "08")), lastNull);
});

s.test("nested rows, arrays of rows, maps of arrays, iterables", () => {
  const nested = schema({
    outer: row({ inner: row({ leaf: "string", n: nullable("int64") }), tags: array("string") }),
    byKey: map("string", array(nullable("double"))),
    stream: iterable(row({ x: "int16" })),
  });
  const value: RowOf<typeof nested> = {
    outer: { inner: { leaf: "deep", n: null }, tags: ["a", "", "ü"] },
    byKey: new Map([
      ["k1", [1.5, null]],
      ["k2", []],
    ]),
    stream: [{ x: -32768 }, { x: 32767 }],
  };
  const coder = rowCoder(nested);
  const bytes = encodeToBytes(coder, value);
  assert.equal(decodeFromBytes(coder, bytes), value);
  assert.is(hex(bytes.subarray(0, 4)), "03000200", "3 fields, no nulls; outer: 2 fields, no nulls");
  // A plain object is accepted for a map with string keys, and encodes like the Map.
  assert.is(hex(encodeToBytes(coder, { ...value, byKey: { k1: [1.5, null], k2: [] } } as unknown as Row)), hex(bytes));
});

s.test("encoding positions: fields are written in encoding-position order, null bits by encoding position", () => {
  // The schema of Beam's yaml example: str (position 1), f_bool (2), i32 nullable (0).
  const positioned: Schema = {
    id: "30ea5a25-dcd8-4cdb-abeb-5332d15ab4b9",
    encodingPositionsSet: true,
    fields: [
      { name: "str", type: { atomicType: AtomicType.STRING }, encodingPosition: 1 },
      { name: "f_bool", type: { atomicType: AtomicType.BOOLEAN }, encodingPosition: 2 },
      { name: "i32", type: { atomicType: AtomicType.INT32, nullable: true }, encodingPosition: 0 },
    ],
  };
  const coder = rowCoder(positioned);
  assert.is(hex(encodeToBytes(coder, { str: "str2", f_bool: false, i32: 21 })), "0300" + "15" + "0473747232" + "00");
  // i32 null: bit 0 (its encoding position); Python 2.77 would set bit 2 (its field index).
  const withNull = { str: "str2", f_bool: true, i32: null };
  assert.is(hex(encodeToBytes(coder, withNull)), "030101" + "0473747232" + "01");
  const decoded = decodeFromBytes(coder, fromHex("030101047374723201"));
  assert.equal(decoded, withNull);
  assert.equal(Object.keys(decoded), ["str", "f_bool", "i32"], "decoded keys follow the schema's field order");
  // Without encodingPositionsSet the positions are ignored, as Java and Python do.
  const ignored = rowCoder({ ...positioned, encodingPositionsSet: false });
  assert.is(hex(encodeToBytes(ignored, { str: "str2", f_bool: false, i32: 21 })), "0300" + "0473747232" + "00" + "15");
  throwsCoderError(
    () => rowCoder({ ...positioned, fields: positioned.fields.map((f) => ({ ...f, encodingPosition: 1 })) }),
    "CODER_SCHEMA",
    "permutation",
  );
});

s.test("schema evolution: missing trailing fields decode as null; extra fields skip in the outer context only", () => {
  const v1 = schema({ a: "string", b: "int64" });
  const v2 = schema({ a: "string", b: "int64", c: nullable("string") });
  const old = encodeToBytes(rowCoder(v1), { a: "x", b: 5n });
  assert.equal(decodeFromBytes(rowCoder(v2), old), { a: "x", b: 5n, c: null });
  const newer = encodeToBytes(rowCoder(v2), { a: "x", b: 5n, c: "extra" });
  assert.equal(decodeFromBytes(rowCoder(v1), newer, "outer"), { a: "x", b: 5n });
  throwsCoderError(() => decodeFromBytes(rowCoder(v1), newer, "nested"), "CODER_INVALID", "3 encoded fields");
});

s.test("logical types: millis_instant and decimal have their own forms; others use their representation", () => {
  const logicalSchema = schema({
    at: "datetime",
    micros: logical("beam:logical_type:micros_instant:v1", row({ seconds: "int64", micros: "int64" })),
    custom: logical("beam:logical_type:unknown_to_us:v1", nullable("string")),
    fixed: logical("beam:logical_type:fixed_bytes:v1", "bytes"),
    price: "decimal",
  });
  const value: RowOf<typeof logicalSchema> = {
    at: -1n,
    micros: { seconds: 1597328054n, micros: 123456n },
    custom: "v",
    fixed: utf8("ABCDE"),
    price: decimalFromString("-100.123"),
  };
  const coder = rowCoder(logicalSchema);
  const bytes = encodeToBytes(coder, value);
  assert.is(
    hex(bytes),
    "0500" +
      "7fffffffffffffff" + // at: -1 ms + 2^63, 8 bytes big-endian (Java's InstantCoder)
      "0200b695d5f905c0c407" + // micros: row(seconds varint, micros varint)
      "010176" + // custom: its representation, a nullable string: present, "v"
      "054142434445" + // fixed: bytes
      "0303fe78e5", // price: scale 3, 3-byte two's complement of -100123
  );
  assert.equal(decodeFromBytes(coder, bytes), value);
  assert.is(decimalToString(value.price as Decimal), "-100.123");
  assert.equal(decimalFromString("1.5E+3"), { unscaled: 15n, scale: -2 });
  assert.is(decimalToString({ unscaled: 15n, scale: -2 }), "1500");
  assert.is(decimalToString({ unscaled: 5n, scale: 3 }), "0.005");
  const pyAny = { fields: [{ name: "o", type: { logicalType: { urn: "beam:logical:pythonsdk_any:v1" } } }] };
  throwsCoderError(() => rowCoder(pyAny), "CODER_SCHEMA", "pickled Python");
});

s.test("field values outside their type are CODER_VALUE errors naming the field", () => {
  const numbers = schema({ b: "byte", s: "int16", i: "int32", l: "int64", str: "string" });
  const coder = rowCoder(numbers);
  const ok = { b: -128, s: 1, i: 2, l: 3n, str: "x" };
  assert.equal(decodeFromBytes(coder, encodeToBytes(coder, ok)), ok);
  throwsCoderError(() => encodeToBytes(coder, { ...ok, s: 40000 }), "CODER_VALUE", 'row field "s"');
  throwsCoderError(() => encodeToBytes(coder, { ...ok, i: 2 ** 31 }), "CODER_VALUE", 'row field "i"');
  throwsCoderError(() => encodeToBytes(coder, { ...ok, i: 1.5 }), "CODER_VALUE", 'row field "i"');
  throwsCoderError(() => encodeToBytes(coder, { ...ok, l: 2n ** 63n }), "CODER_VALUE", 'row field "l"');
  const untyped = coder as Coder<Row>;
  throwsCoderError(() => encodeToBytes(untyped, { ...ok, str: 5 }), "CODER_VALUE", 'row field "str"');
  throwsCoderError(() => encodeToBytes(untyped, { ...ok, i: 2n }), "CODER_VALUE", 'row field "i"');
  // int64 also takes a safe-integer number, and decodes as bigint.
  assert.equal(decodeFromBytes(untyped, encodeToBytes(untyped, { ...ok, l: 3 })), ok);
});

s.test("truncated and corrupt rows are CoderErrors naming the field", () => {
  const coder = rowCoder(kafkaRecord);
  const bytes = encodeToBytes(coder, record);
  throwsCoderError(() => decodeFromBytes(coder, bytes.subarray(0, 10)), "CODER_TRUNCATED", 'row field "timestamp"');
  throwsCoderError(() => decodeFromBytes(coder, bytes.subarray(0, 1)), "CODER_TRUNCATED", "row null bitmap");
  throwsCoderError(() => decodeFromBytes(coder, fromHex("0900ff")), "CODER_TRUNCATED", 'row field "topic"');
});

s.test("field names that are awkward in JS: __proto__, constructor, quotes, newlines, non-ASCII", () => {
  // Bracketed keys on purpose: `__proto__: x` in a literal would set the prototype, not a field.
  const awkward = schema({
    ["__proto__"]: nullable("string"),
    constructor: "int32",
    // biome-ignore lint/complexity/useLiteralKeys: awkward keys, as written
    ['say "hi"\n']: "string",
    // biome-ignore lint/complexity/useLiteralKeys: awkward keys, as written
    ["ünïcødé ☃"]: "boolean",
  } as Record<string, "string" | "int32" | "boolean" | ReturnType<typeof nullable<"string">>>);
  const coder = rowCoder(awkward);
  const value: Row = {};
  Object.defineProperty(value, "__proto__", { value: "own", enumerable: true, writable: true, configurable: true });
  Object.assign(
    value,
    Object.fromEntries([
      ["constructor", 7],
      ['say "hi"\n', "x"],
      ["ünïcødé ☃", true],
    ]),
  );
  const bytes = encodeToBytes(coder, value);
  assert.is(hex(bytes), "0400" + "036f776e" + "07" + "0178" + "01");
  const back = decodeFromBytes(coder, bytes);
  assert.equal(Object.keys(back), ["__proto__", "constructor", 'say "hi"\n', "ünïcødé ☃"]);
  // biome-ignore lint/complexity/useLiteralKeys: the own property named __proto__, not the prototype
  // biome-ignore lint/suspicious/noProto: same
  assert.is(back["__proto__"], "own");
  assert.is(Object.getPrototypeOf(back), Object.prototype);
  // biome-ignore lint/complexity/useLiteralKeys: the own field, as decoded
  assert.is(back["constructor"] as unknown, 7);
  // Without an own __proto__ property the field is null, not Object.prototype.
  const withoutProto = Object.fromEntries([
    ["constructor", 7],
    ['say "hi"\n', "x"],
    ["ünïcødé ☃", true],
  ]);
  assert.is(hex(encodeToBytes(coder, withoutProto)), "04" + "0101" + "07" + "0178" + "01");
});

s.test("fieldValueCoder: nullable types carry a presence byte outside rows", () => {
  const c = fieldValueCoder(nullable(array("int32")).fieldType) as Coder<number[] | null>;
  assert.is(hex(encodeToBytes(c, null, "nested")), "00");
  assert.is(hex(encodeToBytes(c, [1, -1], "nested")), "010000000201ffffffff0f");
  assert.equal(decodeFromBytes(c, fromHex("010000000201ffffffff0f"), "nested"), [1, -1]);
});

s.run();
