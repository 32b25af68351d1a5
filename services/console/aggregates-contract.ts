import type { AggregateQuery, AggregateRow } from '../aggregator/core/aggregate-query';
import type { Dimension, WindowName } from '../aggregator/core/aggregate-record';

/**
 * What the dashboard and the alert rules read from the aggregates (the shape
 * of `GET /api/aggregates`; the aggregator's query core defines it).
 */

export type { AggregateRow };
export type AggregatesQuery = AggregateQuery;
export type AggregateWindow = WindowName;
export type AggregateGroupBy = Dimension;

/** Where the console reads aggregates from (its view of llm.aggregates.v1). */
export type AggregatesSource = (query: AggregatesQuery) => Promise<AggregateRow[]>;

/** The answer of `GET /api/aggregates`. */
export interface AggregatesAnswer {
  window: AggregateWindow;
  groupBy: AggregateGroupBy;
  from: string;
  to: string;
  /** true: one row per group over the whole range; false: one row per window and group. */
  rollup: boolean;
  /** Every percentile in the rows is within this relative error of the exact percentile of the calls (0.01 = 1%). */
  relativeAccuracy: number;
  rows: AggregateRow[];
}
