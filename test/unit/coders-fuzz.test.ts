// Decoders against hostile input, and random round trips. Seeded (KBT_FUZZ_SEED to replay a failure), so a
// failure names the coder, the context and the input bytes.
//  - random bytes, and mutations (flips, truncations, insertions) of valid encodings, into every decoder: each
//    either returns a value or throws a CoderError; never another exception type, never a hang (the harness
//    timeout turns a hang into a named failure);
//  - random values: encode → decode gives the value back, in both contexts, and nested values decode one after
//    another from one buffer.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { kafkaRecordRowSchema } from "../../src/kafka/read/record-row.js";
import {
  ByteReader,
  ByteWriter,
  CoderError,
  CoderUrns,
  boolCoder,
  bytesCoder,
  coderFromComponents,
  customWindowCoder,
  decimalCoder,
  doubleCoder,
  encodeToBytes,
  globalWindowCoder,
  instantCoder,
  intervalWindowCoder,
  iterableCoder,
  kvCoder,
  lengthPrefixCoder,
  mapCoder,
  nullableCoder,
  paramWindowedValueCoder,
  rowCoder,
  shardedKeyCoder,
  stringUtf8Coder,
  timerCoder,
  varIntCoder,
  windowedValueCoder,
  type Coder,
  type CoderContext,
} from "../../src/model/coders/index.js";
import {
  AtomicType,
  array,
  fieldTypeKind,
  iterable,
  map,
  nullable,
  row,
  schema,
  type FieldType,
  type Row,
  type Schema,
} from "../../src/model/schema.js";
import {
  GLOBAL_WINDOW,
  MAX_TIMESTAMP,
  MIN_TIMESTAMP,
  type BoundedWindow,
  type IntervalWindow,
  type PaneInfo,
  type PaneTiming,
  type WindowedValue,
} from "../../src/model/windowing.js";

const seed = Number(process.env.KBT_FUZZ_SEED ?? 20261130);
const s = suite(`coders fuzz (seed ${seed})`, { timeoutMs: 120_000 });

// ---- a small seeded PRNG (mulberry32) and generators ----

function prng(initial: number): () => number {
  let a = initial >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  private readonly next: () => number;
  constructor(seedValue: number) {
    this.next = prng(seedValue);
  }
  float(): number {
    return this.next();
  }
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(maxLength: number): Uint8Array {
    const out = new Uint8Array(this.int(maxLength + 1));
    for (let i = 0; i < out.length; i++) out[i] = this.int(256);
    return out;
  }
  uint32(): number {
    return this.int(2 ** 32);
  }
  /** Boundaries, small values and uniformly random 64-bit patterns. */
  int64(): bigint {
    switch (this.int(4)) {
      case 0:
        return this.pick([0n, 1n, -1n, 127n, 128n, -128n, 2n ** 31n, -(2n ** 31n), 2n ** 63n - 1n, -(2n ** 63n)]);
      case 1:
        return BigInt(this.int(1 << 20) - (1 << 19));
      default:
        return BigInt.asIntN(64, (BigInt(this.uint32()) << 32n) | BigInt(this.uint32()));
    }
  }
  instant(): bigint {
    if (this.chance(0.1)) return this.pick([MIN_TIMESTAMP, MAX_TIMESTAMP, 0n, -1n]);
    return BigInt(Math.floor((this.next() - 0.5) * 2 * 9.2e15));
  }
  /** A valid string: BMP characters, astral characters (surrogate pairs) and ASCII. */
  string(maxLength: number): string {
    const n = this.int(maxLength + 1);
    let out = "";
    for (let i = 0; i < n; i++) {
      const kind = this.int(4);
      if (kind === 0) out += String.fromCodePoint(0x10000 + this.int(0xfffff));
      else if (kind === 1) out += String.fromCharCode(this.int(0xd800));
      else out += String.fromCharCode(this.int(128));
    }
    return out;
  }
  double(): number {
    if (this.chance(0.2)) return this.pick([0, -0, NaN, Infinity, -Infinity, Number.MIN_VALUE, Number.MAX_VALUE]);
    const view = new DataView(new ArrayBuffer(8));
    view.setUint32(0, this.uint32());
    view.setUint32(4, this.uint32());
    return view.getFloat64(0);
  }
  intervalWindow(): IntervalWindow {
    const end = this.instant();
    return { kind: "interval", start: end - BigInt(this.int(1e9)), end };
  }
  /** A pane Beam's coder round-trips (FIRST-encoded panes decode to Java's interned indices). */
  pane(): PaneInfo {
    const timing = this.pick<PaneTiming>(["EARLY", "ON_TIME", "LATE", "UNKNOWN"]);
    let isFirst = this.chance(0.5);
    const isLast = this.chance(0.5);
    if (timing === "UNKNOWN") return { isFirst, isLast, timing, index: isFirst ? 0n : -1n, onTimeIndex: 0n };
    const index = BigInt(this.int(1000));
    if (timing === "EARLY") return { isFirst, isLast, timing, index, onTimeIndex: -1n };
    const onTimeIndex = this.chance(0.5) ? index : BigInt(this.int(1000));
    if (index === 0n && onTimeIndex === 0n) isFirst = true;
    return { isFirst, isLast, timing, index, onTimeIndex };
  }
}

// ---- the coders under test, each with a value generator ----

interface Case<T> {
  readonly name: string;
  readonly coder: Coder<T>;
  readonly value: (g: Gen) => T;
}
const cases: Case<unknown>[] = [];
const add = <T>(name: string, coder: Coder<T>, value: (g: Gen) => T) =>
  cases.push({ name, coder, value } as Case<unknown>);

const kafkaRecord = kafkaRecordRowSchema(); // the row a read with metadata emits
const everyType = schema({
  b: "byte",
  i16: "int16",
  i32: "int32",
  i64: "int64",
  f: "float",
  d: "double",
  s: "string",
  bo: "boolean",
  by: nullable("bytes"),
  arr: array(nullable("int32")),
  it: iterable("string"),
  m: map("string", nullable("int64")),
  r: nullable(row({ n: "int64", deeper: row({ flag: "boolean" }) })),
  ts: "datetime",
  dec: "decimal",
  n1: nullable("string"),
  n2: nullable("double"),
  n3: nullable("int16"),
});
const positioned: Schema = {
  encodingPositionsSet: true,
  fields: [
    { name: "a", type: { atomicType: AtomicType.STRING, nullable: true }, encodingPosition: 2 },
    { name: "b", type: { atomicType: AtomicType.INT64 }, encodingPosition: 0 },
    { name: "c", type: { atomicType: AtomicType.BYTES, nullable: true }, encodingPosition: 1 },
  ],
};

function rowValue(g: Gen, rowSchema: Schema): Row {
  const out: Row = {};
  for (const field of rowSchema.fields) out[field.name] = fieldValue(g, field.type);
  return out;
}

function fieldValue(g: Gen, type: FieldType): unknown {
  if (type.nullable && g.chance(0.3)) return null;
  const kind = fieldTypeKind(type);
  switch (kind.kind) {
    case "atomic":
      switch (kind.atomic) {
        case AtomicType.BYTE:
          return g.int(256) - 128;
        case AtomicType.INT16:
          return g.int(65536) - 32768;
        case AtomicType.INT32:
          return g.uint32() | 0;
        case AtomicType.INT64:
          return g.int64();
        case AtomicType.FLOAT:
          return Math.fround(g.double());
        case AtomicType.DOUBLE:
          return g.double();
        case AtomicType.STRING:
          return g.string(20);
        case AtomicType.BOOLEAN:
          return g.chance(0.5);
        case AtomicType.BYTES:
          return g.bytes(40);
        default:
          throw new Error(`atomic ${kind.atomic}`);
      }
    case "array":
    case "iterable":
      return Array.from({ length: g.int(5) }, () => fieldValue(g, kind.element));
    case "map": {
      const m = new Map<unknown, unknown>();
      for (let i = g.int(5); i > 0; i--) m.set(fieldValue(g, kind.key), fieldValue(g, kind.value));
      return m;
    }
    case "row":
      return rowValue(g, kind.schema);
    case "logical":
      if (kind.logical.urn === "beam:logical_type:millis_instant:v1") return g.int64();
      if (kind.logical.urn === "beam:logical_type:decimal:v1")
        return { unscaled: g.int64() * g.int64(), scale: g.int(40) - 10 };
      return fieldValue(g, kind.logical.representation!);
  }
}

const windowedKv = windowedValueCoder(kvCoder(bytesCoder, bytesCoder), globalWindowCoder);
const intervalWindowed = windowedValueCoder(varIntCoder, intervalWindowCoder);
const paramWindowed = paramWindowedValueCoder(varIntCoder, intervalWindowCoder, {
  timestamp: 1000n,
  windows: [{ kind: "interval", start: 10n, end: 20n }],
  pane: { isFirst: false, isLast: true, timing: "ON_TIME", index: 30n, onTimeIndex: 40n },
});

add("bytes", bytesCoder, (g) => g.bytes(300));
add("string_utf8", stringUtf8Coder, (g) => g.string(80));
add("varint", varIntCoder, (g) => g.int64());
add("bool", boolCoder, (g) => g.chance(0.5));
add("double", doubleCoder, (g) => g.double());
add("instant", instantCoder, (g) => g.int64());
add("kv(bytes, varint)", kvCoder(bytesCoder, varIntCoder), (g) => ({ key: g.bytes(20), value: g.int64() }));
add("iterable(varint)", iterableCoder(varIntCoder), (g) => Array.from({ length: g.int(20) }, () => g.int64()));
add("iterable(global_window)", iterableCoder(globalWindowCoder), (g) =>
  Array.from({ length: g.int(5) }, () => GLOBAL_WINDOW),
);
add("iterable(iterable(string))", iterableCoder(iterableCoder(stringUtf8Coder)), (g) =>
  Array.from({ length: g.int(4) }, () => Array.from({ length: g.int(4) }, () => g.string(5))),
);
add("length_prefix(string)", lengthPrefixCoder(stringUtf8Coder), (g) => g.string(200));
add("length_prefix(kv(string, bytes))", lengthPrefixCoder(kvCoder(stringUtf8Coder, bytesCoder)), (g) => ({
  key: g.string(10),
  value: g.bytes(200),
}));
add("nullable(bytes)", nullableCoder(bytesCoder), (g) => (g.chance(0.3) ? null : g.bytes(20)));
add("global_window", globalWindowCoder, () => GLOBAL_WINDOW);
add("interval_window", intervalWindowCoder, (g) => g.intervalWindow());
add("custom_window(interval_window)", customWindowCoder(intervalWindowCoder), (g) => g.intervalWindow());
add(
  "windowed_value(kv(bytes, bytes), global)",
  windowedKv,
  (g): WindowedValue<{ key: Uint8Array; value: Uint8Array }> => ({
    value: { key: g.bytes(16), value: g.bytes(200) },
    timestamp: g.instant(),
    windows: [GLOBAL_WINDOW],
    pane: g.pane(),
  }),
);
add(
  "windowed_value(varint, interval)",
  intervalWindowed,
  (g): WindowedValue<bigint> => ({
    value: g.int64(),
    timestamp: g.instant(),
    windows: Array.from({ length: g.int(4) }, () => g.intervalWindow() as BoundedWindow),
    pane: g.pane(),
  }),
);
add(
  "param_windowed_value(varint, interval)",
  paramWindowed,
  (g): WindowedValue<bigint> => ({
    value: g.int64(),
    timestamp: 1000n,
    windows: [{ kind: "interval", start: 10n, end: 20n }],
    pane: { isFirst: false, isLast: true, timing: "ON_TIME", index: 30n, onTimeIndex: 40n },
  }),
);
add("timer(string, interval)", timerCoder(stringUtf8Coder, intervalWindowCoder), (g) => {
  const common = { userKey: g.string(8), dynamicTimerTag: g.string(8), windows: [g.intervalWindow()] };
  return g.chance(0.3)
    ? { ...common, clearBit: true as const }
    : { ...common, clearBit: false as const, fireTimestamp: g.instant(), holdTimestamp: g.instant(), pane: g.pane() };
});
add("sharded_key(string)", shardedKeyCoder(stringUtf8Coder), (g) => ({ shardId: g.bytes(8), key: g.string(10) }));
add("map(string, nullable(varint))", mapCoder(stringUtf8Coder, nullableCoder(varIntCoder)), (g) => {
  const m = new Map<string, bigint | null>();
  for (let i = g.int(6); i > 0; i--) m.set(g.string(6), g.chance(0.3) ? null : g.int64());
  return m;
});
add("decimal", decimalCoder, (g) => ({ unscaled: g.int64() * g.int64() * g.int64(), scale: g.int(60) - 20 }));
add("row(kafka metadata)", rowCoder(kafkaRecord), (g) => rowValue(g, kafkaRecord));
add("row(every type)", rowCoder(everyType), (g) => rowValue(g, everyType));
add("row(encoding positions)", rowCoder(positioned), (g) => rowValue(g, positioned));
add("length_prefix(row(every type))", lengthPrefixCoder(rowCoder(everyType)), (g) => rowValue(g, everyType));

const CONTEXTS: readonly CoderContext[] = ["nested", "outer"];

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

/** Decodes `bytes`; a CoderError or a value is fine, anything else fails with the input that caused it. */
function decodeHostile(
  c: Case<unknown>,
  context: CoderContext,
  bytes: Uint8Array,
  reader: ByteReader,
): "value" | "error" {
  reader.reset(bytes);
  try {
    c.coder.decode(reader, context);
    return "value";
  } catch (err) {
    if (err instanceof CoderError) return "error";
    throw new Error(
      `${c.name} [${context}] threw ${(err as Error)?.name ?? typeof err} on input ${hex(bytes)}: ${String(err)}`,
      { cause: err },
    );
  }
}

function mutate(g: Gen, bytes: Uint8Array): Uint8Array {
  const out = Array.from(bytes);
  for (let n = 1 + g.int(3); n > 0; n--) {
    switch (g.int(5)) {
      case 0:
        if (out.length) out[g.int(out.length)] = g.int(256);
        break;
      case 1:
        if (out.length) out[g.int(out.length)] ^= 1 << g.int(8);
        break;
      case 2:
        out.length = g.int(out.length + 1);
        break;
      case 3:
        out.splice(g.int(out.length + 1), 0, g.pick([0x00, 0x7f, 0x80, 0xff]));
        break;
      default:
        if (out.length) out.splice(g.int(out.length), 1);
    }
  }
  return new Uint8Array(out);
}

s.test("random bytes into every decoder: a value or a CoderError, nothing else", () => {
  const g = new Gen(seed);
  const reader = new ByteReader();
  let inputs = 0;
  const rejected: string[] = [];
  for (const c of cases) {
    const outcomes = { value: 0, error: 0 };
    for (const context of CONTEXTS) {
      for (let i = 0; i < 1000; i++) {
        outcomes[decodeHostile(c, context, g.bytes(g.chance(0.8) ? 24 : 400), reader)]++;
        inputs++;
      }
    }
    rejected.push(`${c.name} ${Math.round((outcomes.error / (outcomes.error + outcomes.value)) * 100)}%`);
  }
  console.log(`  ${inputs} random inputs; rejected with a CoderError: ${rejected.join(", ")}`);
  assert.ok(inputs >= 50_000, `${inputs} inputs`);
});

s.test("mutated valid encodings into every decoder: a value or a CoderError, nothing else", () => {
  const g = new Gen(seed + 1);
  const reader = new ByteReader();
  for (const c of cases) {
    for (const context of CONTEXTS) {
      for (let i = 0; i < 500; i++) {
        const valid = encodeToBytes(c.coder, c.value(g), context);
        decodeHostile(c, context, mutate(g, valid), reader);
      }
    }
  }
});

s.test("random values round-trip in both contexts", () => {
  const g = new Gen(seed + 2);
  const reader = new ByteReader();
  for (const c of cases) {
    for (const context of CONTEXTS) {
      for (let i = 0; i < 300; i++) {
        const value = c.value(g);
        const bytes = encodeToBytes(c.coder, value, context);
        reader.reset(bytes);
        let back: unknown;
        try {
          back = c.coder.decode(reader, context);
        } catch (err) {
          throw new Error(`${c.name} [${context}] cannot decode its own ${hex(bytes)}: ${String(err)}`, { cause: err });
        }
        assert.equal(back, value, `${c.name} [${context}] ${hex(bytes)}`);
        assert.ok(reader.atEnd, `${c.name} [${context}]: ${reader.remaining} byte(s) left`);
      }
    }
  }
});

s.test("nested encodings follow each other in one buffer (one writer, one reader reused)", () => {
  const g = new Gen(seed + 3);
  const writer = new ByteWriter(16);
  const reader = new ByteReader();
  for (const c of cases) {
    writer.reset();
    const values = Array.from({ length: 50 }, () => c.value(g));
    for (const v of values) c.coder.encode(v, writer, "nested");
    reader.reset(writer.view());
    for (const v of values) assert.equal(c.coder.decode(reader, "nested"), v, c.name);
    assert.ok(reader.atEnd, `${c.name}: ${reader.remaining} byte(s) left`);
  }
});

s.test("random row schema payloads: coderFromComponents gives a coder or a CoderError", () => {
  const g = new Gen(seed + 4);
  const valid = rowCoder(everyType).payload!;
  let built = 0;
  for (let i = 0; i < 3000; i++) {
    const payload = i % 2 === 0 ? g.bytes(60) : mutate(g, valid);
    try {
      coderFromComponents("r", { r: { spec: { urn: CoderUrns.ROW, payload } } });
      built++;
    } catch (err) {
      if (!(err instanceof CoderError)) {
        throw new Error(`payload ${hex(payload)} threw ${(err as Error)?.name}: ${String(err)}`, { cause: err });
      }
    }
  }
  assert.ok(built > 0, "some mutated schemas still build");
});

s.run();
