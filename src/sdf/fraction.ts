// Exact arithmetic for split points. Beam Java computes `cur + max(1, (end - cur) * fraction)` in BigDecimal with
// the fraction taken from its shortest decimal form (BigDecimal.valueOf(double)); doing the same with bigint keeps
// our split points identical to Java's for the same inputs, including ranges wider than 2^53.

/** The shortest decimal form of a finite non-negative double as digits / 10^scale. */
function decimalParts(fraction: number): { digits: bigint; scale: number } {
  const text = String(fraction);
  const [mantissa = "0", exponentText] = text.split("e");
  const exponent = exponentText === undefined ? 0 : Number(exponentText);
  const [intPart = "0", fracPart = ""] = mantissa.split(".");
  let scale = fracPart.length - exponent;
  let digits = BigInt(intPart + fracPart);
  if (scale < 0) {
    digits *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { digits, scale };
}

/** floor(amount * fraction) for amount >= 0 and 0 <= fraction; exact. */
export function multiplyFloor(amount: bigint, fraction: number): bigint {
  const { digits, scale } = decimalParts(fraction);
  return (amount * digits) / 10n ** BigInt(scale);
}

export function checkFraction(fraction: number): void {
  if (!(fraction >= 0 && fraction <= 1)) {
    throw new RangeError(`fraction of remainder must be within [0, 1], got ${fraction}`);
  }
}
