import * as assert from "uvu/assert";
import { suite } from "../harness.js";
import { planSplit } from "../../src/runners/bundle/index.js";

const s = suite("sdf: channel split planning");
const MAX = Number.MAX_SAFE_INTEGER;

s.test("a split inside the current splittable element asks the element for its share of the remainder", () => {
  // One element, 20% done: keep half of the remaining 0.8 -> 0.4 of the element's remainder 0.8 = 0.5.
  assert.equal(
    planSplit({
      index: 0,
      currentProgress: 0.2,
      stop: MAX,
      desired: { fractionOfRemainder: 0.5, estimatedInputElements: 1 },
      elementSplittable: true,
    }),
    { elementFraction: 0.5 },
  );
  // Checkpoint: keep nothing of it; if the element refuses, fall back to the boundary after it (input size unknown).
  assert.equal(
    planSplit({
      index: 0,
      currentProgress: 0.2,
      stop: MAX,
      desired: { fractionOfRemainder: 0 },
      elementSplittable: true,
    }),
    { elementFraction: 0, boundaryStop: 1 },
  );
  // A running element whose tracker reports all work done can still be checkpointed.
  assert.equal(
    planSplit({
      index: 0,
      currentProgress: 1,
      stop: MAX,
      desired: { fractionOfRemainder: 0, estimatedInputElements: 1 },
      elementSplittable: true,
    }),
    { elementFraction: 0 },
  );
});

s.test("otherwise the channel is cut at the nearest element boundary that hands work back", () => {
  // index 2 of 10 at 0.5: remainder 7.5, keep 3.75 -> stop at 2 + round(4.25) = 6.
  assert.equal(
    planSplit({
      index: 2,
      currentProgress: 0.5,
      stop: MAX,
      desired: { fractionOfRemainder: 0.5, estimatedInputElements: 10 },
      elementSplittable: false,
    }),
    { boundaryStop: 6 },
  );
  // With the element splittable the same request prefers the boundary because 3.75 > what is left of it.
  assert.equal(
    planSplit({
      index: 2,
      currentProgress: 0.5,
      stop: MAX,
      desired: { fractionOfRemainder: 0.5, estimatedInputElements: 10 },
      elementSplittable: true,
    }),
    { boundaryStop: 6 },
  );
  // Nothing to give back at the end of a known input, or beyond an earlier split.
  assert.equal(
    planSplit({
      index: 9,
      currentProgress: 1,
      stop: MAX,
      desired: { fractionOfRemainder: 0, estimatedInputElements: 10 },
      elementSplittable: false,
    }),
    {},
  );
  assert.equal(
    planSplit({
      index: 2,
      currentProgress: 0.5,
      stop: 4,
      desired: { fractionOfRemainder: 0.9, estimatedInputElements: 10 },
      elementSplittable: false,
    }),
    {},
  );
  // Before the first element: a checkpoint hands every element back.
  assert.equal(
    planSplit({
      index: -1,
      currentProgress: 1,
      stop: MAX,
      desired: { fractionOfRemainder: 0, estimatedInputElements: 5 },
      elementSplittable: false,
    }),
    { boundaryStop: 0 },
  );
});

s.test("allowed split points pick the closest allowed boundary", () => {
  assert.equal(
    planSplit({
      index: 2,
      currentProgress: 0.5,
      stop: MAX,
      desired: { fractionOfRemainder: 0.5, estimatedInputElements: 10, allowedSplitPoints: [5, 8] },
      elementSplittable: false,
    }),
    { boundaryStop: 5 },
  );
  assert.equal(
    planSplit({
      index: 2,
      currentProgress: 0.5,
      stop: MAX,
      desired: { fractionOfRemainder: 0.5, estimatedInputElements: 10, allowedSplitPoints: [3, 7] },
      elementSplittable: false,
    }),
    { boundaryStop: 7 },
  );
  // The current element may only be split if both its edges are allowed points.
  assert.equal(
    planSplit({
      index: 0,
      currentProgress: 0.2,
      stop: MAX,
      desired: { fractionOfRemainder: 0.5, estimatedInputElements: 1, allowedSplitPoints: [0] },
      elementSplittable: true,
    }),
    {},
  );
});

s.run();
