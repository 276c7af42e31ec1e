// Coders from Runner API components (what a ProcessBundleDescriptor or an expansion carries) and back, and the
// byte layer's edges: varint limits, length prefixes that grow, corrupt counts that must fail fast.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { throwsCoderError } from "../assertions.js";
import {
  ByteReader,
  ByteWriter,
  CoderUrns,
  bytesCoder,
  coderFromComponents,
  CoderComponentSet,
  decodeFromBytes,
  encodeToBytes,
  globalWindowCoder,
  instantCoder,
  iterableCoder,
  kvCoder,
  lengthPrefixCoder,
  nullableCoder,
  readPane,
  rowCoder,
  stringUtf8Coder,
  varIntCoder,
  windowedValueCoder,
  writePane,
  type CoderProto,
} from "../../src/model/coders/index.js";
import { nullable, schema } from "../../src/model/schema.js";
import {
  MAX_TIMESTAMP,
  MIN_TIMESTAMP,
  NO_FIRING_PANE,
  inGlobalWindow,
  type PaneInfo,
} from "../../src/model/windowing.js";

const s = suite("coder registry and byte layer");
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const fromHex = (text: string) => new Uint8Array(Buffer.from(text, "hex"));

const spec = (urn: string, componentCoderIds: string[] = [], payload?: Uint8Array): CoderProto => ({
  spec: { urn, ...(payload ? { payload } : {}) },
  componentCoderIds,
});

const metadata = schema({ topic: "string", offset: "int64", key: nullable("bytes") });

s.test("builds the coder tree of a data channel element: windowed_value(length_prefix(row), global_window)", () => {
  const coders: Record<string, CoderProto> = {
    wv: spec(CoderUrns.WINDOWED_VALUE, ["lp", "gw"]),
    lp: spec(CoderUrns.LENGTH_PREFIX, ["row"]),
    row: spec(CoderUrns.ROW, [], rowCoder(metadata).payload),
    gw: spec(CoderUrns.GLOBAL_WINDOW),
  };
  const coder = coderFromComponents("wv", coders);
  const element = inGlobalWindow({ topic: "t", offset: 7n, key: null }, 1000n);
  const bytes = encodeToBytes(coder, element, "nested");
  assert.is(
    hex(bytes),
    "80000000000003e8" + "00000001" + "0f" + "06" + "03" + "0104" + "0174" + "07",
    "timestamp, 1 window, NO_FIRING pane, length 6, row: 3 fields, bitmap [0b100], topic, offset",
  );
  assert.equal(decodeFromBytes(coder, bytes, "nested"), element);
});

s.test("unknown URNs: a named error, or opaque bytes inside a length prefix when asked", () => {
  const coders = {
    kv: spec(CoderUrns.KV, ["s", "lp"]),
    s: spec(CoderUrns.STRING_UTF8),
    lp: spec(CoderUrns.LENGTH_PREFIX, ["py"]),
    py: spec("beam:coder:pickled_python:v1"),
  };
  throwsCoderError(() => coderFromComponents("kv", coders), "CODER_UNKNOWN_URN", "beam:coder:pickled_python:v1");
  throwsCoderError(() => coderFromComponents("kv", coders), "CODER_UNKNOWN_URN", "kv/1/0");
  const opaque = coderFromComponents("kv", coders, { unknownAsBytesInLengthPrefix: true });
  const bytes = fromHex("01610380029c");
  assert.equal(decodeFromBytes(opaque, bytes), { key: "a", value: fromHex("80029c") });
  assert.is(hex(encodeToBytes(opaque, { key: "a", value: fromHex("80029c") })), hex(bytes));
  // Outside a length prefix there is no way to know where the unknown value ends.
  throwsCoderError(
    () =>
      coderFromComponents(
        "kv",
        { ...coders, kv: spec(CoderUrns.KV, ["s", "py"]) },
        { unknownAsBytesInLengthPrefix: true },
      ),
    "CODER_UNKNOWN_URN",
    "pickled_python",
  );
  throwsCoderError(
    () => coderFromComponents("sbi", { sbi: spec(CoderUrns.STATE_BACKED_ITERABLE, ["v"]), v: spec(CoderUrns.VARINT) }),
    "CODER_UNKNOWN_URN",
    "state channel",
  );
});

s.test("malformed component maps are CODER_SPEC errors", () => {
  throwsCoderError(() => coderFromComponents("missing", {}), "CODER_SPEC", 'no coder with id "missing"');
  throwsCoderError(
    () => coderFromComponents("kv", { kv: spec(CoderUrns.KV, ["b"]), b: spec(CoderUrns.BYTES) }),
    "CODER_SPEC",
    "takes 2 component(s), got 1",
  );
  throwsCoderError(
    () => coderFromComponents("it", { it: spec(CoderUrns.ITERABLE, ["it"]) }),
    "CODER_SPEC",
    "contains itself",
  );
  throwsCoderError(() => coderFromComponents("r", { r: spec(CoderUrns.ROW) }), "CODER_SPEC", "needs a payload");
  throwsCoderError(
    () => coderFromComponents("r", { r: spec(CoderUrns.ROW, [], fromHex("0aff")) }),
    "CODER_SPEC",
    "row schema payload",
  );
  throwsCoderError(
    () =>
      coderFromComponents("p", {
        p: spec(CoderUrns.PARAM_WINDOWED_VALUE, ["v", "g"]),
        v: spec(CoderUrns.VARINT),
        g: spec(CoderUrns.GLOBAL_WINDOW),
      }),
    "CODER_SPEC",
    "needs a payload",
  );
});

s.test("a shared cache returns the same coder for the same id", () => {
  const coders = { it: spec(CoderUrns.ITERABLE, ["v"]), v: spec(CoderUrns.VARINT) };
  const cache = new Map();
  const a = coderFromComponents("it", coders, { cache });
  assert.is(coderFromComponents("it", coders, { cache }), a);
  assert.is(cache.get("v"), varIntCoder);
});

s.test("CoderComponentSet: ids from the prefix, equal subtrees shared, and back to the same coder", () => {
  const coder = windowedValueCoder(
    kvCoder(lengthPrefixCoder(rowCoder(metadata)), iterableCoder(nullableCoder(bytesCoder))),
    globalWindowCoder,
  );
  const set = new CoderComponentSet("ns_");
  const coderId = set.add(coder as never);
  const coders = set.coders;
  assert.ok(
    Object.keys(coders).every((id) => id.startsWith("ns_")),
    Object.keys(coders).join(", "),
  );
  assert.is(coders[coderId]!.spec.urn, CoderUrns.WINDOWED_VALUE);
  const rebuilt = coderFromComponents(coderId, coders);
  const element = inGlobalWindow({ key: { topic: "t", offset: 1n, key: null }, value: [null, fromHex("00")] });
  assert.is(hex(encodeToBytes(rebuilt, element)), hex(encodeToBytes(coder, element)));
  const twice = new CoderComponentSet("x_");
  const twiceId = twice.add(kvCoder(bytesCoder, bytesCoder) as never);
  assert.equal(Object.keys(twice.coders).sort(), ["x_bytes", "x_kv"]);
  assert.equal(twice.coders[twiceId]!.componentCoderIds, ["x_bytes", "x_bytes"]);
  throwsCoderError(
    () => new CoderComponentSet().add(kvCoder(instantCoder, bytesCoder) as never),
    "CODER_SPEC",
    "not a Runner API coder",
  );
});

s.test("CoderComponentSet: one entry per coder structure across adds (equal coders may be distinct objects)", () => {
  const set = new CoderComponentSet("x_");
  const kv = set.add(kvCoder(bytesCoder, bytesCoder) as never);
  assert.is(set.add(kvCoder(bytesCoder, bytesCoder) as never), kv);
  assert.is(set.add(bytesCoder as never), "x_bytes");
  const otherKv = set.add(kvCoder(varIntCoder, varIntCoder) as never);
  assert.is(otherKv, "x_kv_1");
  assert.equal(set.coders[otherKv]!.componentCoderIds, ["x_varint", "x_varint"]);
  // Row coders are equal by schema payload, not by object.
  const rows = [rowCoder(metadata), rowCoder(metadata)].map((c) => set.add(c as never));
  assert.is(rows[0], rows[1]);
  assert.equal(Object.keys(set.coders).sort(), ["x_bytes", "x_kv", "x_kv_1", rows[0], "x_varint"].sort());
});

s.test("varints: Beam's two's-complement form at the limits, and malformed ones rejected", () => {
  const cases: [bigint, string][] = [
    [0n, "00"],
    [127n, "7f"],
    [128n, "8001"],
    [300n, "ac02"],
    [2n ** 63n - 1n, "ffffffffffffffff7f"],
    [-1n, "ffffffffffffffffff01"],
    [-(2n ** 63n), "80808080808080808001"],
  ];
  for (const [value, bytes] of cases) {
    assert.is(hex(encodeToBytes(varIntCoder, value)), bytes, String(value));
    assert.is(decodeFromBytes(varIntCoder, fromHex(bytes)), value, bytes);
  }
  throwsCoderError(
    () => decodeFromBytes(varIntCoder, fromHex("ffffffffffffffffff02")),
    "CODER_INVALID",
    "overflows 64 bits",
  );
  throwsCoderError(() => decodeFromBytes(varIntCoder, fromHex("ffffffffffffffffff8100")), "CODER_INVALID", "overflows");
  throwsCoderError(() => decodeFromBytes(varIntCoder, fromHex("ff")), "CODER_TRUNCATED", "varint");
  throwsCoderError(() => decodeFromBytes(varIntCoder, fromHex("0100")), "CODER_INVALID", "1 byte(s) left");
  const w = new ByteWriter(16);
  w.writeVarInt32(-1);
  assert.is(hex(w.view()), "ffffffff0f", "int32 -1 is its unsigned pattern (Java's VarIntCoder)");
  const r = new ByteReader(fromHex("ffffffff0f" + "ffffffffffffffffff01"));
  assert.is(r.readVarInt32(), -1);
  assert.is(r.readVarInt32(), -1, "Python's 10-byte form of a negative int32 reads the same");
});

s.test("lengths: negative or beyond the input fail at once", () => {
  throwsCoderError(
    () => decodeFromBytes(bytesCoder, fromHex("ffffffffffffffffff01"), "nested"),
    "CODER_INVALID",
    "not a valid length",
  );
  throwsCoderError(
    () => decodeFromBytes(bytesCoder, fromHex("ffffffff0f00"), "nested"),
    "CODER_TRUNCATED",
    "bytes length",
  );
  throwsCoderError(
    () => decodeFromBytes(iterableCoder(varIntCoder), fromHex("7fffffff00")),
    "CODER_TRUNCATED",
    "2147483647 elements",
  );
  throwsCoderError(
    () => decodeFromBytes(iterableCoder(globalWindowCoder), fromHex("7fffffff")),
    "CODER_INVALID",
    "implausible",
  );
  throwsCoderError(
    () => decodeFromBytes(iterableCoder(varIntCoder), fromHex("fffffffe")),
    "CODER_INVALID",
    "element count -2",
  );
  // A length-prefixed value whose coder leaves bytes of the prefix unread.
  throwsCoderError(
    () => decodeFromBytes(lengthPrefixCoder(varIntCoder), fromHex("020101")),
    "CODER_INVALID",
    "left undecoded",
  );
});

s.test("length prefixes that need more than one byte move the body, at every size", () => {
  const coder = lengthPrefixCoder(bytesCoder);
  const writer = new ByteWriter(1);
  for (const size of [0, 1, 127, 128, 129, 16383, 16384, 100_000]) {
    const value = new Uint8Array(size).map((_, i) => i * 13);
    writer.reset();
    writer.writeByte(0xaa);
    coder.encode(value, writer, "nested");
    writer.writeByte(0xbb);
    const reader = new ByteReader(writer.view());
    assert.is(reader.readByte(), 0xaa);
    assert.equal(coder.decode(reader, "nested"), value, `size ${size}`);
    assert.is(reader.readByte(), 0xbb);
  }
  // Strings take the same path when long.
  const text = "ü".repeat(5000);
  assert.is(decodeFromBytes(stringUtf8Coder, encodeToBytes(stringUtf8Coder, text, "nested"), "nested"), text);
});

s.test("contexts: a top-level bytes value has no length prefix in the outer context", () => {
  assert.is(hex(encodeToBytes(bytesCoder, fromHex("0102"), "outer")), "0102");
  assert.is(hex(encodeToBytes(bytesCoder, fromHex("0102"), "nested")), "020102");
  const kv = kvCoder(bytesCoder, bytesCoder);
  assert.is(hex(encodeToBytes(kv, { key: fromHex("01"), value: fromHex("02") }, "outer")), "010102");
  assert.is(hex(encodeToBytes(kv, { key: fromHex("01"), value: fromHex("02") }, "nested")), "01010102");
});

s.test("pane info: the 1-3 byte forms", () => {
  const cases: [PaneInfo, string][] = [
    [NO_FIRING_PANE, "0f"],
    [{ isFirst: true, isLast: false, timing: "EARLY", index: 0n, onTimeIndex: -1n }, "1100"],
    [{ isFirst: false, isLast: false, timing: "EARLY", index: 3n, onTimeIndex: -1n }, "1003"],
    [{ isFirst: true, isLast: true, timing: "ON_TIME", index: 0n, onTimeIndex: 0n }, "07"],
    [{ isFirst: false, isLast: false, timing: "ON_TIME", index: 5n, onTimeIndex: 5n }, "1405"],
    [{ isFirst: false, isLast: true, timing: "ON_TIME", index: 30n, onTimeIndex: 40n }, "261e28"],
    [{ isFirst: false, isLast: true, timing: "LATE", index: 300n, onTimeIndex: 2n }, "2aac0202"],
  ];
  for (const [pane, bytes] of cases) {
    const w = new ByteWriter();
    writePane(w, pane);
    assert.is(
      hex(w.view()),
      bytes,
      JSON.stringify(pane, (_, v) => (typeof v === "bigint" ? String(v) : v)),
    );
    assert.equal(readPane(new ByteReader(fromHex(bytes))), pane, bytes);
  }
  throwsCoderError(() => readPane(new ByteReader(fromHex("3f"))), "CODER_INVALID", "unknown encoding 3");
});

s.test("instants: Beam's min and max timestamps, and values outside int64 rejected", () => {
  assert.is(hex(encodeToBytes(instantCoder, MIN_TIMESTAMP)), "7fdf3b645a1cac09");
  assert.is(hex(encodeToBytes(instantCoder, MAX_TIMESTAMP)), "8020c49ba5e353f7");
  assert.is(hex(encodeToBytes(instantCoder, -(2n ** 63n))), "0000000000000000");
  assert.is(decodeFromBytes(instantCoder, fromHex("ffffffffffffffff")), 2n ** 63n - 1n);
  assert.is(decodeFromBytes(instantCoder, fromHex("7fdf3b645a1cac09")), MIN_TIMESTAMP);
  throwsCoderError(() => encodeToBytes(instantCoder, 2n ** 63n), "CODER_VALUE", "int64 millisecond instant");
  throwsCoderError(() => encodeToBytes(instantCoder, 5 as unknown as bigint), "CODER_VALUE", "bigint");
});

s.run();
