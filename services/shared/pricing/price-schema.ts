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

export const modelPriceSchema = z.strictObject({
  provider: modelId,
  model: modelId,
  input: usdPerMillionTokens,
  /** Price of prompt tokens read from a cache; absent means they cost `input`. */
  cachedInput: usdPerMillionTokens.optional(),
  /** Anthropic 5-minute cache write price; absent means writes cost `input`. */
  cacheWrite: usdPerMillionTokens.optional(),
  output: usdPerMillionTokens,
  /** Other exact names the provider reports for the same model. */
  aliases: z.array(modelId).optional(),
});

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
    models: z.array(modelPriceSchema),
  })
  .superRefine((overrides, ctx) => rejectDuplicateNames(overrides.models, ctx, ['models']));

export interface ModelPrice {
  readonly provider: string;
  readonly model: string;
  /** USD per million uncached prompt tokens. */
  readonly input: number;
  readonly cachedInput?: number;
  readonly cacheWrite?: number;
  readonly output: number;
  readonly aliases?: readonly string[];
}

/** What a user writes under `prices:` in config, before validation. */
export interface PriceOverrides {
  version?: string;
  models: ModelPrice[];
}
