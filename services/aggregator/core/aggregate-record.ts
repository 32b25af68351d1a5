/**
 * One aggregate record as it travels on `llm.aggregates.v1` (field names
 * follow schemas/aggregate.v1.avsc, the source of truth).
 */
export interface AggregateRecord {
  window_start: number;
  window_size_ms: number;
  dimension: Dimension;
  group: string;
  source_partition: number;
  final: boolean;
  updated_at: number;
  last_event_at: number;
  calls: number;
  errors: number;
  errors_by_class: Record<string, number>;
  cancelled: number;
  late: number;
  input_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  estimated_usage_calls: number;
  cost_micro_usd: number;
  unpriced_calls: number;
  generation_ms: number;
  generation_output_tokens: number;
  latency_ms_sum: number;
  relative_accuracy: number;
  latency_sketch: Buffer;
  ttft_sketch: Buffer | null;
}

export const AGGREGATE_SCHEMA_FILE = 'aggregate.v1.avsc';
export const AGGREGATE_SUBJECT = 'llm.aggregates.v1-value';

export const WINDOWS = { '1m': 60_000, '1h': 3_600_000 } as const;
export type WindowName = keyof typeof WINDOWS;

/**
 * `model` is the model the call asked for (see modelOf), `served_model` the
 * snapshot that answered it. New dimensions go at the end: records carry the
 * name as a string (schemas/aggregate.v1.avsc), so adding one changes no schema.
 */
export const DIMENSIONS = ['overall', 'model', 'provider', 'upstream', 'user', 'app', 'model_upstream', 'served_model'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

/** Group value of an event that has no value for the dimension (e.g. no x-llm-user). */
export const NONE_GROUP = '__none__';
/** Group that collects the keys past the cardinality limit of a window and dimension. */
export const OTHER_GROUP = '__other__';

/** Sketch accuracy: a reported percentile is within 1% of the true value. */
export const RELATIVE_ACCURACY = 0.01;

export function windowStart(eventTime: number, sizeMs: number): number {
  return eventTime - (((eventTime % sizeMs) + sizeMs) % sizeMs);
}

/** The compaction key of a partial: one per window, dimension, group and source partition. */
export function aggregateKey(r: Pick<AggregateRecord, 'window_size_ms' | 'window_start' | 'dimension' | 'group' | 'source_partition'>): string {
  return `${r.window_size_ms}|${r.window_start}|${r.dimension}|${r.group}|${r.source_partition}`;
}
