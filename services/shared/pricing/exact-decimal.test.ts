import { roundHalfUp, toExactDecimal } from './exact-decimal';

describe('toExactDecimal', () => {
  it.each([
    [2.5, 25n, 1],
    [0.075, 75n, 3],
    [10, 10n, 0],
    [0, 0n, 0],
    [1.5e-7, 15n, 8],
    [1e21, 10n ** 21n, 0],
  ])('reads %p as written', (value, units, scale) => {
    expect(toExactDecimal(value)).toEqual({ units, scale });
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('rejects %p', (value) => {
    expect(() => toExactDecimal(value)).toThrow(RangeError);
  });
});

describe('roundHalfUp', () => {
  it.each([
    [5n, 10n, 1n],
    [4n, 10n, 0n],
    [15n, 10n, 2n],
    [25n, 10n, 3n],
    [0n, 7n, 0n],
    [1005n, 10n, 101n],
  ])('%p / %p rounds to %p', (numerator, denominator, expected) => {
    expect(roundHalfUp(numerator, denominator)).toBe(expected);
  });
});
