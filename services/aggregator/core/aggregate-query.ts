import { parseTimestamp, TIMESTAMP_FORMATS } from '../../shared/time';
import { DIMENSIONS, WINDOWS, type AggregateRecord, type Dimension, type WindowName } from './aggregate-record';
import { percentiles, WindowAggregate, type Percentiles } from './window-aggregate';

/**
 * Reading aggregates: parse `GET /api/aggregates` parameters and merge the
 * per-partition partials of each window and group into one row. Pure.
 */

export interface AggregateQuery {
  window: WindowName;
  groupBy: Dimension;
  from: number;
  to: number;
}

export interface AggregateQueryError {
  parameter: string;
  message: string;
}

export interface AggregateRow {
  windowStart: string;
  windowEnd: string;
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

const KNOWN = new Set(['window', 'groupBy', 'from', 'to']);
/** Default time range: the last hour of 1-minute windows, the last day of 1-hour windows. */
const DEFAULT_RANGE_MS: Record<WindowName, number> = { '1m': 3_600_000, '1h': 24 * 3_600_000 };

export function parseAggregateQuery(params: URLSearchParams, now: number): AggregateQuery | AggregateQueryError {
  for (const key of params.keys()) {
    if (!KNOWN.has(key)) return { parameter: key, message: `unknown parameter "${key}"; known: ${[...KNOWN].join(', ')}` };
  }
  const window = params.get('window') ?? '1m';
  if (!(window in WINDOWS)) return { parameter: 'window', message: `window must be one of ${Object.keys(WINDOWS).join(', ')}` };
  const groupBy = params.get('groupBy') ?? 'overall';
  if (!(DIMENSIONS as readonly string[]).includes(groupBy)) {
    return { parameter: 'groupBy', message: `groupBy must be one of ${DIMENSIONS.join(', ')}` };
  }
  const times: Record<'from' | 'to', number | null> = { from: null, to: null };
  for (const name of ['from', 'to'] as const) {
    const raw = params.get(name);
    if (raw === null) continue;
    const t = parseTimestamp(raw);
    if (t === null) return { parameter: name, message: `${name} must be ${TIMESTAMP_FORMATS}` };
    times[name] = t;
  }
  const w = window as WindowName;
  const to = times.to ?? now;
  const from = times.from ?? to - DEFAULT_RANGE_MS[w];
  if (from >= to) return { parameter: 'from', message: 'from must be before to' };
  return { window: w, groupBy: groupBy as Dimension, from, to };
}

/** Merges the partials (one per source partition) of each window and group into rows. */
export function mergePartials(records: Iterable<AggregateRecord>): AggregateRow[] {
  const merged = new Map<string, { agg: WindowAggregate; final: boolean }>();
  for (const r of records) {
    const key = `${r.window_start}|${r.group}`;
    let m = merged.get(key);
    if (!m) merged.set(key, (m = { agg: new WindowAggregate(r.window_start, r.window_size_ms, r.dimension, r.group, -1), final: true }));
    m.agg.mergeRecord(r);
    m.final &&= r.final;
  }
  const rows = [...merged.values()].map(({ agg, final }) => toRow(agg, final));
  rows.sort((a, b) => (a.windowStart < b.windowStart ? -1 : a.windowStart > b.windowStart ? 1 : a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
  return rows;
}

function toRow(a: WindowAggregate, final: boolean): AggregateRow {
  const counted = a.calls;
  return {
    windowStart: new Date(a.windowStart).toISOString(),
    windowEnd: new Date(a.windowStart + a.windowSizeMs).toISOString(),
    group: a.group,
    final,
    calls: a.calls,
    errors: a.errors,
    errorsByClass: a.errorsByClass,
    errorRate: counted > 0 ? a.errors / counted : 0,
    cancelled: a.cancelled,
    late: a.late,
    inputTokens: a.inputTokens,
    outputTokens: a.outputTokens,
    cachedTokens: a.cachedTokens,
    reasoningTokens: a.reasoningTokens,
    costMicroUsd: a.costMicroUsd,
    latencyMs: counted > 0 ? percentiles(a.latency) : null,
    ttftMs: percentiles(a.ttft),
    outputTokensPerSecond: a.generationMs > 0 ? Math.round((a.generationOutputTokens / (a.generationMs / 1000)) * 100) / 100 : null,
  };
}
