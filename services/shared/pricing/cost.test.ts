import { sampleUsage as usage } from '../../../test/support/sample-observation';
import { computeCostMicroUsd, exactCostMicroUsd, priceCall } from './cost';
import type { ModelPrice } from './price-schema';
import { findPrice, loadPriceTable } from './price-table';

const table = loadPriceTable();

function builtinPrice(provider: string, model: string): ModelPrice {
  const price = findPrice(table, provider, model);
  if (price === null) throw new Error(`no bundled price for ${provider}/${model}`);
  return price;
}

describe('computeCostMicroUsd', () => {
  const gpt4o = builtinPrice('openai', 'gpt-4o');

  it('gives the BigInt sum to the micro-USD, for ordinary and huge counts and prices alike', () => {
    // The sum is done in doubles when they are exact and in BigInt otherwise: both must agree with BigInt throughout.
    let seed = 7;
    const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const prices = [0, 0.01, 0.075, 0.15, 1.005, 2.5, 3, 15, 60, 1e-7, 123.456789, 1e6, 9_007_199.254740993];
    const counts = [null, 0, 1, 7, 999, 25_000, 1_000_000, 123_456_789, 2 ** 40, 2 ** 53 - 1, 2 ** 53 + 2, 1e18];
    const pick = <T,>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!;
    for (let i = 0; i < 5_000; i++) {
      const price: ModelPrice = { provider: 'p', model: 'm', input: pick(prices), output: pick(prices), cachedInput: pick(prices), cacheWrite: pick(prices) };
      const u = usage({ inputTokens: pick(counts), outputTokens: pick(counts), cachedInputTokens: pick(counts), cacheWriteTokens: pick(counts) });
      expect(computeCostMicroUsd(price, u)).toBe(exactCostMicroUsd(price, u));
    }
  });

  it('charges input and output at their prices', () => {
    expect(computeCostMicroUsd(gpt4o, usage({ inputTokens: 1_000_000, outputTokens: 1_000_000 }))).toBe(12_500_000);
  });

  it('charges cached input at the cached price', () => {
    // 600k uncached × 2.5 + 400k cached × 1.25 + 1k output × 10
    const cost = computeCostMicroUsd(
      gpt4o,
      usage({ inputTokens: 1_000_000, cachedInputTokens: 400_000, outputTokens: 1_000 }),
    );
    expect(cost).toBe(1_500_000 + 500_000 + 10_000);
  });

  it('charges Anthropic cache reads and writes separately', () => {
    const sonnet = builtinPrice('anthropic', 'claude-sonnet-4-5');
    // inputTokens covers 100 fresh + 2000 read + 1000 written:
    // 100 × 3 + 2000 × 0.3 + 1000 × 3.75 + 500 × 15
    const cost = computeCostMicroUsd(
      sonnet,
      usage({ inputTokens: 3_100, cachedInputTokens: 2_000, cacheWriteTokens: 1_000, outputTokens: 500 }),
    );
    expect(cost).toBe(300 + 600 + 3_750 + 7_500);
  });

  it('falls back to the input price when there is no cache price', () => {
    const plain: ModelPrice = { provider: 'x', model: 'y', input: 2, output: 4 };
    const cost = computeCostMicroUsd(
      plain,
      usage({ inputTokens: 1_000, cachedInputTokens: 300, cacheWriteTokens: 200, outputTokens: 10 }),
    );
    expect(cost).toBe(1_000 * 2 + 10 * 4);
  });

  it('rounds half up once, on the exact total', () => {
    const price: ModelPrice = { provider: 'x', model: 'y', input: 0.5, cachedInput: 0.25, output: 0.15 };
    expect(computeCostMicroUsd(price, usage({ inputTokens: 1 }))).toBe(1); // 0.5
    expect(computeCostMicroUsd(price, usage({ outputTokens: 3 }))).toBe(0); // 0.45
    expect(computeCostMicroUsd(price, usage({ outputTokens: 4 }))).toBe(1); // 0.6
    // Two parts of 0.25 each: rounding per part would give 0, the total is 0.5.
    expect(computeCostMicroUsd(price, usage({ inputTokens: 2, cachedInputTokens: 2 }))).toBe(1);
  });

  it('does not drift like floating point does', () => {
    // 1.005 × 100 is 100.49999999999999 as a double; the exact value is 100.5.
    const price: ModelPrice = { provider: 'x', model: 'y', input: 1.005, output: 0 };
    expect(computeCostMicroUsd(price, usage({ inputTokens: 100 }))).toBe(101);
    const tenths: ModelPrice = { provider: 'x', model: 'y', input: 0.1, cachedInput: 0.2, output: 0 };
    // 0.1 + 0.2 would be 0.30000000000000004 in floating point.
    expect(computeCostMicroUsd(tenths, usage({ inputTokens: 15, cachedInputTokens: 5 }))).toBe(2); // 1.0 + 1.0
  });

  it('is exact for large counts at sub-cent prices', () => {
    const nano = builtinPrice('openai', 'gpt-5-nano');
    // 3,333,333,333 cached tokens × 0.005 = 16,666,666.665
    expect(computeCostMicroUsd(nano, usage({ inputTokens: 3_333_333_333, cachedInputTokens: 3_333_333_333 }))).toBe(
      16_666_667,
    );
  });

  it('never charges negative uncached input when the provider over-reports cache', () => {
    const cost = computeCostMicroUsd(gpt4o, usage({ inputTokens: 100, cachedInputTokens: 150, outputTokens: 0 }));
    expect(cost).toBe(Math.round(150 * 1.25));
  });

  it('prices a call that reported only one side', () => {
    expect(computeCostMicroUsd(gpt4o, usage({ outputTokens: 100 }))).toBe(1_000);
    expect(computeCostMicroUsd(builtinPrice('openai', 'text-embedding-3-small'), usage({ inputTokens: 1_000_000 }))).toBe(
      20_000,
    );
  });

  it('is null when neither input nor output was reported', () => {
    expect(computeCostMicroUsd(gpt4o, usage({ cachedInputTokens: 10 }))).toBeNull();
  });
});

describe('priceCall', () => {
  const reported = usage({ inputTokens: 1_000_000, outputTokens: 1_000_000 });

  it('prices a known model and records the table version', () => {
    expect(priceCall(table, 'openai', 'gpt-4o-2024-08-06', reported)).toEqual({
      costMicroUsd: 12_500_000,
      priceVersion: table.version,
      reason: 'priced',
    });
  });

  it('prices Azure calls from OpenAI rows', () => {
    expect(priceCall(table, 'azure', 'gpt-4o', reported).costMicroUsd).toBe(12_500_000);
  });

  it.each([
    ['openai', 'gpt-4o-audio-preview'],
    ['openai', null],
    ['vllm', 'llama-3.1-8b'],
  ])('reports %s %p as an unknown model', (provider, model) => {
    expect(priceCall(table, provider, model, reported)).toEqual({
      costMicroUsd: null,
      priceVersion: null,
      reason: 'unknown_model',
    });
  });

  it('reports missing usage before looking the model up', () => {
    const none = { costMicroUsd: null, priceVersion: null, reason: 'no_usage' };
    expect(priceCall(table, 'openai', 'gpt-4o', null)).toEqual(none);
    expect(priceCall(table, 'openai', 'gpt-4o', usage({}))).toEqual(none);
    expect(priceCall(table, 'vllm', 'unknown', null)).toEqual(none);
  });

  it('records the custom version when overrides priced the call', () => {
    const custom = loadPriceTable({
      version: 'lab',
      models: [{ provider: 'vllm', model: 'llama-3.1-8b', input: 0.05, output: 0.1 }],
    });
    expect(priceCall(custom, 'vllm', 'llama-3.1-8b', reported)).toEqual({
      costMicroUsd: 150_000,
      priceVersion: `${table.version}+custom:lab`,
      reason: 'priced',
    });
  });
});
