import { aggregateKey, WINDOWS, type AggregateRecord } from '../aggregator/core/aggregate-record';
import { mergePartials, rollupPartials, type AggregateQuery, type AggregateRow } from '../aggregator/core/aggregate-query';

/** How long the console keeps windows in memory, by window size. */
export const VIEW_RETENTION_MS: Record<number, number> = {
  [WINDOWS['1m']]: 48 * 3_600_000, // 2 days of 1-minute windows
  [WINDOWS['1h']]: 35 * 24 * 3_600_000, // 35 days of 1-hour windows (the dashboard's 30-day range)
};

/**
 * The console's materialized view of llm.aggregates.v1: the newest partial
 * per key, read from the compacted topic from its start, merged at query time.
 */
export class AggregatesView {
  private readonly partials = new Map<string, AggregateRecord>();
  private listeners = new Set<(records: AggregateRecord[]) => void>();

  put(records: AggregateRecord[], now: number): void {
    const kept: AggregateRecord[] = [];
    for (const r of records) {
      if (r.window_start + r.window_size_ms < now - (VIEW_RETENTION_MS[r.window_size_ms] ?? 0)) continue;
      this.partials.set(aggregateKey(r), r);
      kept.push(r);
    }
    if (kept.length > 0) for (const l of this.listeners) l(kept);
  }

  /** Called with each batch of new partials (live dashboard, alerts). Returns an unsubscribe function. */
  onUpdate(listener: (records: AggregateRecord[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  prune(now: number): void {
    for (const [k, r] of this.partials) {
      if (r.window_start + r.window_size_ms < now - (VIEW_RETENTION_MS[r.window_size_ms] ?? 0)) this.partials.delete(k);
    }
  }

  get size(): number {
    return this.partials.size;
  }

  query(q: AggregateQuery): AggregateRow[] {
    const size = WINDOWS[q.window];
    const matching: AggregateRecord[] = [];
    for (const r of this.partials.values()) {
      if (r.window_size_ms === size && r.dimension === q.groupBy && r.window_start < q.to && r.window_start + size > q.from) matching.push(r);
    }
    return q.rollup ? rollupPartials(matching, q) : mergePartials(matching);
  }
}
