// Where to split a bundle's input channel (the Fn API's ProcessBundleSplit semantics, as Beam's SDK harnesses
// compute it): the remainder of the bundle is (elements left after the current one) + (what is left of the
// current one); keep `fraction` of it. If that falls inside the current element and the element is splittable,
// split the element; otherwise split at the nearest element boundary (respecting allowed split points).

export interface DesiredSplit {
  /** Fraction of the remaining work to keep in this bundle; 0 asks for a checkpoint as soon as possible. */
  readonly fractionOfRemainder: number;
  /** How many elements the runner sent on this channel (0 or absent: unknown). */
  readonly estimatedInputElements?: number;
  /** Element indices at which the runner can accept a channel split (empty: any). */
  readonly allowedSplitPoints?: readonly number[];
}

export interface SplitPlanInput {
  /** Index of the element being (or last) processed; -1 before the first one. */
  readonly index: number;
  /** Fraction of the current element that is done, in [0, 1]. */
  readonly currentProgress: number;
  /** The current stop index (exclusive) of the channel. */
  readonly stop: number;
  readonly desired: DesiredSplit;
  /** True when the current element is being processed by a splittable DoFn that can split it now. */
  readonly elementSplittable: boolean;
}

export interface SplitPlan {
  /** Try this fraction of the current element's remainder first (element split). */
  readonly elementFraction?: number;
  /** Else (or if the element refuses), stop the channel here: elements [boundaryStop, ...) are the residual. */
  readonly boundaryStop?: number;
}

export function planSplit(input: SplitPlanInput): SplitPlan {
  const { index, currentProgress, stop, desired, elementSplittable } = input;
  const fraction = desired.fractionOfRemainder;
  const allowed = desired.allowedSplitPoints ?? [];
  const isAllowed = (i: number): boolean => allowed.length === 0 || allowed.includes(i);

  const totalKnown = desired.estimatedInputElements !== undefined && desired.estimatedInputElements > 0;
  let total = totalKnown ? desired.estimatedInputElements! : index + 1;
  if (total < index + 1) total = index + 1;
  else if (total > stop) total = stop;

  const remainder = total - index - currentProgress;
  const keep = remainder * fraction;
  let elementFraction: number | undefined;
  if (elementSplittable && index >= 0 && isAllowed(index) && isAllowed(index + 1)) {
    if (currentProgress < 1) {
      const keepOfElement = keep / (1 - currentProgress);
      if (keepOfElement < 1) elementFraction = keepOfElement;
    } else if (fraction === 0) {
      // A running element whose tracker reports no work left can still be checkpointed at its position.
      elementFraction = 0;
    }
  }

  let stopIndex = index + Math.max(1, Math.round(currentProgress + keep));
  if (allowed.length > 0 && !allowed.includes(stopIndex)) stopIndex = closestAllowed(allowed, stopIndex, index);
  // A boundary at or past the known end would hand nothing back.
  const boundaryStop =
    index < stopIndex && stopIndex < stop && !(totalKnown && stopIndex >= total) ? stopIndex : undefined;
  return {
    ...(elementFraction !== undefined ? { elementFraction } : {}),
    ...(boundaryStop !== undefined ? { boundaryStop } : {}),
  };
}

function closestAllowed(allowed: readonly number[], target: number, index: number): number {
  const sorted = [...allowed].sort((a, b) => a - b);
  const after = sorted.findIndex((p) => p > target);
  if (after === 0) return sorted[0]!;
  if (after === -1) return sorted[sorted.length - 1]!;
  const prev = sorted[after - 1]!;
  const next = sorted[after]!;
  return index < prev && target - prev < next - target ? prev : next;
}
