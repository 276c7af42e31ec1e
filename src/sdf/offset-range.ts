// OffsetRange: the restriction of offset-addressed sources, [from, to) over 64-bit signed offsets.
// `to === OFFSET_INFINITY` (Java's Long.MAX_VALUE) means "unbounded": the largest claimable offset is then
// OFFSET_INFINITY - 1, and claiming OFFSET_INFINITY itself marks a growable range done.

/** Java's Long.MAX_VALUE: the end of an offset range that has no known end. */
export const OFFSET_INFINITY = (1n << 63n) - 1n;
/** Java's Long.MIN_VALUE: the smallest offset. */
export const OFFSET_MIN = -(1n << 63n);

/**
 * The restriction of an offset-addressed source (a Kafka partition): [from, to) over signed 64-bit offsets as
 * bigint. `to === OFFSET_INFINITY` means unbounded. Build one with `offsetRange`, which checks it.
 */
export interface OffsetRange {
  readonly from: bigint;
  readonly to: bigint;
}

/** Thrown for an offset outside the signed 64-bit range, a range with from > to, or a non-positive split size. */
export class InvalidRangeError extends Error {
  override readonly name = "InvalidRangeError";
  readonly code = "INVALID_RANGE";
  readonly retriable = false;
}

function checkOffset(what: string, offset: bigint): void {
  if (offset < OFFSET_MIN || offset > OFFSET_INFINITY) {
    throw new InvalidRangeError(`${what} ${offset} does not fit a signed 64-bit offset`);
  }
}

/** A frozen [from, to); from <= to is required. */
export function offsetRange(from: bigint, to: bigint): OffsetRange {
  checkOffset("from", from);
  checkOffset("to", to);
  if (from > to) throw new InvalidRangeError(`malformed offset range [${from}, ${to}): from > to`);
  return Object.freeze({ from, to });
}

/** The number of offsets in the range (a bigint: ranges may span more than 2^53). */
export function rangeSize(range: OffsetRange): bigint {
  return range.to - range.from;
}

/** True when the range has no known end (`to === OFFSET_INFINITY`), as a growable range before any split. */
export function isUnboundedRange(range: OffsetRange): boolean {
  return range.to === OFFSET_INFINITY;
}

/** "[from, to)" for messages, with "inf" for an unbounded end. */
export function formatRange(range: OffsetRange): string {
  return `[${range.from}, ${range.to === OFFSET_INFINITY ? "inf" : range.to})`;
}

/**
 * Splits [from, to) into consecutive sub-ranges of `desiredSizePerSplit` offsets. A tail shorter than a quarter of the
 * desired size, or shorter than `minSizePerSplit`, is merged into the previous split (Beam's OffsetRange.split rule),
 * so no tiny residue is scheduled on its own. An empty range splits into nothing.
 */
export function splitOffsetRange(range: OffsetRange, desiredSizePerSplit: bigint, minSizePerSplit = 1n): OffsetRange[] {
  if (desiredSizePerSplit <= 0n)
    throw new InvalidRangeError(`desired split size must be positive, got ${desiredSizePerSplit}`);
  const splits: OffsetRange[] = [];
  let start = range.from;
  while (start < range.to) {
    let end = start + desiredSizePerSplit;
    if (end > range.to) end = range.to;
    const remaining = range.to - end;
    if (remaining < desiredSizePerSplit / 4n || remaining < minSizePerSplit) end = range.to;
    splits.push(offsetRange(start, end));
    start = end;
  }
  return splits;
}
