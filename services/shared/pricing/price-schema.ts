/**
 * Shapes of price data: the bundled table and the overrides a user may put in
 * config. Both go through the same entry schema so a built-in row and a
 * user row can never disagree on meaning.
 */
import { z } from 'zod';

/**
 * USD per million tokens. Numerically this is also micro-USD per token, which
 * is what lets cost.ts multiply token counts by it without rescaling.
 * `z.number()` already refuses NaN and ±Infinity.
 */
const usdPerMillionTokens = z.number().nonnegative();

/** Ids are compared case-insensitively, so they are stored lower-cased. */
const modelId = z.string().trim().toLowerCase().min(1);

/**
 * One set of prices. Absent optional prices mean: cached reads and 5-minute
 * cache writes cost `input`, image input tokens cost `input` (how vision
 * models bill images); 1-hour cache writes, audio tokens and image output
 * tokens have no price, and a call that has them gets a null cost (never a
 * guess).
 */
const rateFields = {
  input: usdPerMillionTokens,
  /** Price of prompt tokens read from a cache; absent means they cost `input`. */
  cachedInput: usdPerMillionTokens.optional(),
  /** Anthropic 5-minute cache write price; absent means writes cost `input`. */
  cacheWrite: usdPerMillionTokens.optional(),
  /** Anthropic 1-hour cache write price (2× input on Anthropic's list); absent means unpriced. */
  cacheWrite1h: usdPerMillionTokens.optional(),
  output: usdPerMillionTokens,
  /** Audio tokens in and out (OpenAI audio models); absent means unpriced. */
  inputAudio: usdPerMillionTokens.optional(),
  outputAudio: usdPerMillionTokens.optional(),
  /** Image tokens in (absent: `input`) and out (image generation; absent means unpriced). */
  inputImage: usdPerMillionTokens.optional(),
  outputImage: usdPerMillionTokens.optional(),
};

/**
 * Prices that replace a row's (or a service tier's) when the call's whole
 * prompt (`input_tokens`, cache reads and writes included) is above
 * `aboveInputTokens`: every token of the call is then billed at these rates,
 * as Anthropic and Google bill their long-context tiers.
 */
const longContextTierSchema = z.strictObject({
  aboveInputTokens: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  ...rateFields,
});

const longContextSchema = z
  .array(longContextTierSchema)
  .min(1)
  .superRefine((tiers, ctx) => {
    tiers.forEach((tier, i) => {
      if (i > 0 && tier.aboveInputTokens <= tiers[i - 1]!.aboveInputTokens) {
        ctx.addIssue({ code: 'custom', path: [i, 'aboveInputTokens'], message: 'thresholds must rise from one tier to the next' });
      }
    });
  });

/** `standard` (and the spellings providers use for it) is the row's own prices, never a named tier. */
export const STANDARD_TIER_NAMES: ReadonlySet<string> = new Set(['standard', 'default', 'auto']);

const serviceTierName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]*$/, 'use lower-case letters, digits, ".", "_" or "-"')
  .refine((name) => !STANDARD_TIER_NAMES.has(name), 'is the standard tier: its prices are the row\'s own');

/**
 * A service tier's prices: either `{ multiplier }`, applied to everything the
 * standard tier would charge (its long-context tier included), or a full set
 * of prices (with its own `longContext`, if any).
 */
const serviceTierEntrySchema = z
  .strictObject({
    multiplier: z.number().positive().max(1_000).optional(),
    input: usdPerMillionTokens.optional(),
    cachedInput: usdPerMillionTokens.optional(),
    cacheWrite: usdPerMillionTokens.optional(),
    cacheWrite1h: usdPerMillionTokens.optional(),
    output: usdPerMillionTokens.optional(),
    inputAudio: usdPerMillionTokens.optional(),
    outputAudio: usdPerMillionTokens.optional(),
    inputImage: usdPerMillionTokens.optional(),
    outputImage: usdPerMillionTokens.optional(),
    longContext: longContextSchema.optional(),
  })
  .superRefine((entry, ctx) => {
    const prices = Object.keys(entry).filter((k) => k !== 'multiplier');
    if (entry.multiplier !== undefined) {
      if (prices.length > 0) ctx.addIssue({ code: 'custom', path: [prices[0]!], message: 'give either a multiplier or prices, not both' });
      return;
    }
    for (const key of ['input', 'output'] as const) {
      if (entry[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'a service tier needs a multiplier, or input and output prices' });
    }
  })
  // The checks above make it one of the two shapes.
  .transform((entry) => entry as ServiceTierPrice);

const serviceTiersSchema = z.record(serviceTierName, serviceTierEntrySchema);

export const modelPriceSchema = z.strictObject({
  provider: modelId,
  model: modelId,
  ...rateFields,
  /** Higher prices above a prompt size, lowest threshold first. */
  longContext: longContextSchema.optional(),
  /** Prices of processing tiers other than standard (`batch`, `flex`, `priority`…), by the name the answer reports. */
  serviceTiers: serviceTiersSchema.optional(),
  /** Other exact names the provider reports for the same model. */
  aliases: z.array(modelId).optional(),
});

/** Rules for every model of a provider, used where a row does not say otherwise. */
const providerDefaultsSchema = z.record(modelId, z.strictObject({ serviceTiers: serviceTiersSchema }));

/**
 * Two rows answering to the same (provider, name) inside one list would make
 * the winner depend on row order, which nobody reading the config expects.
 */
function rejectDuplicateNames(
  models: readonly z.infer<typeof modelPriceSchema>[],
  ctx: z.RefinementCtx,
  pathPrefix: readonly PropertyKey[],
): void {
  const seen = new Map<string, string>();
  models.forEach((entry, index) => {
    const names: [string, PropertyKey[]][] = [[entry.model, [index, 'model']]];
    (entry.aliases ?? []).forEach((alias, aliasIndex) => {
      names.push([alias, [index, 'aliases', aliasIndex]]);
    });
    for (const [name, path] of names) {
      const key = `${entry.provider}\u0000${name}`;
      const first = seen.get(key);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [...pathPrefix, ...path],
          message: `"${entry.provider}/${name}" is already priced by ${first}`,
        });
      } else {
        seen.set(key, `models[${index}]`);
      }
    }
  });
}

/** The bundled prices.json. */
export const priceTableFileSchema = z
  .strictObject({
    version: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a YYYY-MM-DD date'),
    currency: z.literal('USD'),
    unit: z.literal('per_million_tokens'),
    providers: providerDefaultsSchema.optional(),
    models: z.array(modelPriceSchema),
  })
  .superRefine((file, ctx) => rejectDuplicateNames(file.models, ctx, ['models']));

/**
 * User overrides. The version label ends up inside every event's price
 * version, so it is kept to characters that are safe in logs and file names.
 */
export const priceOverridesSchema = z
  .strictObject({
    version: z
      .string()
      .max(64)
      .regex(/^[0-9A-Za-z][0-9A-Za-z._-]*$/, 'use letters, digits, ".", "_" or "-"')
      .optional(),
    providers: providerDefaultsSchema.optional(),
    models: z.array(modelPriceSchema),
  })
  .superRefine((overrides, ctx) => rejectDuplicateNames(overrides.models, ctx, ['models']));

/** One set of prices in USD per million tokens (see `rateFields` for what an absent price means). */
export interface RateSet {
  /** USD per million uncached text prompt tokens. */
  readonly input: number;
  readonly cachedInput?: number;
  readonly cacheWrite?: number;
  readonly cacheWrite1h?: number;
  readonly output: number;
  readonly inputAudio?: number;
  readonly outputAudio?: number;
  readonly inputImage?: number;
  readonly outputImage?: number;
}

export interface LongContextTier extends RateSet {
  /** These prices apply when the whole prompt has more tokens than this. */
  readonly aboveInputTokens: number;
}

export type ServiceTierPrice =
  | { readonly multiplier: number }
  | (RateSet & { readonly multiplier?: undefined; readonly longContext?: readonly LongContextTier[] });

export interface ModelPrice extends RateSet {
  readonly provider: string;
  readonly model: string;
  readonly longContext?: readonly LongContextTier[];
  readonly serviceTiers?: Readonly<Record<string, ServiceTierPrice>>;
  readonly aliases?: readonly string[];
}

export interface ProviderDefaults {
  readonly serviceTiers: Readonly<Record<string, ServiceTierPrice>>;
}

/** What a user writes under `prices:` in config (or in LLM_LOGGER_PRICES_FILE), before validation. */
export interface PriceOverrides {
  version?: string;
  providers?: Record<string, ProviderDefaults>;
  models: ModelPrice[];
}
