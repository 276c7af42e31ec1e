import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { rejection } from "../assertions.js";
import { Count, Create, FixedWindows, ParDo, Pipeline, WindowInto, type DoFn } from "../../src/pipeline/index.js";
import { LocalRunner, type BundleCommittedEvent } from "../../src/runners/local/index.js";
import { MIN_TIMESTAMP } from "../../src/model/windowing.js";
import { CounterSdf, latch } from "./sdf-fixtures.js";

const s = suite("local runner: unbounded pipelines", { timeoutMs: 20_000 });

function record<T>(into: T[], onEach?: () => void): DoFn<T, T> {
  return {
    process(v, ctx) {
      into.push(v);
      onEach?.();
      ctx.output(v);
    },
  };
}

/** Resolves once `predicate` holds, polling every few ms. */
async function until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function assertExactlyOnce(values: bigint[]): void {
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  assert.equal(
    sorted,
    Array.from({ length: sorted.length }, (_, i) => BigInt(i)),
    "offsets 0..n-1, each exactly once",
  );
}

s.test(
  "counter SDF: checkpoint/resume emits each offset once, watermarks rise monotonically, cancel finalizes every committed bundle",
  async () => {
    const finalized: [bigint, bigint | undefined][] = [];
    const dofn = new CounterSdf({
      perCall: 5,
      resumeDelayMs: 2,
      onFinalize: (first, last) => {
        finalized.push([first, last]);
      },
    });
    const p = Pipeline.create();
    const offsets = p.apply(Create.of(["counter"])).apply("Counter", ParDo.of(dofn));
    const seen: bigint[] = [];
    offsets.apply("Record", ParDo.of(record(seen)));
    const events: BundleCommittedEvent[] = [];
    const handle = p.run(new LocalRunner({ onBundleCommitted: (e) => events.push(e) }));
    await until(() => seen.length >= 200, "200 offsets");
    const t0 = Date.now();
    assert.is(await handle.cancel(), "CANCELLED");
    const cancelMs = Date.now() - t0;
    assert.ok(cancelMs < 500, `cancel took ${cancelMs} ms`);
    assert.is(handle.state, "CANCELLED");
    assertExactlyOnce(seen);
    assert.is(seen.length % 5, 0, "every committed bundle claimed exactly 5 offsets");

    // One finalization per committed SDF bundle, covering exactly what was emitted, none lost at cancel.
    assert.equal(
      finalized,
      Array.from({ length: seen.length / 5 }, (_, i) => [BigInt(i * 5), BigInt(i * 5 + 4)]),
    );

    const marks = events.map((e) => e.watermarks[offsets.id]!);
    for (let i = 1; i < marks.length; i++) assert.ok(marks[i]! >= marks[i - 1]!, `watermark went back at event ${i}`);
    // The watermark of the counter's output trails the last committed offset: its residual's estimator holds it.
    assert.is(handle.watermarks()[offsets.id], BigInt(seen.length - 1));
    assert.ok(marks.filter((m) => m > MIN_TIMESTAMP).length > 10, "the watermark advanced while running");
    const m = handle.metrics().steps;
    assert.is(m.Counter!.elementsOut, seen.length);
    assert.is(m.Counter!.bundles, seen.length / 5);
  },
);

s.test(
  "runner-initiated checkpoints split an SDF that never returns on its own, without loss or duplicates",
  async () => {
    const dofn = new CounterSdf({
      perCall: Number.MAX_SAFE_INTEGER,
      beforeClaim: () => new Promise((r) => setImmediate(r)),
    });
    const p = Pipeline.create();
    const offsets = p.apply(Create.of(["counter"])).apply("Counter", ParDo.of(dofn));
    const seen: bigint[] = [];
    offsets.apply("Record", ParDo.of(record(seen)));
    const handle = p.run(new LocalRunner({ maxBundleDurationMs: 20 }));
    await until(() => dofn.calls >= 4, "4 bundles");
    const t0 = Date.now();
    await handle.cancel();
    assert.ok(Date.now() - t0 < 500, "cancel checkpoints the bundle in flight");
    assertExactlyOnce(seen);
    assert.ok(seen.length > 0);
    assert.is(handle.metrics().steps.Counter!.elementsOut, seen.length);
  },
);

s.test("cancel during a slow DoFn setup still stops a read that never checkpoints by itself", async () => {
  const dofn = new CounterSdf({
    perCall: Number.MAX_SAFE_INTEGER,
    beforeClaim: () => new Promise((r) => setImmediate(r)),
  });
  let tornDown = false;
  Object.assign(dofn, {
    setup: () => new Promise((r) => setTimeout(r, 100)),
    teardown: () => {
      tornDown = true;
    },
  });
  const p = Pipeline.create();
  const offsets = p.apply(Create.of(["counter"])).apply("Counter", ParDo.of(dofn));
  const seen: bigint[] = [];
  offsets.apply("Record", ParDo.of(record(seen)));
  const handle = p.run(new LocalRunner({ maxBundleDurationMs: 60_000 }));
  await new Promise((r) => setTimeout(r, 20));
  const t0 = Date.now();
  assert.is(await handle.cancel(), "CANCELLED");
  const took = Date.now() - t0;
  assert.ok(took < 1_000, `cancel took ${took} ms`);
  assertExactlyOnce(seen);
  assert.ok(tornDown);
});

s.test("finalizers never run for a failed bundle, and the failure surfaces with its stack", async () => {
  const finalized: [bigint, bigint | undefined][] = [];
  const dofn = new CounterSdf({
    perCall: 5,
    onFinalize: (first, last) => {
      finalized.push([first, last]);
    },
    beforeClaim: (offset) => {
      if (offset === 12n) throw new Error("broker went away at offset 12");
    },
  });
  const p = Pipeline.create();
  p.apply(Create.of(["counter"])).apply("Counter", ParDo.of(dofn));
  const handle = p.run(new LocalRunner());
  const error = await rejection(handle.waitUntilFinish(10_000));
  assert.is((error as Error).message, "broker went away at offset 12");
  assert.match((error as Error).stack!, /beforeClaim/);
  assert.is(handle.state, "FAILED");
  assert.equal(
    finalized,
    [
      [0n, 4n],
      [5n, 9n],
    ],
    "the bundle of offsets 10.. registered a callback but failed",
  );
});

s.test("windows over an unbounded source fire as the watermark passes them, with exact counts", async () => {
  const dofn = new CounterSdf({ perCall: 7, timestampOf: (o) => o * 100n });
  const p = Pipeline.create();
  const counts = p
    .apply(Create.of(["counter"]))
    .apply("Counter", ParDo.of(dofn))
    .apply(WindowInto(FixedWindows(1_000)))
    .apply(Count.globally());
  const fired: { count: number; end: bigint }[] = [];
  const gate = latch();
  counts.apply(
    "Record",
    ParDo.of<number, never>({
      process(count, ctx) {
        fired.push({ count, end: ctx.window.kind === "interval" ? ctx.window.end : -1n });
        if (fired.length === 5) gate.open();
      },
    }),
  );
  const handle = p.run(new LocalRunner());
  await gate.promise;
  await handle.cancel();
  assert.ok(fired.length >= 5);
  // Offsets 10k..10k+9 have timestamps in [1000k, 1000k+1000): ten per window, each fired exactly once, in order.
  assert.equal(
    fired,
    fired.map((_, i) => ({ count: 10, end: BigInt((i + 1) * 1000) })),
  );
});

s.test("an upstream SDF that resumes after a delay still runs while a downstream SDF always has work", async () => {
  // Upstream: one element per call, every 20 ms (as partition discovery). Downstream: each element is an endless
  // counter that resumes at once, so its stage never runs dry; the upstream stage must still get its turns.
  const upstream = new CounterSdf({ perCall: 1, resumeDelayMs: 20 });
  const downstream = new CounterSdf({ perCall: 1 });
  const p = Pipeline.create();
  p.apply(Create.of(["source"]))
    .apply("Upstream", ParDo.of(upstream))
    .apply(
      "ToName",
      ParDo.of<bigint, string>({
        process(n, ctx) {
          ctx.output(`counter-${n}`);
        },
      }),
    )
    .apply("Downstream", ParDo.of(downstream));
  const handle = p.run(new LocalRunner({ maxBundleDurationMs: 100 }));
  await new Promise((r) => setTimeout(r, 1_000));
  await handle.cancel();
  assert.ok(upstream.calls >= 5, `the upstream SDF ran ${upstream.calls} time(s) in 1 s`);
  assert.ok(downstream.calls > upstream.calls, "the downstream SDF ran too");
});

s.test("a bounded run finishes on its own; waitUntilFinish times out with RUNNING for an unbounded one", async () => {
  const p = Pipeline.create();
  p.apply(Create.of(["counter"])).apply("Counter", ParDo.of(new CounterSdf({ perCall: 3, resumeDelayMs: 5 })));
  const handle = p.run(new LocalRunner());
  assert.is(await handle.waitUntilFinish(50), "RUNNING");
  assert.is(await handle.cancel(), "CANCELLED");
  assert.is(await handle.waitUntilFinish(50), "CANCELLED");
});

s.run();
