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
      const price: ModelPrice = {
        provider: 'p',
        model: 'm',
        input: pick(prices),
        output: pick(prices),
        cachedInput: pick(prices),
        cacheWrite: pick(prices),
        cacheWrite1h: pick(prices),
        inputAudio: pick(prices),
        outputAudio: pick(prices),
        inputImage: pick(prices),
        outputImage: pick(prices),
      };
      const u = usage({
        inputTokens: pick(counts),
        outputTokens: pick(counts),
        cachedInputTokens: pick(counts),
        cacheWriteTokens: pick(counts),
        cacheWrite1hTokens: i % 2 ? pick(counts) : undefined,
        inputAudioTokens: i % 3 ? pick(counts) : undefined,
        outputAudioTokens: i % 3 ? pick(counts) : undefined,
        inputImageTokens: i % 5 ? pick(counts) : undefined,
        outputImageTokens: i % 5 ? pick(counts) : undefined,
      });
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
      note: null,
    });
  });

  it('prices Azure calls from OpenAI rows', () => {
    expect(priceCall(table, 'azure', 'gpt-4o', reported).costMicroUsd).toBe(12_500_000);
  });

  it.each([
    ['openai', 'gpt-4o-realtime-preview'],
    ['openai', null],
    ['vllm', 'llama-3.1-8b'],
  ])('reports %s %p as an unknown model', (provider, model) => {
    expect(priceCall(table, provider, model, reported)).toEqual({
      costMicroUsd: null,
      priceVersion: null,
      reason: 'unknown_model',
      note: `no price for ${provider}/${model ?? '(no model)'} in prices ${table.version}`,
    });
  });

  it('reports missing usage before looking the model up', () => {
    const none = { costMicroUsd: null, priceVersion: null, reason: 'no_usage', note: null };
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
      note: null,
    });
  });
});

describe('priceCall: what providers bill beyond input and output', () => {
  const sonnet45 = 'claude-sonnet-4-5-20250929';

  it('prices 1-hour cache writes at 2× input and 5-minute ones at 1.25× (Anthropic)', () => {
    // The golden fixture messages-cache-1h: 21 fresh + 5,400 written (4,200 of them for 1 h), 38 out.
    const u = usage({ inputTokens: 5_421, outputTokens: 38, cachedInputTokens: 0, cacheWriteTokens: 5_400, cacheWrite1hTokens: 4_200 });
    // 21 × 3 + 1,200 × 3.75 + 4,200 × 6 + 38 × 15
    expect(priceCall(table, 'anthropic', sonnet45, u)).toEqual({ costMicroUsd: 63 + 4_500 + 25_200 + 570, priceVersion: table.version, reason: 'priced', note: null });
    // Without the breakdown every write is a 5-minute one, as before.
    const { cacheWrite1hTokens: _omit, ...without } = u;
    expect(priceCall(table, 'anthropic', sonnet45, without).costMicroUsd).toBe(63 + 5_400 * 3.75 + 570);
  });

  it('never prices more 1-hour writes than writes', () => {
    const u = usage({ inputTokens: 110, outputTokens: 0, cacheWriteTokens: 100, cacheWrite1hTokens: 500 });
    expect(priceCall(table, 'anthropic', sonnet45, u).costMicroUsd).toBe(10 * 3 + 100 * 6);
  });

  it('prices a long prompt at the long-context tier, every token of the call (Sonnet 4.5 above 200K)', () => {
    const at = (input: number, cacheRead = 0) => priceCall(table, 'anthropic', sonnet45, usage({ inputTokens: input, cachedInputTokens: cacheRead, outputTokens: 1_000 }));
    expect(at(200_000)).toMatchObject({ costMicroUsd: 200_000 * 3 + 15_000, note: null });
    expect(at(200_001)).toEqual({
      costMicroUsd: 200_001 * 6 + 22_500,
      priceVersion: table.version,
      reason: 'priced',
      note: 'long context: input above 200000 tokens',
    });
    // Cache reads count toward the threshold and are billed at the tier's read price.
    expect(at(250_000, 240_000).costMicroUsd).toBe(10_000 * 6 + 240_000 * 0.6 + 22_500);
  });

  it('prices Gemini 2.5 Pro above 200K and Gemini 1.5 Pro above 128K', () => {
    expect(priceCall(table, 'gemini', 'gemini-2.5-pro', usage({ inputTokens: 300_000, outputTokens: 2_000 })).costMicroUsd).toBe(300_000 * 2.5 + 2_000 * 15);
    expect(priceCall(table, 'gemini', 'gemini-1.5-pro', usage({ inputTokens: 128_000, outputTokens: 10 })).costMicroUsd).toBe(128_000 * 1.25 + 10 * 5);
    expect(priceCall(table, 'gemini', 'gemini-1.5-pro', usage({ inputTokens: 128_001, outputTokens: 10 })).costMicroUsd).toBe(320_103); // 320,102.5, rounded half up
  });

  it('prices OpenAI service tiers: priority at its own prices, flex and batch at half', () => {
    const u = usage({ inputTokens: 1_000_000, cachedInputTokens: 200_000, outputTokens: 100_000 });
    const standard = 800_000 * 1.25 + 200_000 * 0.125 + 100_000 * 10;
    expect(priceCall(table, 'openai', 'gpt-5-2025-08-07', u, 'default')).toMatchObject({ costMicroUsd: standard, note: null });
    expect(priceCall(table, 'openai', 'gpt-5-2025-08-07', u, null).costMicroUsd).toBe(standard);
    expect(priceCall(table, 'openai', 'gpt-5-2025-08-07', u, 'priority')).toEqual({
      costMicroUsd: 800_000 * 2.5 + 200_000 * 0.25 + 100_000 * 20,
      priceVersion: table.version,
      reason: 'priced',
      note: 'service tier priority',
    });
    expect(priceCall(table, 'openai', 'gpt-5-2025-08-07', u, 'flex')).toMatchObject({ costMicroUsd: standard / 2, note: 'service tier flex (×0.5)' });
    expect(priceCall(table, 'openai', 'o4-mini', usage({ inputTokens: 19, outputTokens: 203, cachedInputTokens: 0 }), 'flex').costMicroUsd).toBe(
      Math.round((19 * 1.1 + 203 * 4.4) / 2),
    );
    expect(priceCall(table, 'anthropic', sonnet45, usage({ inputTokens: 1_000, outputTokens: 1_000 }), 'batch').costMicroUsd).toBe(9_000);
  });

  it('halves the long-context prices too on a multiplier tier, and names both', () => {
    expect(priceCall(table, 'anthropic', sonnet45, usage({ inputTokens: 300_000, outputTokens: 0 }), 'batch')).toMatchObject({
      costMicroUsd: 900_000,
      note: 'service tier batch (×0.5); long context: input above 200000 tokens',
    });
  });

  it('refuses to guess the price of a tier it does not know', () => {
    expect(priceCall(table, 'openai', 'gpt-4o', usage({ inputTokens: 10, outputTokens: 10 }), 'scale')).toEqual({
      costMicroUsd: null,
      priceVersion: null,
      reason: 'unknown_service_tier',
      note: `no price for service tier scale of openai/gpt-4o in prices ${table.version}`,
    });
    // Priority exists for some models only.
    expect(priceCall(table, 'openai', 'gpt-4o-mini', usage({ inputTokens: 10, outputTokens: 10 }), 'priority').reason).toBe('unknown_service_tier');
  });

  it('prices audio tokens at the audio prices (the golden fixture chat-audio)', () => {
    const u = usage({ inputTokens: 71, outputTokens: 142, cachedInputTokens: 0, reasoningTokens: 0, inputAudioTokens: 56, inputImageTokens: 0, outputAudioTokens: 118 });
    // 15 text in × 2.5 + 56 audio in × 40 + 24 text out × 10 + 118 audio out × 80
    expect(priceCall(table, 'openai', 'gpt-4o-audio-preview-2025-06-03', u, 'default').costMicroUsd).toBe(Math.round(37.5 + 2_240 + 240 + 9_440));
  });

  it('prices image tokens (gpt-image-1) and bills image input at the text input price where a row has no image price', () => {
    const image = usage({ inputTokens: 50, inputImageTokens: 40, outputTokens: 4_160 });
    expect(priceCall(table, 'openai', 'gpt-image-1', image).costMicroUsd).toBe(10 * 5 + 40 * 10 + 4_160 * 40);
    expect(priceCall(table, 'openai', 'gpt-4o', usage({ inputTokens: 1_000, inputImageTokens: 765, outputTokens: 0 })).costMicroUsd).toBe(1_000 * 2.5);
  });

  it('leaves the cost unknown, and says why, when the call has tokens its prices do not cover', () => {
    const u = usage({ inputTokens: 100, outputTokens: 10, inputAudioTokens: 60 });
    expect(priceCall(table, 'openai', 'gpt-4o', u)).toEqual({
      costMicroUsd: null,
      priceVersion: null,
      reason: 'unpriced_tokens',
      note: `no price for the audio input tokens of openai/gpt-4o in prices ${table.version}`,
    });
    const custom = loadPriceTable({ models: [{ provider: 'anthropic', model: 'claude-sonnet-4-5', input: 3, cacheWrite: 3.75, output: 15 }] });
    expect(priceCall(custom, 'anthropic', sonnet45, usage({ inputTokens: 100, outputTokens: 1, cacheWriteTokens: 50, cacheWrite1hTokens: 50 })).note).toBe(
      `no price for the 1-hour cache writes of anthropic/claude-sonnet-4-5 in prices ${custom.version}`,
    );
  });

  it('has no cost for usage with refused counts: its real size is unknown', () => {
    expect(priceCall(table, 'openai', 'gpt-4o', usage({ inputTokens: null, outputTokens: 5, rejected: 'prompt_tokens: -3 is negative' }))).toEqual({
      costMicroUsd: null,
      priceVersion: null,
      reason: 'invalid_usage',
      note: 'no cost: the upstream reported counts that are not token counts (see usage.note)',
    });
    expect(priceCall(table, 'openai', 'gpt-4o', usage({ rejected: 'prompt_tokens: 1.5 is not a whole number' })).reason).toBe('invalid_usage');
  });

  it('has no cost rather than an unsafe number when the total would pass 2^53 micro-USD', () => {
    expect(priceCall(table, 'openai', 'o1-pro', usage({ inputTokens: 2 ** 53 - 1, outputTokens: 2 ** 53 - 1 }))).toMatchObject({ costMicroUsd: null, reason: 'invalid_usage' });
  });

  it('takes service tiers and provider rules from overrides, tier by tier', () => {
    const custom = loadPriceTable({
      providers: { anthropic: { serviceTiers: { priority: { multiplier: 1 } } }, openai: { serviceTiers: { scale: { multiplier: 1.25 } } } },
      models: [{ provider: 'vllm', model: 'llama', input: 1, output: 1, serviceTiers: { batch: { input: 0.25, output: 0.5 } } }],
    });
    const u = usage({ inputTokens: 1_000, outputTokens: 1_000 });
    expect(priceCall(custom, 'anthropic', sonnet45, u, 'priority').costMicroUsd).toBe(18_000);
    expect(priceCall(custom, 'anthropic', sonnet45, u, 'batch').costMicroUsd).toBe(9_000); // the bundled rule is kept
    expect(priceCall(custom, 'openai', 'gpt-4o', u, 'scale').costMicroUsd).toBe(15_625);
    expect(priceCall(custom, 'vllm', 'llama', u, 'batch')).toMatchObject({ costMicroUsd: 750, note: 'service tier batch' });
    expect(custom.version).toMatch(/^\d{4}-\d{2}-\d{2}\+custom:[0-9a-f]{12}$/);
  });
});
