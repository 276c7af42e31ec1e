import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { rejection } from "../assertions.js";
import {
  Count,
  Create,
  Filter,
  FixedWindows,
  GlobalWindows,
  FlatMap,
  Flatten,
  GroupByKey,
  Map,
  ParDo,
  Pipeline,
  PipelineAssertionError,
  WindowInto,
  WithTimestamps,
  assertThat,
  kv,
  repeatedlyElementCount,
  type DoFn,
  type KV,
} from "../../src/pipeline/index.js";
import { LocalRunner } from "../../src/runners/local/index.js";
import { CounterSdf } from "./sdf-fixtures.js";

const s = suite("local runner: bounded pipelines", { timeoutMs: 20_000 });

/** Records every element with its timestamp, window and pane (the runner is in-process). */
function recorder<T>(into: { value: T; timestamp: bigint; window: string; pane: string }[]): DoFn<T, T> {
  return {
    process(value, ctx) {
      const w = ctx.window;
      into.push({
        value,
        timestamp: ctx.timestamp,
        window: w.kind === "global" ? "global" : `[${w.start},${w.end})`,
        pane: ctx.pane.timing,
      });
      ctx.output(value);
    },
  };
}

s.test(
  "Create → Map → Filter → WindowInto(fixed) → Count.perKey fires exact windows at their max timestamp",
  async () => {
    const p = Pipeline.create();
    const events = p.apply(
      Create.timestamped([
        { value: "click:a", timestamp: 1_000n },
        { value: "view:a", timestamp: 2_000n },
        { value: "click:b", timestamp: 9_999n },
        { value: "click:a", timestamp: 10_000n },
        { value: "click:a", timestamp: 15_000n },
        { value: "click:b", timestamp: 25_500n },
        { value: "view:b", timestamp: 26_000n },
      ]),
    );
    const counts = events
      .apply(
        Map((e: string) => {
          const [kind, user] = e.split(":");
          return { kind: kind!, user: user! };
        }),
      )
      .apply(Filter((e: { kind: string; user: string }) => e.kind === "click"))
      .apply(Map((e: { kind: string; user: string }) => kv(e.user, 1)))
      .apply(WindowInto(FixedWindows(10_000)))
      .apply(Count.perKey<string>());
    const seen: { value: KV<string, number>; timestamp: bigint; window: string; pane: string }[] = [];
    counts.apply("Record", ParDo.of(recorder(seen)));
    assertThat(counts).containsInAnyOrder([kv("a", 1), kv("b", 1), kv("a", 2), kv("b", 1)]);
    const handle = p.run(new LocalRunner());
    assert.is(await handle.waitUntilFinish(10_000), "DONE");
    seen.sort((x, y) =>
      x.timestamp === y.timestamp ? x.value.key.localeCompare(y.value.key) : x.timestamp < y.timestamp ? -1 : 1,
    );
    assert.equal(seen, [
      { value: kv("a", 1), timestamp: 9_999n, window: "[0,10000)", pane: "ON_TIME" },
      { value: kv("b", 1), timestamp: 9_999n, window: "[0,10000)", pane: "ON_TIME" },
      { value: kv("a", 2), timestamp: 19_999n, window: "[10000,20000)", pane: "ON_TIME" },
      { value: kv("b", 1), timestamp: 29_999n, window: "[20000,30000)", pane: "ON_TIME" },
    ]);
    const m = handle.metrics().steps;
    assert.equal(m.Filter, { elementsIn: 7, elementsOut: 5, bundles: 1, counters: {} });
    assert.equal(m["CountPerKey/GroupByKey"], { elementsIn: 5, elementsOut: 4, bundles: 0, counters: {} });
  },
);

s.test("GroupByKey in the global window, Count.globally, FlatMap and a flatten across stages", async () => {
  const p = Pipeline.create();
  const lines = p.apply("Lines", Create.of(["a b", "b c c", ""]));
  const words = lines.apply(FlatMap((l: string) => l.split(" ").filter((w) => w.length > 0)));
  const more = p.apply("More", Create.of(["c", "d"]));
  const all = p.apply(Flatten.of(words, more));
  const grouped = all.apply(Map((w: string) => kv(w, w.length))).apply(GroupByKey<string, number>());
  assertThat(
    grouped.apply(
      "Sizes",
      Map((g: KV<string, number[]>) => `${g.key}:${g.value.length}`),
    ),
  ).containsInAnyOrder(["a:1", "b:2", "c:3", "d:1"]);
  assertThat(all.apply(Count.globally())).containsInAnyOrder([7]);
  assertThat(p.apply("Nothing", Create.of<string>([]))).empty();
  assertThat(grouped).satisfies((groups) => {
    assert.equal(groups.map((g) => `${g.key}=${[...g.value].sort().join("+")}`).sort(), [
      "a=1",
      "b=1+1",
      "c=1+1+1",
      "d=1",
    ]);
  });
  assert.is(await p.run(new LocalRunner()).waitUntilFinish(10_000), "DONE");
});

s.test("a bounded splittable DoFn that checkpoints every 7 offsets emits each offset exactly once", async () => {
  const p = Pipeline.create();
  const dofn = new CounterSdf({ total: 100n, perCall: 7 });
  const offsets = p.apply(Create.of(["counter"])).apply("Count", ParDo.of(dofn));
  assertThat(offsets).containsInAnyOrder(Array.from({ length: 100 }, (_, i) => BigInt(i)));
  const handle = p.run(new LocalRunner());
  assert.is(await handle.waitUntilFinish(10_000), "DONE");
  assert.is(dofn.calls, 15, "14 checkpoints of 7, then the last 2 and a failed claim");
  const m = handle.metrics().steps;
  assert.is(m.Count!.elementsOut, 100);
  assert.is(m.Count!.elementsIn, 15);
  assert.is(m["Count/PairWithRestriction"]!.elementsOut, 1);
});

s.test("user counters are reported per step", async () => {
  const p = Pipeline.create();
  p.apply(Create.of([1, 2, 3, 4, 5])).apply(
    "Odd",
    ParDo.of<number, number>({
      process(n, ctx) {
        ctx.metrics.counter(n % 2 ? "odd" : "even").inc();
        ctx.metrics.counter("sum").inc(n);
      },
    }),
  );
  const handle = p.run(new LocalRunner());
  await handle.waitUntilFinish(10_000);
  assert.equal(handle.metrics().steps.Odd, {
    elementsIn: 5,
    elementsOut: 0,
    bundles: 1,
    counters: { odd: 3, even: 2, sum: 15 },
  });
});

s.test("a user error fails the pipeline with its own message and stack, and DoFns are torn down", async () => {
  let tornDown = 0;
  function explodeOnThree(n: number): number {
    if (n === 3) throw new RangeError("three is not allowed");
    return n;
  }
  const p = Pipeline.create();
  p.apply(Create.of([1, 2, 3, 4])).apply(
    "Explode",
    ParDo.of<number, number>({
      process: (n, ctx) => {
        ctx.output(explodeOnThree(n));
      },
      teardown: () => {
        tornDown++;
      },
    }),
  );
  const handle = p.run(new LocalRunner());
  const error = await rejection(handle.waitUntilFinish(10_000));
  assert.instance(error, RangeError);
  assert.is((error as Error).message, "three is not allowed");
  assert.match((error as Error).stack!, /explodeOnThree/);
  assert.match((error as Error).stack!, /local-runner-bounded\.test/);
  assert.is(handle.state, "FAILED");
  assert.is(tornDown, 1);
});

s.test("a failed assertion names what was missing and what was unexpected", async () => {
  const p = Pipeline.create();
  assertThat(p.apply(Create.of([1, 2, 2])), "twos").containsInAnyOrder([1, 2, 3]);
  const error = await rejection(p.run(new LocalRunner()).waitUntilFinish(10_000));
  assert.instance(error, PipelineAssertionError);
  assert.is((error as Error).message, "twos: expected 3 element(s) in any order, got 3; missing: 3; unexpected: 2");
});

s.test("timestamps: WithTimestamps moves forward only; outputs before the input are rejected", async () => {
  const p = Pipeline.create();
  const stamped = p.apply(Create.of([5, 1])).apply(WithTimestamps((n: number) => BigInt(n)));
  stamped.apply(
    "Back",
    WithTimestamps((n: number) => BigInt(n) - 1n),
  );
  const error = await rejection(p.run(new LocalRunner()).waitUntilFinish(10_000));
  assert.match(
    String((error as Error).message),
    /Back: cannot output with timestamp 4: it is earlier than the input's timestamp 5/,
  );
});

s.test("timestamps: a DoFn declaring outputsMayPrecedeInput may stamp outputs before its input", async () => {
  const p = Pipeline.create();
  const seen: { value: number; timestamp: bigint; window: string; pane: string }[] = [];
  p.apply(Create.timestamped([{ value: 5, timestamp: 50n }]))
    .apply(
      "Restore",
      ParDo.of<number, number>({
        outputsMayPrecedeInput: true,
        process: (n, ctx) => void ctx.outputWithTimestamp(n, BigInt(n)),
      }),
    )
    .apply(ParDo.of(recorder(seen)));
  await p.run(new LocalRunner()).waitUntilFinish(10_000);
  assert.equal(seen, [{ value: 5, timestamp: 5n, window: "global", pane: "UNKNOWN" }]);
});

s.test("bundles are capped by maxBundleSize", async () => {
  const p = Pipeline.create();
  const values = Array.from({ length: 25 }, (_, i) => ({ value: i, timestamp: BigInt(i) }));
  // 25 one-millisecond windows: the GroupByKey emits 25 groups, which the next stage reads in bundles of 10.
  const out = p
    .apply(Create.timestamped(values))
    .apply(WindowInto(FixedWindows(1)))
    .apply(Map((n: number) => kv(n % 3, n)))
    .apply(GroupByKey<number, number>());
  const sizes: number[] = [];
  out.apply(
    "Sizes",
    ParDo.of<KV<number, number[]>, never>({
      process: (g) => {
        sizes.push(g.value.length);
      },
    }),
  );
  const handle = p.run(new LocalRunner({ maxBundleSize: 10 }));
  await handle.waitUntilFinish(10_000);
  assert.equal(
    sizes,
    Array.from({ length: 25 }, () => 1),
  );
  assert.equal(handle.metrics().steps.Sizes, { elementsIn: 25, elementsOut: 0, bundles: 3, counters: {} });
  assert.equal(handle.metrics().steps.Map!.bundles, 1, "the fused Create stage reads one impulse");
});

s.test(
  "an element-count trigger: the GroupByKey emits each key's new values when a bundle commits (discarding), pane by pane",
  async () => {
    const p = Pipeline.create();
    const items = ["a1", "a2", "b1", "a3", "a4", "b2", "a5", "a6", "b3", "a7"];
    const panes: { key: string; values: string[]; index: bigint; timing: string; first: boolean; last: boolean }[] = [];
    p.apply(Create.of(items))
      // Through a GroupByKey so the items reach the next stage as a queue, run in bundles of maxBundleSize (4).
      .apply(Map((v: string) => kv(v, v)))
      .apply("Spread", GroupByKey<string, string>())
      .apply(FlatMap((g: KV<string, string[]>) => g.value))
      .apply(WindowInto<string>(GlobalWindows(), "EveryElement", { trigger: repeatedlyElementCount(1) }))
      .apply(Map((v: string) => kv(v[0]!, v)))
      .apply("ByLetter", GroupByKey<string, string>())
      .apply(
        ParDo.of<KV<string, string[]>, never>({
          process(group, ctx) {
            const { index, timing, isFirst, isLast } = ctx.pane;
            panes.push({ key: group.key, values: [...group.value], index, timing, first: isFirst, last: isLast });
          },
        }),
      );
    assert.is(await p.run(new LocalRunner({ maxBundleSize: 4 })).waitUntilFinish(10_000), "DONE");
    const of = (key: string) => panes.filter((x) => x.key === key).map(({ key: _, ...rest }) => rest);
    assert.equal(of("a"), [
      { values: ["a1", "a2", "a3"], index: 0n, timing: "EARLY", first: true, last: false },
      { values: ["a4", "a5", "a6"], index: 1n, timing: "EARLY", first: false, last: false },
      { values: ["a7"], index: 2n, timing: "EARLY", first: false, last: false },
    ]);
    assert.equal(
      of("b").map((x) => [x.values, x.index]),
      [
        [["b1"], 0n],
        [["b2"], 1n],
        [["b3"], 2n],
      ],
    );
  },
);

s.test(
  "an element-count trigger of 3: a key fires once it holds 3 new values; the rest at the window's end",
  async () => {
    const p = Pipeline.create();
    const got: string[] = [];
    p.apply(Create.of(["x1", "x2", "x3", "x4", "y1"]))
      .apply(WindowInto<string>(GlobalWindows(), "EveryThree", { trigger: repeatedlyElementCount(3) }))
      .apply(Map((v: string) => kv(v[0]!, v)))
      .apply(GroupByKey<string, string>())
      .apply(
        ParDo.of<KV<string, string[]>, never>({
          process(group, ctx) {
            got.push(`${group.key}:${group.value.join(",")}:${ctx.pane.index}:${ctx.pane.timing}:${ctx.pane.isLast}`);
          },
        }),
      );
    assert.is(await p.run(new LocalRunner()).waitUntilFinish(10_000), "DONE");
    // One bundle: x reached 3 in it (an early pane with all 4), y did not (its only pane is the on-time one).
    assert.equal(got.sort(), ["x:x1,x2,x3,x4:0:EARLY:false", "y:y1:0:ON_TIME:true"]);
  },
);

s.run();
