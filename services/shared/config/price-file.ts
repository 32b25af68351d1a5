import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type * as Yaml from 'yaml';
import { LlmLoggerError } from '../errors';
import { loadPriceTable, PriceTableError, type PriceTable } from '../pricing';
import { ENV_PREFIX, type Config } from './config';

/**
 * Where the prices in force come from: LLM_LOGGER_PRICES_FILE, the config
 * file's `prices:`, or only the bundled table. Read at start-up by the gateway
 * and by `llm-logger reprice`, and again by the gateway when prices reload.
 */
export type PriceSource =
  | { kind: 'prices-file'; path: string }
  | { kind: 'config-file'; path: string }
  | { kind: 'bundled' };

export function priceSourceOf(config: Pick<Config, 'pricesFile' | 'configFile'>): PriceSource {
  if (config.pricesFile !== null) return { kind: 'prices-file', path: config.pricesFile };
  if (config.configFile !== null) return { kind: 'config-file', path: config.configFile };
  return { kind: 'bundled' };
}

/** How an error names the source: the variable and its file, or the config file's key. */
export function describePriceSource(source: PriceSource): string {
  if (source.kind === 'prices-file') return `${ENV_PREFIX}PRICES_FILE=${source.path}`;
  if (source.kind === 'config-file') return `config file ${source.path} (prices:)`;
  return 'the bundled price table';
}

export interface LoadedPrices {
  table: PriceTable;
  /** SHA-256 of the prices as parsed, to tell a real change from a touch or an edit elsewhere in the file. */
  contentHash: string;
  /** The overrides' own version label, when they give one. */
  label: string | null;
}

function fail(source: PriceSource, message: string, cause?: unknown): never {
  throw new LlmLoggerError('CONFIG_INVALID', `${describePriceSource(source)}: ${message}`, { cause });
}

/**
 * Reads and validates the prices of `source`. Throws CONFIG_INVALID naming the
 * file and the field at fault (e.g. `models[3].input`); nothing is half-loaded.
 */
export function loadPrices(source: PriceSource): LoadedPrices {
  if (source.kind === 'bundled') return { table: loadPriceTable(), contentHash: '', label: null };
  let text: string;
  try {
    text = readFileSync(source.path, 'utf8');
  } catch (cause) {
    return fail(source, `cannot be read (${(cause as Error).message})`, cause);
  }
  let doc: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when prices come from a file
    doc = (require('yaml') as typeof Yaml).parse(text) ?? {};
  } catch (cause) {
    return fail(source, `not valid YAML or JSON (${(cause as Error).message})`, cause);
  }
  let overrides: unknown = doc;
  if (source.kind === 'config-file') {
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return fail(source, 'is not a YAML mapping');
    overrides = (doc as { prices?: unknown }).prices;
  }
  let table: PriceTable;
  try {
    table = loadPriceTable(overrides, { configPath: source.kind === 'config-file' ? 'prices' : 'file' });
  } catch (cause) {
    if (cause instanceof PriceTableError) return fail(source, `${cause.path}: ${cause.issues[0]?.message ?? 'invalid'}${cause.issues.length > 1 ? ` (and ${cause.issues.length - 1} more)` : ''}`, cause);
    throw cause;
  }
  const label = overrides !== null && typeof overrides === 'object' && typeof (overrides as { version?: unknown }).version === 'string' ? (overrides as { version: string }).version : null;
  return { table, contentHash: createHash('sha256').update(JSON.stringify(overrides ?? null)).digest('hex'), label };
}
