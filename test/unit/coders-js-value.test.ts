// The coder of TypeScript values that declare no coder (beam:coder:kafka-beam-ts:js_value:v1): JSON plus bigints and
// bytes, exact round trips, a deterministic encoding, refusals that say why, and its place in the registry.
import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { throwsCoderError } from "../assertions.js";
import {
  CoderComponentSet,
  coderFromComponents,
  decodeFromBytes,
  encodeToBytes,
  JS_VALUE_CODER_URN,
  jsValueCoder,
  kvCoder,
  stringUtf8Coder,
} from "../../src/model/coders/index.js";

const s = suite("coders: js_value");

s.test("round trips JSON values, bigints and bytes, nested or outer", () => {
  const values: unknown[] = [
    null,
    true,
    0,
    -1.5,
    "text ☃",
    [],
    {},
    [1, "two", null],
    { seq: 7, user: "user-7", nested: { cents: 1250n, tags: ["a", "b"] } },
    { offset: 9007199254740993n, payload: Buffer.from([0, 1, 254, 255]) },
    new Uint8Array([1, 2, 3]),
    { $kbt: "not a tag", other: 1 },
  ];
  for (const value of values) {
    const expected = value instanceof Uint8Array ? Buffer.from(value) : value;
    assert.equal(decodeFromBytes(jsValueCoder, encodeToBytes(jsValueCoder, value)), expected);
    assert.equal(decodeFromBytes(jsValueCoder, encodeToBytes(jsValueCoder, value, "nested"), "nested"), expected);
  }
  const awkward = JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1}') as Record<string, unknown>;
  const back = decodeFromBytes(jsValueCoder, encodeToBytes(jsValueCoder, awkward)) as Record<string, unknown>;
  assert.equal(Object.keys(back), ["__proto__", "constructor"]);
  assert.is(Object.getPrototypeOf(back), Object.prototype, "a field named __proto__ stays a field");
  const pair = kvCoder(stringUtf8Coder, jsValueCoder);
  assert.equal(decodeFromBytes(pair, encodeToBytes(pair, { key: "k", value: { n: 1n } })), {
    key: "k",
    value: { n: 1n },
  });
});

s.test("equal values in the same shape encode to the same bytes (runners group by them)", () => {
  const a = encodeToBytes(jsValueCoder, { user: "u1", n: 3n });
  const b = encodeToBytes(jsValueCoder, { user: "u1", n: 3n });
  assert.equal(Buffer.from(a), Buffer.from(b));
  assert.is(Buffer.from(encodeToBytes(jsValueCoder, "k1")).toString(), '"k1"');
});

s.test("a Map, a Set, a function or a cycle is refused, naming where", () => {
  throwsCoderError(
    () => encodeToBytes(jsValueCoder, { totals: new Map([["a", 1]]) }),
    "CODER_VALUE",
    ".totals is a Map",
  );
  throwsCoderError(() => encodeToBytes(jsValueCoder, [1, new Set([2])]), "CODER_VALUE", "[1] is a Set");
  throwsCoderError(() => encodeToBytes(jsValueCoder, () => 1), "CODER_VALUE", "cannot encode");
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  throwsCoderError(() => encodeToBytes(jsValueCoder, cycle), "CODER_VALUE", "cannot encode");
  throwsCoderError(() => decodeFromBytes(jsValueCoder, Buffer.from("{not json")), "CODER_VALUE", "not JSON");
});

s.test("the registry builds it from a Runner API coder, and a component set names it js_value", () => {
  const set = new CoderComponentSet("p_");
  const id = set.add(kvCoder(stringUtf8Coder, jsValueCoder) as never);
  assert.equal(Object.keys(set.coders).sort(), ["p_js_value", "p_kv", "p_string_utf8"]);
  assert.is(set.coders.p_js_value!.spec!.urn, JS_VALUE_CODER_URN);
  const rebuilt = coderFromComponents(id, set.coders);
  assert.equal(decodeFromBytes(rebuilt, encodeToBytes(rebuilt, { key: "k", value: [1n] })), { key: "k", value: [1n] });
});

s.run();
