import { parseTimestamp, TIMESTAMP_FORMATS } from '../../shared/time';
import { DIMENSIONS, WINDOWS, windowStart, type AggregateRecord, type Dimension, type WindowName } from './aggregate-record';
import { percentiles, WindowAggregate, type Percentiles } from './window-aggregate';

/**
 * Reading aggregates: parse `GET /api/aggregates` parameters and merge the
 * per-partition partials of each window and group into one row, or, for a
 * rollup, every partial of a group over the whole range into one row. Every
 * merge adds the counters and merges the DDSketches: a percentile over
 * several windows or partitions is the percentile of all their calls (within
 * the sketches' relative accuracy), never a mean of percentiles. Pure.
 */

export interface AggregateQuery {
  window: WindowName;
  groupBy: Dimension;
  from: number;
  to: number;
  /** One row per group over the whole range (the windows overlapping it) instead of one per window and group. */
  rollup?: boolean;
}

export interface AggregateQueryError {
  parameter: string;
  message: string;
}

export interface AggregateRow {
  /** The window's start, or for a rollup the start of the first window overlapping the range. */
  windowStart: string;
  /** The window's end, or for a rollup the end of the last window overlapping the range. */
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

const KNOWN = new Set(['window', 'groupBy', 'from', 'to', 'rollup']);
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
  const rollup = params.get('rollup') ?? 'false';
  if (rollup !== 'true' && rollup !== 'false') return { parameter: 'rollup', message: 'rollup must be true or false' };
  const w = window as WindowName;
  const to = times.to ?? now;
  const from = times.from ?? to - DEFAULT_RANGE_MS[w];
  if (from >= to) return { parameter: 'from', message: 'from must be before to' };
  return { window: w, groupBy: groupBy as Dimension, from, to, rollup: rollup === 'true' };
}

/** The windows of a query's size that overlap its range: [start of the first, end of the last). */
export function coveredRange(q: Pick<AggregateQuery, 'window' | 'from' | 'to'>): { start: number; end: number } {
  const size = WINDOWS[q.window];
  return { start: windowStart(q.from, size), end: windowStart(q.to - 1, size) + size };
}

/**
 * Merges every partial of each group (all windows of the range, all source
 * partitions) into one row per group: counters summed, sketches merged, so
 * the percentiles are those of every call in the range. Rows cover the same
 * span (`coveredRange`), sorted by group.
 */
export function rollupPartials(records: Iterable<AggregateRecord>, q: Pick<AggregateQuery, 'window' | 'from' | 'to'>): AggregateRow[] {
  const { start, end } = coveredRange(q);
  const merged = new Map<string, { agg: WindowAggregate; final: boolean }>();
  for (const r of records) {
    let m = merged.get(r.group);
    if (!m) merged.set(r.group, (m = { agg: new WindowAggregate(start, end - start, r.dimension, r.group, -1), final: true }));
    m.agg.mergeRecord(r);
    m.final &&= r.final;
  }
  const rows = [...merged.values()].map(({ agg, final }) => toRow(agg, final));
  rows.sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
  return rows;
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
