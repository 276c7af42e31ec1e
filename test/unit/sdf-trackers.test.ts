import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { rng } from "./sdf-prng.js";
import {
  GrowableOffsetRangeTracker,
  ManualWatermarkEstimator,
  MonotonicallyIncreasingWatermarkEstimator,
  OFFSET_INFINITY,
  OFFSET_MIN,
  OffsetRangeTracker,
  ProcessContinuation,
  TrackerStateError,
  WallTimeWatermarkEstimator,
  offsetRange,
  offsetRangeCoder,
  splitOffsetRange,
  watermarkInstantCoder,
  type OffsetRange,
} from "../../src/sdf/index.js";
import { decodeFromBytes, encodeToBytes } from "../../src/model/coders/index.js";
import { MIN_TIMESTAMP } from "../../src/model/windowing.js";

const s = suite("sdf: offset range trackers");
const r = (from: bigint, to: bigint): OffsetRange => offsetRange(from, to);

s.test("offset tracker: claims, split at 0.5 and progress follow Beam Java's arithmetic", () => {
  const t = new OffsetRangeTracker(r(0n, 100n));
  assert.equal(t.getProgress(), { workCompleted: 0, workRemaining: 100 });
  assert.ok(t.tryClaim(0n));
  assert.ok(t.tryClaim(10n));
  assert.equal(t.getProgress(), { workCompleted: 10, workRemaining: 90 });
  // split = cur + max(1, floor((to - cur) * f)) = 10 + 45
  assert.equal(t.trySplit(0.5), { primary: r(0n, 55n), residual: r(55n, 100n) });
  assert.equal(t.currentRestriction(), r(0n, 55n));
  assert.ok(t.tryClaim(54n));
  assert.not.ok(t.tryClaim(55n));
  t.checkDone();
});

s.test("offset tracker: checkpoint before any claim hands the whole range back", () => {
  const t = new OffsetRangeTracker(r(5n, 20n));
  assert.equal(t.trySplit(0), { primary: r(5n, 5n), residual: r(5n, 20n) });
  t.checkDone();
  assert.not.ok(t.tryClaim(5n));
});

s.test("offset tracker: checkpoint after claims keeps exactly the claimed prefix", () => {
  const t = new OffsetRangeTracker(r(0n, 10n));
  t.tryClaim(0n);
  t.tryClaim(3n);
  assert.equal(t.trySplit(0), { primary: r(0n, 4n), residual: r(4n, 10n) });
  t.checkDone();
});

s.test("offset tracker: no split at or past the last offset, empty ranges are done", () => {
  const t = new OffsetRangeTracker(r(0n, 10n));
  t.tryClaim(9n);
  assert.is(t.trySplit(0), undefined);
  assert.is(t.trySplit(0.5), undefined);
  new OffsetRangeTracker(r(7n, 7n)).checkDone();
  assert.is(new OffsetRangeTracker(r(7n, 7n)).trySplit(0), undefined);
});

s.test("offset tracker: claims must increase, start in range, and the range must be finished", () => {
  const t = new OffsetRangeTracker(r(10n, 20n));
  assert.throws(
    () => t.tryClaim(9n),
    (e: unknown) => e instanceof TrackerStateError && /before the start/.test(e.message),
  );
  t.tryClaim(12n);
  assert.throws(
    () => t.tryClaim(12n),
    (e: unknown) => e instanceof TrackerStateError && /last attempted was 12/.test(e.message),
  );
  assert.throws(
    () => t.checkDone(),
    (e: unknown) => e instanceof TrackerStateError && /\[13, 20\) was not attempted/.test(e.message),
  );
  assert.throws(() => new OffsetRangeTracker(r(0n, 5n)).checkDone(), /no offset was claimed/);
  assert.throws(() => t.trySplit(1.5), RangeError);
  assert.throws(() => t.trySplit(Number.NaN), RangeError);
});

s.test("offset tracker: splits of ranges wider than 2^53 are exact (decimal fraction as Java's BigDecimal)", () => {
  const t = new OffsetRangeTracker(r(0n, OFFSET_INFINITY));
  const split = t.trySplit(0.1)!;
  // cur = -1; split = -1 + floor(2^63 * 0.1)
  assert.is(split.primary.to, -1n + 2n ** 63n / 10n);
  const u = new OffsetRangeTracker(r(OFFSET_MIN, OFFSET_INFINITY));
  const half = u.trySplit(0.5)!;
  assert.is(half.primary.to, OFFSET_MIN - 1n + (OFFSET_INFINITY - OFFSET_MIN + 1n) / 2n);
});

s.test(
  "property: random claims and splits — primary ∪ residual = restriction, no overlap, claims never cross a split",
  () => {
    for (let seed = 1; seed <= 300; seed++) {
      const g = rng(seed);
      const wide = g.next() < 0.2;
      const from = wide ? g.bigint(OFFSET_MIN, 0n) : g.bigint(-1000n, 1000n);
      const to = wide ? OFFSET_INFINITY : from + g.bigint(0n, 500n);
      const t = new OffsetRangeTracker(r(from, to));
      const claimed: bigint[] = [];
      let pos = from;
      for (let step = 0; step < 40; step++) {
        const before = t.currentRestriction();
        if (g.next() < 0.3) {
          const fraction = g.pick([0, 0.25, 0.5, 0.75, 1, g.next()]);
          const split = t.trySplit(fraction);
          if (split) {
            const msg = `seed ${seed}`;
            assert.is(split.primary.from, before.from, msg);
            assert.is(split.primary.to, split.residual.from, msg);
            assert.is(split.residual.to, before.to, msg);
            assert.ok(split.primary.from <= split.primary.to && split.residual.from <= split.residual.to, msg);
            assert.equal(t.currentRestriction(), split.primary, msg);
            // Nothing claimed is ever handed to the residual.
            for (const c of claimed)
              assert.ok(c < split.residual.from, `${msg}: claimed ${c} in residual ${split.residual.from}`);
          }
          continue;
        }
        pos += g.bigint(wide ? 1n : 1n, wide ? 1n << 40n : 7n);
        if (pos > OFFSET_INFINITY - 1n) break;
        const ok = t.tryClaim(pos);
        assert.is(ok, pos < t.currentRestriction().to, `seed ${seed}: claim ${pos}`);
        if (!ok) break;
        claimed.push(pos);
      }
    }
  },
);

s.test("property: splitOffsetRange tiles the range with no gaps and no tiny tail", () => {
  for (let seed = 1; seed <= 300; seed++) {
    const g = rng(seed);
    const from = g.bigint(-1000n, 1000n);
    const range = r(from, from + g.bigint(0n, 2000n));
    const desired = g.bigint(1n, 300n);
    const min = g.bigint(1n, 50n);
    const parts = splitOffsetRange(range, desired, min);
    let at = range.from;
    for (const [i, p] of parts.entries()) {
      assert.is(p.from, at, `seed ${seed} part ${i}`);
      assert.ok(p.to > p.from, `seed ${seed}: empty part`);
      if (i < parts.length - 1) assert.is(p.to - p.from, desired, `seed ${seed}: only the last part may differ`);
      at = p.to;
    }
    assert.is(at, range.to, `seed ${seed}`);
    if (parts.length > 1) {
      const last = parts[parts.length - 1]!;
      assert.ok(last.to - last.from >= min && last.to - last.from >= desired / 4n, `seed ${seed}: tiny tail`);
    }
  }
  assert.equal(splitOffsetRange(r(0n, 10n), 4n), [r(0n, 4n), r(4n, 8n), r(8n, 10n)]);
  assert.equal(splitOffsetRange(r(0n, 17n), 8n), [r(0n, 8n), r(8n, 17n)], "a tail under a quarter merges");
  assert.equal(splitOffsetRange(r(0n, 20n), 8n, 5n), [r(0n, 8n), r(8n, 20n)], "a tail under the minimum merges");
  assert.equal(splitOffsetRange(r(0n, 0n), 4n), []);
});

s.test("growable tracker: splits against the estimated end with residual [split, inf)", () => {
  let end = 100n;
  const t = new GrowableOffsetRangeTracker(0n, { estimate: () => end });
  assert.is(t.isBounded(), "unbounded");
  t.tryClaim(9n);
  assert.equal(t.getProgress(), { workCompleted: 9, workRemaining: 91 });
  // cur 9, estimated end 100: 9 + floor(91 * 0.5) = 54
  assert.equal(t.trySplit(0.5), { primary: r(0n, 54n), residual: r(54n, OFFSET_INFINITY) });
  assert.is(t.isBounded(), "bounded");
  // Once split it behaves as a plain offset tracker.
  end = 1000n;
  assert.equal(t.trySplit(0), { primary: r(0n, 10n), residual: r(10n, 54n) });
});

s.test("growable tracker: checkpoint with an estimate behind the position, and done by claiming infinity", () => {
  const t = new GrowableOffsetRangeTracker(r(50n, OFFSET_INFINITY), { estimate: () => OFFSET_MIN });
  t.tryClaim(60n);
  assert.equal(t.getProgress(), { workCompleted: 10, workRemaining: 0 });
  assert.equal(t.trySplit(0), { primary: r(50n, 61n), residual: r(61n, OFFSET_INFINITY) });
  t.checkDone();
  const done = new GrowableOffsetRangeTracker(0n, { estimate: () => 5n });
  assert.not.ok(done.tryClaim(OFFSET_INFINITY));
  done.checkDone();
  assert.is(done.isBounded(), "bounded");
  assert.is(done.trySplit(0.5), undefined);
});

s.test("property: growable tracker splits never exceed the estimate and never hand back claimed offsets", () => {
  for (let seed = 1; seed <= 300; seed++) {
    const g = rng(seed);
    const start = g.bigint(0n, 1000n);
    let end = start + g.bigint(0n, 1000n);
    const t = new GrowableOffsetRangeTracker(start, { estimate: () => end });
    let pos = start - 1n;
    for (let step = 0; step < 30; step++) {
      end += g.bigint(0n, 20n);
      if (g.next() < 0.3) {
        const before = t.currentRestriction();
        const cur = pos < start ? start - 1n : pos;
        const split = t.trySplit(g.pick([0, 0.5, 1, g.next()]));
        if (split) {
          assert.is(split.primary.to, split.residual.from, `seed ${seed}`);
          assert.is(split.residual.to, before.to, `seed ${seed}`);
          assert.ok(split.residual.from > cur, `seed ${seed}: claimed offset in residual`);
          if (before.to === OFFSET_INFINITY) {
            const limit = end > cur + 1n ? end : cur + 1n;
            assert.ok(
              split.residual.from <= limit,
              `seed ${seed}: split ${split.residual.from} past estimate ${limit}`,
            );
          }
        }
        continue;
      }
      pos += g.bigint(1n, 5n);
      const ok = t.tryClaim(pos);
      assert.is(ok, pos < t.currentRestriction().to, `seed ${seed}`);
      if (!ok) break;
    }
  }
});

s.test("watermark estimators: monotonic, manual and wall time, rebuilt from their state", () => {
  const m = new MonotonicallyIncreasingWatermarkEstimator();
  assert.is(m.currentWatermark(), MIN_TIMESTAMP);
  m.observeTimestamp(100n);
  m.observeTimestamp(50n);
  assert.is(m.currentWatermark(), 100n);
  const resumed = new MonotonicallyIncreasingWatermarkEstimator(m.getState());
  assert.is(resumed.currentWatermark(), 100n);

  const manual = new ManualWatermarkEstimator(10n);
  manual.setWatermark(40n);
  manual.setWatermark(20n);
  assert.is(manual.currentWatermark(), 40n);
  assert.is(new ManualWatermarkEstimator(manual.getState()).currentWatermark(), 40n);

  let now = 1_000n;
  const wall = new WallTimeWatermarkEstimator(MIN_TIMESTAMP, () => now);
  assert.is(wall.currentWatermark(), 1_000n);
  now = 500n;
  assert.is(wall.currentWatermark(), 1_000n, "never backwards");
  now = 2_000n;
  assert.is(wall.getState(), 2_000n);
  assert.throws(() => new ManualWatermarkEstimator(1n << 62n), RangeError);
});

s.test("process continuation and restriction coders", () => {
  assert.equal(ProcessContinuation.stop(), { shouldResume: false });
  assert.equal(ProcessContinuation.resume(250), { shouldResume: true, resumeDelayMs: 250 });
  assert.throws(() => ProcessContinuation.resume(-1), RangeError);
  for (const range of [r(0n, 0n), r(-5n, 7n), r(123456789n, OFFSET_INFINITY), r(OFFSET_MIN, OFFSET_INFINITY)]) {
    assert.equal(decodeFromBytes(offsetRangeCoder, encodeToBytes(offsetRangeCoder, range)), range);
  }
  // Java VarLongCoder: 1 -> 0x01, then Long.MAX_VALUE -> ff ff ff ff ff ff ff ff 7f.
  assert.equal(
    [...encodeToBytes(offsetRangeCoder, r(1n, OFFSET_INFINITY))],
    [1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
  );
  assert.is(decodeFromBytes(watermarkInstantCoder, encodeToBytes(watermarkInstantCoder, 42n)), 42n);
});

s.run();
