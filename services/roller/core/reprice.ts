/**
 * `llm-logger reprice`, the pure part: which archived events need a new
 * price, what it is, and the rows of the corrections dataset. No I/O: the
 * rows come from DuckDB and the result goes to Parquet in roller/reprice.ts.
 */
import type { TokenUsage } from '../../gateway/core/wire/types';
import { priceCall, type PriceReason, type PriceTable } from '../../shared/pricing';
import type { ColumnKind } from './column-spec';

/** What reprice reads of an archived event (Parquet column names). */
export interface ArchivedCall {
  event_id: string;
  started_at: number;
  provider: string;
  request_model: string | null;
  response_model: string | null;
  service_tier: string | null;
  cost_micro_usd: number | null;
  price_version: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cached_input_tokens: number | null;
  cache_write_tokens: number | null;
  reasoning_tokens: number | null;
  cache_write_1h_tokens: number | null;
  input_audio_tokens: number | null;
  input_image_tokens: number | null;
  output_audio_tokens: number | null;
  output_image_tokens: number | null;
  usage_source: string;
  usage_note: string | null;
}

/** Why an event is repriced: it had no price, or its table is older than the one in force. */
export type RepriceCause = 'unknown_price' | 'older_version';

/** Columns of the corrections dataset, in file order. */
export const REPRICED_COLUMNS: readonly { name: string; kind: ColumnKind; nullable: boolean }[] = [
  { name: 'event_id', kind: 'utf8', nullable: false },
  { name: 'started_at', kind: 'timestamp', nullable: false },
  { name: 'provider', kind: 'utf8', nullable: false },
  { name: 'model', kind: 'utf8', nullable: false },
  { name: 'service_tier', kind: 'utf8', nullable: true },
  { name: 'cause', kind: 'utf8', nullable: false },
  { name: 'old_cost_micro_usd', kind: 'int64', nullable: true },
  { name: 'old_price_version', kind: 'utf8', nullable: true },
  { name: 'new_cost_micro_usd', kind: 'int64', nullable: false },
  { name: 'new_price_version', kind: 'utf8', nullable: false },
  { name: 'cost_note', kind: 'utf8', nullable: true },
  { name: 'repriced_at', kind: 'timestamp', nullable: false },
];

export interface RepricedRow {
  event_id: string;
  started_at: number;
  provider: string;
  model: string;
  service_tier: string | null;
  cause: RepriceCause;
  old_cost_micro_usd: number | null;
  old_price_version: string | null;
  new_cost_micro_usd: number;
  new_price_version: string;
  cost_note: string | null;
  repriced_at: number;
}

const DATED = /^(\d{4}-\d{2}-\d{2})(?:\+|$)/;

/**
 * True when `version` names a table older than `current`: an earlier bundled
 * date, or the same date with other overrides (superseded by the ones in
 * force). Versions that are not a table's (an ingested event's own label) are
 * never older: their cost is the sender's, not this table's to correct.
 */
export function isOlderVersion(version: string, current: string): boolean {
  if (version === current) return false;
  const a = DATED.exec(version)?.[1];
  const b = DATED.exec(current)?.[1];
  if (a === undefined || b === undefined) return false;
  return a <= b;
}

/** Why `call` needs a new price under `currentVersion`, or null when it does not. */
export function repriceCause(call: ArchivedCall, currentVersion: string): RepriceCause | null {
  if (call.cost_micro_usd === null) {
    // Usage with no price, or counts the upstream reported badly (still unpriceable, but counted as such).
    const usageKnown = call.usage_source !== 'none' && (call.input_tokens !== null || call.output_tokens !== null);
    return usageKnown || call.usage_note !== null ? 'unknown_price' : null;
  }
  if (call.price_version === null) return null;
  return isOlderVersion(call.price_version, currentVersion) ? 'older_version' : null;
}

function usageOf(call: ArchivedCall): TokenUsage {
  return {
    inputTokens: call.input_tokens,
    outputTokens: call.output_tokens,
    cachedInputTokens: call.cached_input_tokens,
    cacheWriteTokens: call.cache_write_tokens,
    reasoningTokens: call.reasoning_tokens,
    cacheWrite1hTokens: call.cache_write_1h_tokens,
    inputAudioTokens: call.input_audio_tokens,
    inputImageTokens: call.input_image_tokens,
    outputAudioTokens: call.output_audio_tokens,
    outputImageTokens: call.output_image_tokens,
    rejected: call.usage_note,
  };
}

export type RepriceOutcome = { row: RepricedRow } | { unpriced: Exclude<PriceReason, 'priced'> };

/** The new price of `call` (priced as the gateway prices: the served model, else the requested one). */
export function reprice(table: PriceTable, call: ArchivedCall, cause: RepriceCause, repricedAt: number): RepriceOutcome {
  const model = call.response_model ?? call.request_model;
  const priced = priceCall(table, call.provider, model, usageOf(call), call.service_tier);
  if (priced.reason !== 'priced' || priced.costMicroUsd === null || priced.priceVersion === null || model === null) {
    return { unpriced: priced.reason === 'priced' ? 'no_usage' : priced.reason };
  }
  return {
    row: {
      event_id: call.event_id,
      started_at: call.started_at,
      provider: call.provider,
      model,
      service_tier: call.service_tier,
      cause,
      old_cost_micro_usd: call.cost_micro_usd,
      old_price_version: call.price_version,
      new_cost_micro_usd: priced.costMicroUsd,
      new_price_version: priced.priceVersion,
      cost_note: priced.note,
      repriced_at: repricedAt,
    },
  };
}

/** What a run found and did, for the summary. */
export interface RepriceSummary {
  priceVersion: string;
  scanned: number;
  candidates: Record<RepriceCause, number>;
  /** Already corrected to this price version by an earlier run. */
  alreadyRepriced: number;
  repriced: number;
  stillUnpriced: Partial<Record<Exclude<PriceReason, 'priced'>, number>>;
  oldCostMicroUsd: number;
  newCostMicroUsd: number;
}

export function emptySummary(priceVersion: string): RepriceSummary {
  return {
    priceVersion,
    scanned: 0,
    candidates: { unknown_price: 0, older_version: 0 },
    alreadyRepriced: 0,
    repriced: 0,
    stillUnpriced: {},
    oldCostMicroUsd: 0,
    newCostMicroUsd: 0,
  };
}

const usd = (micro: number): string => `$${(micro / 1e6).toFixed(6)}`;

/** The summary as lines for a terminal. */
export function formatSummary(s: RepriceSummary, outcome: string): string {
  const unpriced = Object.entries(s.stillUnpriced)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  return [
    `prices ${s.priceVersion}`,
    `scanned ${s.scanned} archived events`,
    `to reprice: ${s.candidates.unknown_price + s.candidates.older_version} (price unknown: ${s.candidates.unknown_price}, older price version: ${s.candidates.older_version}); already repriced at this version: ${s.alreadyRepriced}`,
    `repriced: ${s.repriced} (their cost was ${usd(s.oldCostMicroUsd)} where known, now ${usd(s.newCostMicroUsd)})`,
    `still without a price: ${Object.values(s.stillUnpriced).reduce((a, b) => a + (b ?? 0), 0)}${unpriced ? ` (${unpriced})` : ''}`,
    outcome,
  ].join('\n');
}
