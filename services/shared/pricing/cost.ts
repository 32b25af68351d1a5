/**
 * Cost of one call in integer micro-USD.
 *
 * Prices are USD per million tokens, which is the same number as micro-USD
 * per token, so a call costs Σ tokens × price micro-USD. Each price is read as
 * an exact decimal (see exact-decimal.ts), the products are summed as BigInt
 * over a common power of ten, and the total is rounded half up once at the
 * end. Rounding per component would let a call with many small parts drift by
 * several micro-USD; rounding once keeps every event within half a micro-USD
 * of the true cost.
 */
import type { TokenUsage } from '../../gateway/core/wire/types';

import { boundedMemo } from '../bounded-memo';
import { roundHalfUp, toExactDecimal, type ExactDecimal } from './exact-decimal';
import type { ModelPrice } from './price-schema';
import { findPrice, type PriceTable } from './price-table';

export type PriceReason = 'priced' | 'unknown_model' | 'no_usage';

export interface PricedCall {
  costMicroUsd: number | null;
  /** The table version whose prices produced `costMicroUsd`; null when none did. */
  priceVersion: string | null;
  reason: PriceReason;
}

/** Missing or nonsensical counts contribute nothing rather than poisoning the total. */
function tokenCount(value: number | null): number {
  if (value === null || !Number.isFinite(value) || value <= 0) return 0;
  return Math.floor(value);
}

interface Rate extends ExactDecimal {
  /** `units` as a number when it is exactly one, else NaN. */
  readonly unitsNumber: number;
}

/** Prices come from a small table: each is read as a decimal once, not on every call. */
const exactRate = boundedMemo(4_096, (perToken: number): Rate => {
  const d = toExactDecimal(perToken);
  return { ...d, unitsNumber: d.units <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(d.units) : NaN };
});

/** 10^0 … 10^15: every power of ten a double holds exactly, as an integer. */
const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);

/** tokens × rate at `scale`, or NaN when it is not exactly a double. */
function termAt(tokens: number, rate: Rate, scale: number): number {
  if (tokens === 0) return 0;
  const term = tokens * rate.unitsNumber * POW10[scale - rate.scale]!;
  return Number.isSafeInteger(term) ? term : NaN;
}

/**
 * Micro-USD for `usage` at `price`, or null when the provider reported neither
 * input nor output tokens. Uncached input is input − cache reads − cache
 * writes, floored at zero: a provider reporting more cached than total tokens
 * is inconsistent, and charging the cached parts at their own rates is the
 * closer answer.
 *
 * Done in integer doubles whenever the counts, every product and the sum
 * stay below 2^53 (any real call): as exact as the BigInt sum it falls back
 * to otherwise, without allocating on the gateway's path.
 */
export function computeCostMicroUsd(price: ModelPrice, usage: TokenUsage): number | null {
  if (usage.inputTokens === null && usage.outputTokens === null) return null;
  const input = tokenCount(usage.inputTokens);
  const cacheRead = tokenCount(usage.cachedInputTokens);
  const cacheWrite = tokenCount(usage.cacheWriteTokens);
  const output = tokenCount(usage.outputTokens);
  if (!(Number.isSafeInteger(input) && Number.isSafeInteger(cacheRead) && Number.isSafeInteger(cacheWrite) && Number.isSafeInteger(output))) {
    return exactCostMicroUsd(price, usage);
  }
  const uncached = Math.max(0, input - cacheRead - cacheWrite);
  const rIn = exactRate(price.input);
  const rRead = exactRate(price.cachedInput ?? price.input);
  const rWrite = exactRate(price.cacheWrite ?? price.input);
  const rOut = exactRate(price.output);
  const scale = Math.max(
    uncached > 0 ? rIn.scale : 0,
    cacheRead > 0 ? rRead.scale : 0,
    cacheWrite > 0 ? rWrite.scale : 0,
    output > 0 ? rOut.scale : 0,
  );
  if (scale >= POW10.length) return exactCostMicroUsd(price, usage);
  const numerator = termAt(uncached, rIn, scale) + termAt(cacheRead, rRead, scale) + termAt(cacheWrite, rWrite, scale) + termAt(output, rOut, scale);
  return Number.isSafeInteger(numerator) ? roundHalfUpExact(numerator, POW10[scale]!) : exactCostMicroUsd(price, usage);
}

/** `numerator / denominator` rounded half up, both non-negative safe integers. */
function roundHalfUpExact(numerator: number, denominator: number): number {
  let q = Math.floor(numerator / denominator);
  let r = numerator - q * denominator; // exact: q × denominator is within one denominator of the numerator
  if (r < 0) {
    q -= 1;
    r += denominator;
  } else if (r >= denominator) {
    q += 1;
    r -= denominator;
  }
  return 2 * r >= denominator ? q + 1 : q;
}

function bigTokenCount(value: number | null): bigint {
  return BigInt(tokenCount(value));
}

/** The same cost summed in BigInt throughout: for counts or prices too large for exact doubles. */
export function exactCostMicroUsd(price: ModelPrice, usage: TokenUsage): number | null {
  if (usage.inputTokens === null && usage.outputTokens === null) return null;
  const input = bigTokenCount(usage.inputTokens);
  const cacheRead = bigTokenCount(usage.cachedInputTokens);
  const cacheWrite = bigTokenCount(usage.cacheWriteTokens);
  const uncached = input - cacheRead - cacheWrite;
  const terms = (
    [
      [uncached > 0n ? uncached : 0n, price.input],
      [cacheRead, price.cachedInput ?? price.input],
      [cacheWrite, price.cacheWrite ?? price.input],
      [bigTokenCount(usage.outputTokens), price.output],
    ] as const
  )
    .filter(([tokens]) => tokens > 0n)
    .map(([tokens, perToken]) => ({ tokens, rate: exactRate(perToken) }));
  const scale = terms.reduce((max, term) => Math.max(max, term.rate.scale), 0);
  let numerator = 0n;
  for (const { tokens, rate } of terms) {
    numerator += tokens * rate.units * 10n ** BigInt(scale - rate.scale);
  }
  return Number(roundHalfUp(numerator, 10n ** BigInt(scale)));
}

/**
 * Everything an event needs about its cost. `no_usage` is decided before the
 * model lookup so that `unknown_model` counts only calls whose spend was
 * actually lost for want of a price row.
 */
export function priceCall(
  table: PriceTable,
  provider: string,
  model: string | null,
  usage: TokenUsage | null,
): PricedCall {
  if (usage === null || (usage.inputTokens === null && usage.outputTokens === null)) {
    return { costMicroUsd: null, priceVersion: null, reason: 'no_usage' };
  }
  const price = model === null ? null : findPrice(table, provider, model);
  if (price === null) {
    return { costMicroUsd: null, priceVersion: null, reason: 'unknown_model' };
  }
  return { costMicroUsd: computeCostMicroUsd(price, usage), priceVersion: table.version, reason: 'priced' };
}
