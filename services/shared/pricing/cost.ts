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
 *
 * Which prices apply (service tier, long-context tier) is decided by
 * `selectRates`; see README.md, "Which prices apply".
 */
import type { TokenUsage } from '../../gateway/core/wire/types';

import { boundedMemo } from '../bounded-memo';
import { roundHalfUp, toExactDecimal, type ExactDecimal } from './exact-decimal';
import { STANDARD_TIER_NAMES, type LongContextTier, type ModelPrice, type RateSet } from './price-schema';
import { findPrice, type PriceTable } from './price-table';

export type PriceReason =
  | 'priced'
  | 'no_usage'
  | 'invalid_usage'
  | 'unknown_model'
  | 'unknown_service_tier'
  | 'unpriced_tokens';

export interface PricedCall {
  costMicroUsd: number | null;
  /** The table version whose prices produced `costMicroUsd`; null when none did. */
  priceVersion: string | null;
  reason: PriceReason;
  /**
   * How the call was priced when not at its row's base prices (a service
   * tier, a long-context tier), or why it has no cost although usage is known.
   * Recorded as the event's `cost_note`; null for a call at base prices.
   */
  note: string | null;
}

/** Missing or nonsensical counts contribute nothing rather than poisoning the total. */
function tokenCount(value: number | null | undefined): number {
  if (value === null || value === undefined || !Number.isFinite(value) || value <= 0) return 0;
  return Math.floor(value);
}

interface Rate extends ExactDecimal {
  /** `units` as a number when it is exactly one, else NaN. */
  readonly unitsNumber: number;
}

function toRate(d: ExactDecimal): Rate {
  return { ...d, unitsNumber: d.units <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(d.units) : NaN };
}

/** Prices come from a small table: each is read as a decimal once, not on every call. */
const exactRate = boundedMemo(4_096, (perToken: number): Rate => toRate(toExactDecimal(perToken)));

/*
 * The kinds of tokens a call is billed for, in a fixed order. Each count is a
 * disjoint part of the call: the usage's totals minus the parts priced apart.
 */
const UNCACHED_INPUT = 0;
const CACHE_READ = 1;
const CACHE_WRITE_5M = 2;
const CACHE_WRITE_1H = 3;
const INPUT_AUDIO = 4;
const INPUT_IMAGE = 5;
const TEXT_OUTPUT = 6;
const OUTPUT_AUDIO = 7;
const OUTPUT_IMAGE = 8;
const TERMS = 9;

/** A rate set as exact decimals, one per term; null where the set has no price for that kind of token. */
type Rates = readonly (Rate | null)[];

function ratesOf(set: RateSet, multiplier: ExactDecimal | null): Rates {
  const r = (price: number | undefined): Rate | null => {
    if (price === undefined) return null;
    const base = exactRate(price);
    return multiplier === null ? base : toRate({ units: base.units * multiplier.units, scale: base.scale + multiplier.scale });
  };
  const input = r(set.input)!;
  const rates: (Rate | null)[] = new Array<Rate | null>(TERMS);
  rates[UNCACHED_INPUT] = input;
  rates[CACHE_READ] = r(set.cachedInput) ?? input;
  rates[CACHE_WRITE_5M] = r(set.cacheWrite) ?? input;
  rates[CACHE_WRITE_1H] = r(set.cacheWrite1h);
  rates[INPUT_AUDIO] = r(set.inputAudio);
  rates[INPUT_IMAGE] = r(set.inputImage) ?? input;
  rates[TEXT_OUTPUT] = r(set.output);
  rates[OUTPUT_AUDIO] = r(set.outputAudio);
  rates[OUTPUT_IMAGE] = r(set.outputImage);
  return rates;
}

/** Rate sets are frozen table rows: each is read into decimals once per multiplier. */
const resolved = new WeakMap<RateSet, Map<number, Rates>>();

function resolve(set: RateSet, multiplier: number | null): Rates {
  let byMultiplier = resolved.get(set);
  if (byMultiplier === undefined) {
    byMultiplier = new Map();
    resolved.set(set, byMultiplier);
  }
  const key = multiplier ?? 1;
  let rates = byMultiplier.get(key);
  if (rates === undefined) {
    rates = ratesOf(set, multiplier === null ? null : toExactDecimal(multiplier));
    byMultiplier.set(key, rates);
  }
  return rates;
}

const TERM_NAMES = [
  'uncached input tokens',
  'cache reads',
  '5-minute cache writes',
  '1-hour cache writes',
  'audio input tokens',
  'image input tokens',
  'output tokens',
  'audio output tokens',
  'image output tokens',
];

/** Reused by every call (the gateway is single-threaded): the counts of the call being priced. */
const scratch = new Array<number>(TERMS).fill(0);

/**
 * Splits the usage into the disjoint counts of each term. False when a count
 * is beyond 2^53 (the split is then not exact in doubles: see bigCounts).
 */
function splitCounts(usage: TokenUsage, out: number[]): boolean {
  const input = tokenCount(usage.inputTokens);
  const output = tokenCount(usage.outputTokens);
  const cacheRead = tokenCount(usage.cachedInputTokens);
  const cacheWrite = tokenCount(usage.cacheWriteTokens);
  const cacheWrite1h = Math.min(tokenCount(usage.cacheWrite1hTokens), cacheWrite);
  const inputAudio = tokenCount(usage.inputAudioTokens);
  const inputImage = tokenCount(usage.inputImageTokens);
  const outputAudio = tokenCount(usage.outputAudioTokens);
  const outputImage = tokenCount(usage.outputImageTokens);
  // Counts that claim more than their total are inconsistent: the parts are
  // charged at their own rates and the remainder floored at zero.
  out[UNCACHED_INPUT] = Math.max(0, input - cacheRead - cacheWrite - inputAudio - inputImage);
  out[CACHE_READ] = cacheRead;
  out[CACHE_WRITE_5M] = cacheWrite - cacheWrite1h;
  out[CACHE_WRITE_1H] = cacheWrite1h;
  out[INPUT_AUDIO] = inputAudio;
  out[INPUT_IMAGE] = inputImage;
  out[TEXT_OUTPUT] = Math.max(0, output - outputAudio - outputImage);
  out[OUTPUT_AUDIO] = outputAudio;
  out[OUTPUT_IMAGE] = outputImage;
  // Differences of safe integers are exact, so safe inputs make every count exact.
  return (
    Number.isSafeInteger(input) &&
    Number.isSafeInteger(output) &&
    Number.isSafeInteger(cacheRead) &&
    Number.isSafeInteger(cacheWrite) &&
    Number.isSafeInteger(cacheWrite1h) &&
    Number.isSafeInteger(inputAudio) &&
    Number.isSafeInteger(inputImage) &&
    Number.isSafeInteger(outputAudio) &&
    Number.isSafeInteger(outputImage)
  );
}

/** The name of the first kind of token the call has but the rates do not price, or null. */
function unpricedTerm(rates: Rates, counts: readonly number[]): string | null {
  for (let i = 0; i < TERMS; i++) if (rates[i] === null && counts[i]! > 0) return TERM_NAMES[i]!;
  return null;
}

/** 10^0 … 10^15: every power of ten a double holds exactly, as an integer. */
const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);

/**
 * Σ counts × rates (counts: safe integers), rounded half up once. Done in
 * integer doubles whenever every product and the sum stay below 2^53 (any
 * real call): as exact as the BigInt sum it falls back to otherwise, without
 * allocating on the gateway's path. Null when a count has no rate.
 */
function sumCost(rates: Rates, counts: readonly number[]): number | null {
  let scale = 0;
  for (let i = 0; i < TERMS; i++) {
    const count = counts[i]!;
    if (count === 0) continue;
    const rate = rates[i];
    if (rate === null || rate === undefined) return null;
    if (rate.scale > scale) scale = rate.scale;
  }
  if (scale >= POW10.length) return bigCost(rates, counts);
  let numerator = 0;
  for (let i = 0; i < TERMS; i++) {
    const count = counts[i]!;
    if (count === 0) continue;
    const rate = rates[i]!;
    numerator += count * rate.unitsNumber * POW10[scale - rate.scale]!;
  }
  return Number.isSafeInteger(numerator) ? roundHalfUpExact(numerator, POW10[scale]!) : bigCost(rates, counts);
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

/** The same sum in BigInt throughout. */
function bigCost(rates: Rates, counts: readonly (number | bigint)[]): number | null {
  let scale = 0;
  for (let i = 0; i < TERMS; i++) {
    if (BigInt(counts[i]!) === 0n) continue;
    const rate = rates[i];
    if (rate === null || rate === undefined) return null;
    scale = Math.max(scale, rate.scale);
  }
  let numerator = 0n;
  for (let i = 0; i < TERMS; i++) {
    const count = BigInt(counts[i]!);
    if (count === 0n) continue;
    numerator += count * rates[i]!.units * 10n ** BigInt(scale - rates[i]!.scale);
  }
  return Number(roundHalfUp(numerator, 10n ** BigInt(scale)));
}

/** Splits the usage in BigInt (exact for any count, however absurd). */
function bigCounts(usage: TokenUsage): bigint[] {
  const big = (v: number | null | undefined): bigint => BigInt(tokenCount(v));
  const input = big(usage.inputTokens);
  const output = big(usage.outputTokens);
  const cacheRead = big(usage.cachedInputTokens);
  const cacheWrite = big(usage.cacheWriteTokens);
  const oneHour = big(usage.cacheWrite1hTokens);
  const cacheWrite1h = oneHour < cacheWrite ? oneHour : cacheWrite;
  const inputAudio = big(usage.inputAudioTokens);
  const inputImage = big(usage.inputImageTokens);
  const outputAudio = big(usage.outputAudioTokens);
  const outputImage = big(usage.outputImageTokens);
  const floor0 = (v: bigint): bigint => (v > 0n ? v : 0n);
  return [
    floor0(input - cacheRead - cacheWrite - inputAudio - inputImage),
    cacheRead,
    cacheWrite - cacheWrite1h,
    cacheWrite1h,
    inputAudio,
    inputImage,
    floor0(output - outputAudio - outputImage),
    outputAudio,
    outputImage,
  ];
}

/**
 * Micro-USD for `usage` at `price` (its own prices: no service or
 * long-context tier), or null when the provider reported neither input nor
 * output tokens, or reported tokens these prices do not cover (audio without
 * an audio price, …). Uncached input is input − cache reads − cache writes −
 * audio − image input, floored at zero: a provider reporting more cached than
 * total tokens is inconsistent, and charging the parts at their own rates is
 * the closer answer.
 */
export function computeCostMicroUsd(price: RateSet, usage: TokenUsage): number | null {
  if (usage.inputTokens === null && usage.outputTokens === null) return null;
  return costOf(resolve(price, null), usage);
}

/** The cost at `rates`, in doubles when the counts allow it, else in BigInt. */
function costOf(rates: Rates, usage: TokenUsage): number | null {
  return splitCounts(usage, scratch) ? sumCost(rates, scratch) : bigCost(rates, bigCounts(usage));
}

/** The same cost summed in BigInt throughout: for counts or prices too large for exact doubles. */
export function exactCostMicroUsd(price: RateSet, usage: TokenUsage): number | null {
  if (usage.inputTokens === null && usage.outputTokens === null) return null;
  return bigCost(resolve(price, null), bigCounts(usage));
}

interface Selection {
  readonly set: RateSet;
  readonly multiplier: number | null;
  readonly note: string | null;
}

/** The long-context tier the prompt falls in (the highest threshold it exceeds), or the set itself. */
function pickLongContext(set: RateSet, tiers: readonly LongContextTier[] | undefined, inputTokens: number): { set: RateSet; note: string | null } {
  if (tiers === undefined) return { set, note: null };
  let picked: LongContextTier | null = null;
  for (const tier of tiers) if (inputTokens > tier.aboveInputTokens) picked = tier;
  return picked === null ? { set, note: null } : { set: picked, note: `long context: input above ${picked.aboveInputTokens} tokens` };
}

const standard = new WeakMap<ModelPrice, Selection>();

/** A row's own prices, as a selection made once per row. */
function ownPrices(price: ModelPrice): Selection {
  let selection = standard.get(price);
  if (selection === undefined) {
    selection = { set: price, multiplier: null, note: null };
    standard.set(price, selection);
  }
  return selection;
}

const joinNotes = (a: string | null, b: string | null): string | null => (a === null ? b : b === null ? a : `${a}; ${b}`);

/**
 * Which prices apply to a call of `price`'s model on `serviceTier` with this
 * many prompt tokens; null when the tier has no price (neither on the row nor
 * in the provider's rules).
 */
export function selectRates(table: PriceTable, price: ModelPrice, serviceTier: string | null, inputTokens: number): Selection | null {
  const tier = serviceTier === null ? null : serviceTier.toLowerCase();
  if (tier === null || STANDARD_TIER_NAMES.has(tier)) {
    if (price.longContext === undefined) return ownPrices(price); // most calls: nothing to choose, nothing to allocate
    const base = pickLongContext(price, price.longContext, inputTokens);
    return { set: base.set, multiplier: null, note: base.note };
  }
  const entry = price.serviceTiers?.[tier] ?? table.providers[price.provider]?.serviceTiers[tier];
  if (entry === undefined) return null;
  if (entry.multiplier !== undefined) {
    const base = pickLongContext(price, price.longContext, inputTokens);
    return { set: base.set, multiplier: entry.multiplier, note: joinNotes(`service tier ${tier} (×${entry.multiplier})`, base.note) };
  }
  const own = pickLongContext(entry, entry.longContext, inputTokens);
  return { set: own.set, multiplier: null, note: joinNotes(`service tier ${tier}`, own.note) };
}

/**
 * Everything an event needs about its cost. `no_usage` is decided before the
 * model lookup so that `unknown_model` counts only calls whose spend was
 * actually lost for want of a price row. A usage with refused counts
 * (`rejected`) has no cost: its real size is unknown.
 */
export function priceCall(
  table: PriceTable,
  provider: string,
  model: string | null,
  usage: TokenUsage | null,
  serviceTier: string | null = null,
): PricedCall {
  if (usage === null || (usage.inputTokens === null && usage.outputTokens === null && !usage.rejected)) {
    return { costMicroUsd: null, priceVersion: null, reason: 'no_usage', note: null };
  }
  if (usage.rejected) {
    return { costMicroUsd: null, priceVersion: null, reason: 'invalid_usage', note: 'no cost: the upstream reported counts that are not token counts (see usage.note)' };
  }
  const price = model === null ? null : findPrice(table, provider, model);
  if (price === null) {
    return { costMicroUsd: null, priceVersion: null, reason: 'unknown_model', note: `no price for ${provider}/${model ?? '(no model)'} in prices ${table.version}` };
  }
  const selection = selectRates(table, price, serviceTier, tokenCount(usage.inputTokens));
  if (selection === null) {
    return {
      costMicroUsd: null,
      priceVersion: null,
      reason: 'unknown_service_tier',
      note: `no price for service tier ${serviceTier} of ${price.provider}/${price.model} in prices ${table.version}`,
    };
  }
  const rates = resolve(selection.set, selection.multiplier);
  const exactSplit = splitCounts(usage, scratch);
  const unpriced = unpricedTerm(rates, scratch);
  if (unpriced !== null) {
    return {
      costMicroUsd: null,
      priceVersion: null,
      reason: 'unpriced_tokens',
      note: `no price for the ${unpriced} of ${price.provider}/${price.model} in prices ${table.version}`,
    };
  }
  const exact = exactSplit ? sumCost(rates, scratch) : bigCost(rates, bigCounts(usage));
  if (exact === null || !Number.isSafeInteger(exact)) {
    return { costMicroUsd: null, priceVersion: null, reason: 'invalid_usage', note: 'no cost: it would exceed 2^53 micro-USD' };
  }
  return { costMicroUsd: exact, priceVersion: table.version, reason: 'priced', note: selection.note };
}
