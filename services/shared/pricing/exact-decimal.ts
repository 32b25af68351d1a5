/**
 * Exact decimal view of a price so cost sums never pick up binary float error
 * (1.005 * 100 is 100.49999999999999 in floating point, which would round the
 * wrong way).
 */

/** `units / 10^scale`, exactly. */
export interface ExactDecimal {
  readonly units: bigint;
  readonly scale: number;
}

const NUMBER_TEXT = /^(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/;

/**
 * The decimal a price was written as. `String(n)` yields the shortest decimal
 * that reads back as the same double, so a price written as `0.075` in JSON or
 * YAML comes back as exactly 75/1000, not as the double's binary expansion.
 */
export function toExactDecimal(value: number): ExactDecimal {
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`price must be a finite non-negative number, got ${value}`);
  }
  const match = NUMBER_TEXT.exec(String(value));
  if (match === null) {
    throw new RangeError(`cannot read ${value} as a decimal`);
  }
  const [, whole = '0', fraction = '', exponent = '0'] = match;
  const scale = fraction.length - Number(exponent);
  const digits = BigInt(whole + fraction);
  return scale >= 0 ? { units: digits, scale } : { units: digits * 10n ** BigInt(-scale), scale: 0 };
}

/** Rounds a non-negative `numerator / denominator` to the nearest integer, halves up. */
export function roundHalfUp(numerator: bigint, denominator: bigint): bigint {
  return (numerator * 2n + denominator) / (denominator * 2n);
}
