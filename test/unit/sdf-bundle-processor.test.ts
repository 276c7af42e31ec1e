import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { CounterSdf, latch, rejects } from "./sdf-fixtures.js";
import {
  BundleProcessor,
  sdfElementCoders,
  sizedElement,
  type BundleDescriptor,
  type SizedElement,
} from "../../src/runners/bundle/index.js";
import {
  GLOBAL_WINDOW_FN,
  OFFSET_INFINITY,
  fixedWindowFn,
  offsetRange,
  type DoFn,
  type OffsetRange,
} from "../../src/sdf/index.js";
import { GLOBAL_WINDOW, MIN_TIMESTAMP, inGlobalWindow, type WindowedValue } from "../../src/model/windowing.js";
import {
  decodeFromBytes,
  encodeToBytes,
  globalWindowCoder,
  stringUtf8Coder,
  windowedValueCoder,
} from "../../src/model/coders/index.js";

const s = suite("sdf: bundle processor");

function collect(): { items: WindowedValue<unknown>[]; sink: (e: WindowedValue<unknown>) => void } {
  const items: WindowedValue<unknown>[] = [];
  return {
    items,
    sink: (e) => {
      items.push(e);
    },
  };
}

const sdfDescriptor = (dofn: CounterSdf): BundleDescriptor => ({
  transforms: {
    src: { kind: "source", inputs: {}, outputs: { out: "sized" } },
    process: {
      kind: "sdf-process-sized-element-and-restrictions",
      dofn,
      inputs: { in: "sized" },
      outputs: { out: "counts" },
    },
    sink: { kind: "sink", inputs: { in: "counts" }, outputs: {} },
  },
});

/** source → one ParDo → sink. */
const pardoDescriptor = (dofn: DoFn<never, unknown>): BundleDescriptor => ({
  transforms: {
    src: { kind: "source", inputs: {}, outputs: { out: "a" } },
    f: { kind: "pardo", dofn: dofn as DoFn<unknown, unknown>, inputs: { in: "a" }, outputs: { out: "b" } },
    sink: { kind: "sink", inputs: { in: "b" }, outputs: {} },
  },
});

const sized = (r: OffsetRange, state = MIN_TIMESTAMP): WindowedValue<SizedElement> =>
  inGlobalWindow(sizedElement("counter", r, state, Number(r.to - r.from)));

s.test("pardo chain: tagged and timestamped outputs, windows, async DoFns keep element order", async () => {
  const tags: DoFn<number, number> = {
    process(n, ctx) {
      if (n % 2 === 0) ctx.outputWithTimestamp(n * 10, BigInt(n) * 1000n);
      else ctx.outputTagged("odd", n);
    },
  };
  const slow: DoFn<number, string> = {
    async process(n, ctx) {
      await new Promise((r) => setTimeout(r, (7 - (n % 7)) % 3));
      ctx.output(`v${n}`);
      ctx.output(`w${n}`);
    },
  };
  const descriptor: BundleDescriptor = {
    transforms: {
      src: { kind: "source", inputs: {}, outputs: { out: "nums" } },
      split: {
        kind: "pardo",
        dofn: tags,
        mainOutput: "even",
        inputs: { in: "nums" },
        outputs: { even: "evens", odd: "odds" },
      },
      window: {
        kind: "window-into",
        windowFn: fixedWindowFn(5000),
        inputs: { in: "evens" },
        outputs: { out: "windowed" },
      },
      slow: { kind: "pardo", dofn: slow, inputs: { in: "odds" }, outputs: { out: "strings" } },
      flat: { kind: "flatten", inputs: { a: "windowed", b: "strings" }, outputs: { out: "all" } },
      sink: { kind: "sink", inputs: { in: "all" }, outputs: {} },
    },
  };
  const processor = new BundleProcessor(descriptor);
  const out = collect();
  const result = await processor.newBundle().run({
    inputs: { src: [0, 1, 2, 3, 4, 5, 6, 7].map((n) => inGlobalWindow(n)) },
    outputs: { sink: out.sink },
  });
  assert.equal(
    out.items.map((e) => e.value),
    [0, "v1", "w1", 20, "v3", "w3", 40, "v5", "w5", 60, "v7", "w7"],
  );
  const forty = out.items.find((e) => e.value === 40)!;
  assert.is(forty.timestamp, 4000n);
  assert.equal(forty.windows, [{ kind: "interval", start: 0n, end: 5000n }]);
  assert.equal(out.items.find((e) => e.value === 60)!.windows, [{ kind: "interval", start: 5000n, end: 10000n }]);
  assert.equal(out.items.find((e) => e.value === "v1")!.windows, [GLOBAL_WINDOW]);
  assert.equal(result.metrics.transforms.split, { elementsIn: 8, elementsOut: 8, counters: {} });
  assert.equal(result.metrics.transforms.slow!.elementsOut, 8);
  assert.equal(result.metrics.pcollections.all, { elements: 12 });
  assert.equal(result.residualRoots, []);
  assert.is(result.requiresFinalization, false);
  await processor.teardown();
});

s.test("pardo: outputs may not move back in time; lifecycle runs in Beam's order", async () => {
  const calls: string[] = [];
  const dofn: DoFn<number, number> = {
    setup: () => {
      calls.push("setup");
    },
    startBundle: () => {
      calls.push("start");
    },
    process: (n, ctx) => {
      calls.push(`p${n}`);
      ctx.outputWithTimestamp(n, 5n);
    },
    finishBundle: (ctx) => {
      calls.push("finish");
      ctx.output(99, 7n, GLOBAL_WINDOW);
    },
    teardown: () => {
      calls.push("teardown");
    },
  };
  const processor = new BundleProcessor(pardoDescriptor(dofn));
  const out = collect();
  await processor
    .newBundle()
    .run({ inputs: { src: [inGlobalWindow(1, 0n), inGlobalWindow(2, 5n)] }, outputs: { sink: out.sink } });
  await processor.newBundle().run({ inputs: { src: [] }, outputs: { sink: out.sink } });
  await processor.teardown();
  assert.equal(calls, ["setup", "start", "p1", "p2", "finish", "start", "finish", "teardown"]);
  assert.equal(
    out.items.map((e) => [e.value, e.timestamp]),
    [
      [1, 5n],
      [2, 5n],
      [99, 7n],
      [99, 7n],
    ],
  );

  const late = new BundleProcessor({
    transforms: {
      src: { kind: "source", inputs: {}, outputs: { out: "a" } },
      f: { kind: "pardo", dofn, inputs: { in: "a" }, outputs: { out: "b" } },
    },
  });
  await rejects(
    late.newBundle().run({ inputs: { src: [inGlobalWindow(3, 10n)] }, outputs: {} }),
    /cannot output with timestamp 5/,
  );
});

s.test("sdf steps: pair, split-and-size and truncate produce Beam's element shapes", async () => {
  const dofn = new CounterSdf({
    total: 10n,
    perCall: 100,
    splitInto: (r) => [offsetRange(r.from, 4n), offsetRange(4n, r.to)],
  });
  const out = collect();
  const processor = new BundleProcessor({
    transforms: {
      src: { kind: "source", inputs: {}, outputs: { out: "impulse" } },
      pair: { kind: "sdf-pair-with-restriction", dofn, inputs: { in: "impulse" }, outputs: { out: "paired" } },
      split: { kind: "sdf-split-and-size-restrictions", dofn, inputs: { in: "paired" }, outputs: { out: "sized" } },
      sink: { kind: "sink", inputs: { in: "sized" }, outputs: {} },
    },
  });
  await processor.newBundle().run({ inputs: { src: [inGlobalWindow("counter", 3n)] }, outputs: { sink: out.sink } });
  assert.equal(out.items, [
    inGlobalWindow(
      { key: { key: "counter", value: { key: offsetRange(0n, 4n), value: MIN_TIMESTAMP } }, value: 4 },
      3n,
    ),
    inGlobalWindow(
      { key: { key: "counter", value: { key: offsetRange(4n, 10n), value: MIN_TIMESTAMP } }, value: 6 },
      3n,
    ),
  ]);

  const unbounded = new CounterSdf({ perCall: 1 });
  const truncated = collect();
  const truncate = new BundleProcessor({
    transforms: {
      src: { kind: "source", inputs: {}, outputs: { out: "sized" } },
      t: {
        kind: "sdf-truncate-sized-restrictions",
        dofn: unbounded,
        inputs: { in: "sized" },
        outputs: { out: "kept" },
      },
      sink: { kind: "sink", inputs: { in: "kept" }, outputs: {} },
    },
  });
  await truncate.newBundle().run({
    inputs: { src: [sized(offsetRange(0n, 5n)), sized(offsetRange(5n, OFFSET_INFINITY))] },
    outputs: { sink: truncated.sink },
  });
  assert.equal(
    truncated.items.map((e) => (e.value as SizedElement).key.value.key),
    [offsetRange(0n, 5n)],
    "unbounded restriction dropped on drain",
  );
});

s.test("sdf process: resume checkpoints the unclaimed rest with the estimator's state as residual", async () => {
  const dofn = new CounterSdf({ perCall: 3, resumeDelayMs: 250 });
  const processor = new BundleProcessor(sdfDescriptor(dofn));
  const out = collect();
  const result = await processor
    .newBundle()
    .run({ inputs: { src: [sized(offsetRange(10n, OFFSET_INFINITY))] }, outputs: { sink: out.sink } });
  assert.equal(
    out.items.map((e) => [e.value, e.timestamp]),
    [
      [10n, 10n],
      [11n, 11n],
      [12n, 12n],
    ],
  );
  assert.is(result.residualRoots.length, 1);
  const [residual] = result.residualRoots;
  assert.is(residual!.requestedDelayMs, 250);
  assert.is(residual!.application.transformId, "process");
  assert.is(residual!.application.inputId, "in");
  assert.is(residual!.application.isBounded, "unbounded");
  assert.equal(residual!.application.outputWatermarks, { out: 12n });
  assert.equal(
    residual!.application.element.value,
    sizedElement("counter", offsetRange(13n, OFFSET_INFINITY), 12n, 1000),
  );
  // The residual crosses the wire as a windowed sized element, encoded with the DoFn's own coders.
  const wire = windowedValueCoder(sdfElementCoders(stringUtf8Coder, dofn).sized, globalWindowCoder);
  const bytes = encodeToBytes(wire, residual!.application.element, "nested");
  assert.equal(decodeFromBytes(wire, bytes, "nested"), residual!.application.element);
});

s.test(
  "sdf process: while deferring, restrictions go back whole and unstarted; the rest of the graph still runs",
  async () => {
    const dofn = new CounterSdf({ perCall: 3, resumeDelayMs: 250 });
    let deferMs: number | undefined;
    const processor = new BundleProcessor(sdfDescriptor(dofn), { deferSplittableWork: () => deferMs });
    const first = await processor
      .newBundle()
      .run({ inputs: { src: [sized(offsetRange(10n, OFFSET_INFINITY))] }, outputs: { sink: collect().sink } });
    assert.is(first.deferredRestrictions, 0);
    assert.is(first.inputElements, 1);
    deferMs = 1000;
    const out = collect();
    const calls = dofn.calls;
    const result = await processor.newBundle().run({
      inputs: { src: [sized(offsetRange(13n, OFFSET_INFINITY), 12n), sized(offsetRange(40n, 50n), 39n)] },
      outputs: { sink: out.sink },
    });
    assert.equal(out.items, []);
    assert.is(dofn.calls, calls, "processElement was not called");
    assert.is(result.inputElements, 2);
    assert.is(result.deferredRestrictions, 2);
    assert.equal(
      result.residualRoots.map((r) => [
        r.requestedDelayMs,
        r.application.element.value,
        r.application.outputWatermarks,
      ]),
      [
        [1000, sizedElement("counter", offsetRange(13n, OFFSET_INFINITY), 12n, 1000), { out: 12n }],
        [1000, sizedElement("counter", offsetRange(40n, 50n), 39n, 10), { out: 39n }],
      ],
    );
  },
);

s.test("sdf process: dynamic split at 0.5 of a running restriction covers exactly the original range", async () => {
  const paused = latch();
  const reached = latch();
  const dofn = new CounterSdf({
    total: 100n,
    perCall: 1000,
    beforeClaim: async (offset) => {
      if (offset === 20n) {
        reached.open();
        await paused.promise;
      }
    },
  });
  const processor = new BundleProcessor(sdfDescriptor(dofn));
  const out = collect();
  const bundle = processor.newBundle();
  const running = bundle.run({ inputs: { src: [sized(offsetRange(0n, 100n))] }, outputs: { sink: out.sink } });
  await reached.promise;
  // Last attempted offset is 19: split = 19 + floor((100 - 19) * 0.5) = 59.
  const progress = bundle.progress();
  assert.equal(progress.splittable, [{ transformId: "process", workCompleted: 19, workRemaining: 81 }]);
  const split = await bundle.trySplit({ src: { fractionOfRemainder: 0.5 } });
  paused.open();
  const result = await running;
  assert.ok(split);
  assert.equal(split!.channelSplits, [{ transformId: "src", lastPrimaryElement: -1, firstResidualElement: 1 }]);
  const primary = split!.primaryRoots[0]!.element.value.key.value.key as OffsetRange;
  const residual = split!.residualRoots[0]!.application.element.value.key.value.key as OffsetRange;
  assert.equal(primary, offsetRange(0n, 59n));
  assert.equal(residual, offsetRange(59n, 100n));
  assert.is(split!.primaryRoots[0]!.element.value.value, 59);
  assert.is(split!.residualRoots[0]!.application.element.value.value, 41);
  assert.equal(split!.residualRoots[0]!.application.outputWatermarks, { out: 19n });
  // The running DoFn stopped at the split: it emitted exactly the primary.
  assert.equal(
    out.items.map((e) => e.value),
    Array.from({ length: 59 }, (_, i) => BigInt(i)),
  );
  assert.equal(result.residualRoots, []);
});

s.test("channel split: a non-splittable bundle splits at an element boundary", async () => {
  const gate = latch();
  const started = latch();
  const dofn: DoFn<number, number> = {
    async process(n, ctx) {
      if (n === 2) {
        started.open();
        await gate.promise;
      }
      ctx.output(n);
    },
  };
  const processor = new BundleProcessor(pardoDescriptor(dofn));
  const out = collect();
  const bundle = processor.newBundle();
  const running = bundle.run({
    inputs: { src: Array.from({ length: 10 }, (_, i) => inGlobalWindow(i)) },
    outputs: { sink: out.sink },
  });
  await started.promise;
  // index 2 at progress 0.5: remainder 7.5, keep 3.75 -> stop at 2 + round(4.25) = 6.
  const split = await bundle.trySplit({ src: { fractionOfRemainder: 0.5 } });
  gate.open();
  await running;
  assert.equal(split, {
    primaryRoots: [],
    residualRoots: [],
    channelSplits: [{ transformId: "src", lastPrimaryElement: 5, firstResidualElement: 6 }],
  });
  assert.equal(
    out.items.map((e) => e.value),
    [0, 1, 2, 3, 4, 5],
  );
});

s.test("finalization: callbacks run once after finalize(), never for a failed bundle", async () => {
  const ran: string[] = [];
  let fail = false;
  const dofn: DoFn<string, string> = {
    process(v, ctx) {
      ctx.bundleFinalizer.afterBundleCommit(Date.now() + 60_000, () => {
        ran.push(v);
      });
      ctx.bundleFinalizer.afterBundleCommit(Date.now() - 1, () => {
        ran.push(`expired ${v}`);
      });
      if (fail) throw new Error(`boom on ${v}`);
    },
  };
  const descriptor: BundleDescriptor = {
    transforms: {
      src: { kind: "source", inputs: {}, outputs: { out: "a" } },
      f: { kind: "pardo", dofn, inputs: { in: "a" }, outputs: {} },
    },
  };
  const processor = new BundleProcessor(descriptor);
  const ok = processor.newBundle();
  const result = await ok.run({ inputs: { src: [inGlobalWindow("a")] }, outputs: {} });
  assert.is(result.requiresFinalization, true);
  assert.equal(ran, [], "nothing before finalize");
  assert.equal(await ok.finalize(), { ran: 1, expired: 1, superseded: 0 });
  assert.equal(await ok.finalize(), { ran: 0, expired: 0, superseded: 0 }, "at most once");
  assert.equal(ran, ["a"]);

  fail = true;
  const bad = processor.newBundle();
  const err = await bad.run({ inputs: { src: [inGlobalWindow("b")] }, outputs: {} }).catch((e: unknown) => e);
  assert.instance(err, Error);
  assert.is((err as Error).message, "boom on b");
  assert.match((err as Error).stack!, /sdf-bundle-processor\.test/);
  await rejects(bad.finalize(), /only a succeeded bundle/);
  assert.equal(ran, ["a"]);
  assert.ok(processor.broken);
  assert.throws(() => processor.newBundle(), /failed in an earlier bundle/);
  await processor.teardown();
});

s.test("finalization: a latest-wins callback is skipped once a later bundle's ran under its key", async () => {
  const ran: string[] = [];
  // Each element registers a commit of its own position under its key ("p0@3" commits 3 under p0).
  const dofn: DoFn<string, string> = {
    process(v, ctx) {
      const [key] = v.split("@");
      ctx.bundleFinalizer.afterBundleCommit(
        Date.now() + 60_000,
        () => {
          ran.push(v);
        },
        { latestWins: key },
      );
    },
  };
  const descriptor: BundleDescriptor = {
    transforms: {
      src: { kind: "source", inputs: {}, outputs: { out: "a" } },
      f: { kind: "pardo", dofn, inputs: { in: "a" }, outputs: {} },
    },
  };
  const processor = new BundleProcessor(descriptor);
  const bundles = [];
  for (const values of [["p0@1", "p1@1"], ["p0@2"], ["p0@3", "p1@3"]]) {
    const bundle = processor.newBundle();
    await bundle.run({ inputs: { src: values.map((v) => inGlobalWindow(v)) }, outputs: {} });
    bundles.push(bundle);
  }
  const latestRun = new Map<string, number>();
  // The runner finalizes the third bundle first, then the first, then the second.
  assert.equal(await bundles[2]!.finalize({ sequence: 3, latestRun }), { ran: 2, expired: 0, superseded: 0 });
  assert.equal(await bundles[0]!.finalize({ sequence: 1, latestRun }), { ran: 0, expired: 0, superseded: 2 });
  assert.equal(await bundles[1]!.finalize({ sequence: 2, latestRun }), { ran: 0, expired: 0, superseded: 1 });
  assert.equal(ran, ["p0@3", "p1@3"], "no older position after a newer one");

  // In order, every callback runs; without an order (the local runner finalizes as bundles finish), all run too.
  ran.length = 0;
  const again = [];
  for (const values of [["p0@4"], ["p0@5"]]) {
    const bundle = processor.newBundle();
    await bundle.run({ inputs: { src: values.map((v) => inGlobalWindow(v)) }, outputs: {} });
    again.push(bundle);
  }
  await again[0]!.finalize({ sequence: 4, latestRun });
  await again[1]!.finalize();
  assert.equal(ran, ["p0@4", "p0@5"]);
});

s.test("sdf process: a restriction left unfinished without resume fails checkDone", async () => {
  const dofn = new CounterSdf({ total: 10n, perCall: 3 });
  dofn.processElement = async (ctx, _e, tracker) => {
    tracker.tryClaim(0n);
    ctx.output(0n);
    return { shouldResume: false };
  };
  const processor = new BundleProcessor(sdfDescriptor(dofn));
  await rejects(
    processor.newBundle().run({ inputs: { src: [sized(offsetRange(0n, 10n))] }, outputs: { sink: () => {} } }),
    /\[1, 10\) was not attempted/,
  );
});

s.test("window-into global and multi-window elements are processed once per window", async () => {
  const seen: string[] = [];
  const dofn: DoFn<string, string> = {
    process(v, ctx) {
      seen.push(`${v}@${ctx.window.kind === "interval" ? ctx.window.start : "g"}`);
      ctx.output(v);
    },
  };
  const processor = new BundleProcessor({
    transforms: {
      src: { kind: "source", inputs: {}, outputs: { out: "a" } },
      f: { kind: "pardo", dofn, inputs: { in: "a" }, outputs: { out: "b" } },
      g: { kind: "window-into", windowFn: GLOBAL_WINDOW_FN, inputs: { in: "b" }, outputs: { out: "c" } },
      sink: { kind: "sink", inputs: { in: "c" }, outputs: {} },
    },
  });
  const out = collect();
  const two = [
    { kind: "interval", start: 0n, end: 10n },
    { kind: "interval", start: 5n, end: 15n },
  ] as const;
  await processor.newBundle().run({
    inputs: { src: [{ value: "x", timestamp: 7n, windows: two, pane: inGlobalWindow(0).pane }] },
    outputs: { sink: out.sink },
  });
  assert.equal(seen, ["x@0", "x@5"]);
  assert.equal(
    out.items.map((e) => [e.value, e.windows]),
    [
      ["x", [GLOBAL_WINDOW]],
      ["x", [GLOBAL_WINDOW]],
    ],
  );
});

s.run();
