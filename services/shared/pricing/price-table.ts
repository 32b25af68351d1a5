/**
 * The versioned price table: the bundled prices.json, optionally merged with
 * user overrides, and the lookup from a (provider, model) pair to a price.
 */
import type { z } from 'zod';
import { boundedMemo } from '../bounded-memo';

import builtinPriceFile from './prices.json';
import { type ModelPrice, type ProviderDefaults, priceOverridesSchema, priceTableFileSchema } from './price-schema';
import { stableHash } from './stable-hash';
import { stripVersionSuffix } from './version-suffix';

export interface PriceTable {
  /**
   * Recorded on every priced event: the bundled table's date, plus
   * `+custom:<label or hash>` when overrides changed anything.
   */
  readonly version: string;
  readonly currency: 'USD';
  readonly unit: 'per_million_tokens';
  /** Per-provider rules (service tiers every model of the provider has unless its row says otherwise). */
  readonly providers: Readonly<Record<string, ProviderDefaults>>;
  readonly models: readonly ModelPrice[];
}

export interface PriceTableIssue {
  /** Where the bad value sits in the config, e.g. `prices.models[3].input`. */
  readonly path: string;
  readonly message: string;
}

export class PriceTableError extends Error {
  override readonly name = 'PriceTableError';
  /** Path of the first bad field, for callers that report one location. */
  readonly path: string;
  readonly issues: readonly PriceTableIssue[];

  constructor(source: string, issues: readonly PriceTableIssue[]) {
    const first = issues[0] ?? { path: source, message: 'invalid' };
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super(`invalid ${source}: ${first.path}: ${first.message}${more}`);
    this.path = first.path;
    this.issues = issues;
  }
}

export interface LoadPriceTableOptions {
  /** Name of the overrides in the user's config, used as the root of error paths. */
  readonly configPath?: string;
}

/**
 * Azure OpenAI serves OpenAI's models under the same names, so it is priced
 * from the OpenAI rows unless an override prices `azure` explicitly (Azure's
 * regional or provisioned prices can differ from OpenAI's).
 */
const PROVIDER_FALLBACKS: Readonly<Record<string, readonly string[]>> = {
  azure: ['azure', 'openai'],
};

type PriceIndex = ReadonlyMap<string, ReadonlyMap<string, ModelPrice>>;

/** Built lazily so a table assembled by hand (tests, tools) still works with findPrice. */
const indexes = new WeakMap<PriceTable, PriceIndex>();

let builtinTable: PriceTable | undefined;

function normalizeId(id: string): string {
  return id.trim().toLowerCase();
}

function formatPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const key of path) {
    if (typeof key === 'number') {
      out += `[${key}]`;
    } else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) {
      out += `.${key}`;
    } else {
      out += `[${JSON.stringify(String(key))}]`;
    }
  }
  return out;
}

function toIssues(root: string, error: z.ZodError): PriceTableIssue[] {
  return error.issues.map((issue) => {
    // A misspelt key is reported on its parent object; naming the key itself
    // is what lets the user find the typo.
    const path =
      issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined
        ? [...issue.path, issue.keys[0]]
        : issue.path;
    return { path: formatPath(root, path), message: issue.message };
  });
}

/** Rows are shared by every call priced with them: nothing may change one after loading. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

function buildIndex(models: readonly ModelPrice[]): PriceIndex {
  const byProvider = new Map<string, Map<string, ModelPrice>>();
  // Later rows win, which is how overrides (appended last) take precedence
  // over a built-in row answering to the same name.
  for (const entry of models) {
    const provider = normalizeId(entry.provider);
    let names = byProvider.get(provider);
    if (names === undefined) {
      names = new Map();
      byProvider.set(provider, names);
    }
    for (const name of [entry.model, ...(entry.aliases ?? [])]) {
      names.set(normalizeId(name), entry);
    }
  }
  return byProvider;
}

function indexFor(table: PriceTable): PriceIndex {
  let index = indexes.get(table);
  if (index === undefined) {
    index = buildIndex(table.models);
    indexes.set(table, index);
  }
  return index;
}

function makeTable(version: string, models: ModelPrice[], providers: Record<string, ProviderDefaults>): PriceTable {
  const table: PriceTable = deepFreeze({
    version,
    currency: 'USD',
    unit: 'per_million_tokens',
    providers,
    models,
  });
  indexes.set(table, buildIndex(table.models));
  return table;
}

function loadBuiltinTable(): PriceTable {
  if (builtinTable === undefined) {
    const parsed = priceTableFileSchema.safeParse(builtinPriceFile);
    if (!parsed.success) {
      throw new PriceTableError('bundled price table', toIssues('prices.json', parsed.error));
    }
    builtinTable = makeTable(parsed.data.version, parsed.data.models, parsed.data.providers ?? {});
  }
  return builtinTable;
}

/**
 * The bundled table, or the bundled table with `overrides` (the user's
 * `prices` config: `{ version?, models: [...] }`) replacing rows with the same
 * provider and model and adding new ones. Throws PriceTableError naming the
 * path of the first bad field.
 */
export function loadPriceTable(overrides?: unknown, options: LoadPriceTableOptions = {}): PriceTable {
  const builtin = loadBuiltinTable();
  if (overrides === undefined || overrides === null) return builtin;

  const root = options.configPath ?? 'prices';
  const parsed = priceOverridesSchema.safeParse(overrides);
  if (!parsed.success) {
    throw new PriceTableError('price overrides', toIssues(root, parsed.error));
  }
  const custom = parsed.data;
  // Nothing changed, so events should keep pointing at the bundled prices.
  if (custom.models.length === 0 && Object.keys(custom.providers ?? {}).length === 0) return builtin;

  const replaced = new Set(custom.models.map((m) => `${m.provider}\u0000${m.model}`));
  const kept = builtin.models.filter((m) => !replaced.has(`${m.provider}\u0000${m.model}`));
  // A provider's tiers are merged tier by tier: an override names the tiers it changes.
  const providers: Record<string, ProviderDefaults> = {};
  for (const name of new Set([...Object.keys(builtin.providers), ...Object.keys(custom.providers ?? {})])) {
    providers[name] = { serviceTiers: { ...builtin.providers[name]?.serviceTiers, ...custom.providers?.[name]?.serviceTiers } };
  }
  const label = custom.version ?? stableHash(custom);
  return makeTable(`${builtin.version}+custom:${label}`, [...kept, ...custom.models], providers);
}

/** Lookups already answered, per table: the same few models recur on every call. */
const lookups = new WeakMap<PriceTable, (key: string) => ModelPrice | null>();

/**
 * Price of `model` as served by `provider`: an exact id or alias, or that id
 * followed by a snapshot suffix (`-2024-08-06`, `-20250514`, `-latest`).
 * Never a looser prefix match. Providers with no rows (self-hosted servers
 * unless an override prices them) get null.
 */
export function findPrice(table: PriceTable, provider: string, model: string): ModelPrice | null {
  let lookup = lookups.get(table);
  if (lookup === undefined) {
    lookup = boundedMemo(10_000, (key) => {
      const cut = key.indexOf('\u0000'); // provider names (from config) hold no NUL; model names might
      return lookupPrice(table, key.slice(0, cut), key.slice(cut + 1));
    });
    lookups.set(table, lookup);
  }
  return lookup(`${provider}\u0000${model}`);
}

function lookupPrice(table: PriceTable, provider: string, model: string): ModelPrice | null {
  const wanted = normalizeId(model);
  if (wanted === '') return null;
  const withoutSuffix = stripVersionSuffix(wanted);
  const index = indexFor(table);
  const providerId = normalizeId(provider);

  for (const candidate of PROVIDER_FALLBACKS[providerId] ?? [providerId]) {
    const names = index.get(candidate);
    if (names === undefined) continue;
    const hit = names.get(wanted) ?? (withoutSuffix === null ? undefined : names.get(withoutSuffix));
    if (hit !== undefined) return hit;
  }
  return null;
}
