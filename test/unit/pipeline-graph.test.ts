import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import {
  Count,
  Create,
  Filter,
  FixedWindows,
  Flatten,
  GroupByKey,
  Map,
  ParDo,
  Pipeline,
  PipelineConstructionError,
  WindowInto,
  WithTimestamps,
  kv,
  primitiveTransforms,
  structuralKey,
} from "../../src/pipeline/index.js";
import { CounterSdf } from "./sdf-fixtures.js";

const s = suite("pipeline: graph construction");

s.test("composites nest their primitives under unique names, as plain data", () => {
  const p = Pipeline.create();
  const words = p.apply(Create.of(["a", "bb", "a"]));
  const lengths = words.apply(Map((w: string) => w.length));
  const again = words.apply(Map((w: string) => w.toUpperCase()));
  const counted = lengths.apply(Count.perElement());
  const g = p.graph;
  assert.equal(g.roots, ["Create", "Map", "Map_2", "CountPerElement"]);
  assert.equal(g.transforms.Create!.subtransforms, ["Create/Impulse", "Create/Values"]);
  assert.equal(g.transforms.CountPerElement!.subtransforms, ["CountPerElement/KeyByElement", "CountPerElement/PerKey"]);
  assert.equal(g.transforms["CountPerElement/PerKey"]!.subtransforms, [
    "CountPerElement/PerKey/GroupByKey",
    "CountPerElement/PerKey/CountValues",
  ]);
  assert.equal(
    primitiveTransforms(g).map((t) => [t.id, t.payload.kind]),
    [
      ["Create/Impulse", "impulse"],
      ["Create/Values", "pardo"],
      ["Map", "pardo"],
      ["Map_2", "pardo"],
      ["CountPerElement/KeyByElement", "pardo"],
      ["CountPerElement/PerKey/GroupByKey", "group-by-key"],
      ["CountPerElement/PerKey/CountValues", "pardo"],
    ],
  );
  assert.equal(g.transforms.Map!.inputs, { input: words.id });
  assert.equal(g.transforms.Map!.outputs, { output: lengths.id });
  assert.equal(g.transforms.Create!.outputs, { output: words.id });
  assert.equal(g.transforms.CountPerElement!.inputs, { input: lengths.id });
  assert.equal(g.transforms.CountPerElement!.outputs, { output: counted.id });
  assert.is(g.pcollections[again.id]!.producer, "Map_2");
  assert.ok(counted.isBounded);
});

s.test("windowing follows WindowInto; SDFs declare unbounded outputs; flatten checks windows", () => {
  const p = Pipeline.create();
  const nums = p.apply(Create.of([1, 2, 3])).apply(WithTimestamps((n: number) => BigInt(n) * 1000n));
  const windowed = nums.apply(WindowInto(FixedWindows(60_000)));
  const grouped = windowed.apply(Map((n: number) => kv(n % 2, n))).apply(GroupByKey<number, number>());
  assert.equal(nums.windowFn, { kind: "global" });
  assert.equal(grouped.windowFn, { kind: "fixed", sizeMs: 60_000n, offsetMs: 0n });
  const ticks = p.apply("Ticks", Create.of(["t"])).apply("Read", ParDo.of(new CounterSdf({ perCall: 1 })));
  assert.is(ticks.isBounded, false);
  assert.is(p.graph.transforms.Read!.payload.kind, "pardo");
  assert.ok((p.graph.transforms.Read!.payload as { splittable: boolean }).splittable);
  assert.throws(
    () => p.apply(Flatten.of<unknown>(nums, windowed)),
    (e: unknown) => e instanceof PipelineConstructionError && /same window function/.test(e.message),
  );
  const both = p.apply(Flatten.of(nums, nums.apply(Filter((n: number) => n > 1))));
  assert.equal(Object.keys(p.graph.transforms[p.graph.pcollections[both.id]!.producer]!.inputs), ["0", "1"]);
  assert.throws(
    () =>
      nums.apply(
        "bad/label",
        Map((n: number) => n),
      ),
    /no "\/"/,
  );
});

s.test("structural keys identify values independent of key order and representation", () => {
  assert.is(structuralKey({ b: 1n, a: [1, "x"] }), structuralKey({ a: [1, "x"], b: 1n }));
  assert.is.not(structuralKey(1), structuralKey(1n));
  assert.is.not(structuralKey("1"), structuralKey(1));
  assert.is(structuralKey(new Uint8Array([1, 2])), structuralKey(Buffer.from([1, 2])));
  assert.is.not(structuralKey(null), structuralKey(undefined));
});

s.run();
