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
import { roundHalfUp, toExactDecimal } from './exact-decimal';
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
function tokenCount(value: number | null): bigint {
  if (value === null || !Number.isFinite(value) || value <= 0) return 0n;
  return BigInt(Math.floor(value));
}

/** Prices come from a small table: each is read as a decimal once, not on every call. */
const exactRate = boundedMemo(4_096, toExactDecimal);

/**
 * Micro-USD for `usage` at `price`, or null when the provider reported neither
 * input nor output tokens. Uncached input is input − cache reads − cache
 * writes, floored at zero: a provider reporting more cached than total tokens
 * is inconsistent, and charging the cached parts at their own rates is the
 * closer answer.
 */
export function computeCostMicroUsd(price: ModelPrice, usage: TokenUsage): number | null {
  if (usage.inputTokens === null && usage.outputTokens === null) return null;

  const input = tokenCount(usage.inputTokens);
  const cacheRead = tokenCount(usage.cachedInputTokens);
  const cacheWrite = tokenCount(usage.cacheWriteTokens);
  const uncached = input - cacheRead - cacheWrite;

  const parts: [bigint, number][] = [
    [uncached > 0n ? uncached : 0n, price.input],
    [cacheRead, price.cachedInput ?? price.input],
    [cacheWrite, price.cacheWrite ?? price.input],
    [tokenCount(usage.outputTokens), price.output],
  ];

  const terms = parts
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
