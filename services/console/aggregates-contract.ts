/**
 * The shape of `GET /api/aggregates` (see README, "Console HTTP API"), as the
 * dashboard and the alert rules read it.
 */

export type AggregateWindow = '1m' | '1h';
export type AggregateGroupBy = 'overall' | 'model' | 'provider' | 'upstream' | 'user' | 'app' | 'model_upstream';

export interface Percentiles {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
}

export interface AggregateRow {
  windowStart: string;
  windowEnd: string;
  /** "" for groupBy=overall. */
  group: string;
  final: boolean;
  calls: number;
  errors: number;
  errorsByClass: Record<string, number>;
  errorRate: number;
  cancelled: number;
  late: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  costMicroUsd: number;
  latencyMs: Percentiles | null;
  ttftMs: Percentiles | null;
  outputTokensPerSecond: number | null;
}

export interface AggregatesQuery {
  window: AggregateWindow;
  groupBy: AggregateGroupBy;
  /** Epoch ms. */
  from: number;
  /** Epoch ms. */
  to: number;
}

/** Where the console reads aggregates from (the aggregates API's store). */
export type AggregatesSource = (query: AggregatesQuery) => Promise<AggregateRow[]>;
