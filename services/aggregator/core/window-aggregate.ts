import { DDSketch } from '@datadog/sketches-js';
import type { AggregatedEvent } from './aggregated-event';
import { RELATIVE_ACCURACY, type AggregateRecord, type Dimension } from './aggregate-record';

/**
 * The running aggregate of one window, dimension and group: exact counters
 * plus DDSketches for the percentiles. Pure: no clock, no I/O.
 */
export class WindowAggregate {
  calls = 0;
  errors = 0;
  errorsByClass: Record<string, number> = {};
  cancelled = 0;
  late = 0;
  inputTokens = 0;
  outputTokens = 0;
  cachedTokens = 0;
  reasoningTokens = 0;
  estimatedUsageCalls = 0;
  costMicroUsd = 0;
  unpricedCalls = 0;
  generationMs = 0;
  generationOutputTokens = 0;
  latencyMsSum = 0;
  lastEventAt = 0;
  latency = new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
  ttft: DDSketch | null = null;

  constructor(
    readonly windowStart: number,
    readonly windowSizeMs: number,
    readonly dimension: Dimension,
    readonly group: string,
    readonly sourcePartition: number,
  ) {}

  add(e: AggregatedEvent): void {
    this.calls++;
    if (e.client_cancelled || e.error_class === 'client_cancelled') this.cancelled++;
    else if (e.error_class) {
      this.errors++;
      this.errorsByClass[e.error_class] = (this.errorsByClass[e.error_class] ?? 0) + 1;
    }
    const u = e.usage;
    this.inputTokens += u.input_tokens ?? 0;
    this.outputTokens += u.output_tokens ?? 0;
    this.cachedTokens += u.cached_input_tokens ?? 0;
    this.reasoningTokens += u.reasoning_tokens ?? 0;
    if (u.source === 'estimated') this.estimatedUsageCalls++;
    if (e.cost_micro_usd === null) this.unpricedCalls++;
    else this.costMicroUsd += e.cost_micro_usd;
    const latency = Math.max(0, e.latency_ms);
    this.latency.accept(latency);
    this.latencyMsSum += latency;
    if (e.ttft_ms !== null) {
      this.ttft ??= new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
      this.ttft.accept(Math.max(0, e.ttft_ms));
    }
    if (e.first_token_at !== null && (u.output_tokens ?? 0) > 0 && e.ended_at > e.first_token_at) {
      this.generationMs += e.ended_at - e.first_token_at;
      this.generationOutputTokens += u.output_tokens ?? 0;
    }
    if (e.ended_at > this.lastEventAt) this.lastEventAt = e.ended_at;
  }

  toRecord(final: boolean, updatedAt: number): AggregateRecord {
    return {
      window_start: this.windowStart,
      window_size_ms: this.windowSizeMs,
      dimension: this.dimension,
      group: this.group,
      source_partition: this.sourcePartition,
      final,
      updated_at: updatedAt,
      last_event_at: this.lastEventAt,
      calls: this.calls,
      errors: this.errors,
      errors_by_class: { ...this.errorsByClass },
      cancelled: this.cancelled,
      late: this.late,
      input_tokens: this.inputTokens,
      output_tokens: this.outputTokens,
      cached_tokens: this.cachedTokens,
      reasoning_tokens: this.reasoningTokens,
      estimated_usage_calls: this.estimatedUsageCalls,
      cost_micro_usd: this.costMicroUsd,
      unpriced_calls: this.unpricedCalls,
      generation_ms: this.generationMs,
      generation_output_tokens: this.generationOutputTokens,
      latency_ms_sum: this.latencyMsSum,
      relative_accuracy: RELATIVE_ACCURACY,
      latency_sketch: Buffer.from(this.latency.toProto()),
      ttft_sketch: this.ttft ? Buffer.from(this.ttft.toProto()) : null,
    };
  }

  /** Rebuilds the aggregate from a record (state restore, or merging partials). */
  static fromRecord(r: AggregateRecord): WindowAggregate {
    const a = new WindowAggregate(r.window_start, r.window_size_ms, r.dimension, r.group, r.source_partition);
    a.mergeRecord(r);
    return a;
  }

  /** Adds a record's counts and sketches into this aggregate (partials of other partitions or windows). */
  mergeRecord(r: AggregateRecord): void {
    this.calls += r.calls;
    this.errors += r.errors;
    for (const [k, v] of Object.entries(r.errors_by_class)) this.errorsByClass[k] = (this.errorsByClass[k] ?? 0) + v;
    this.cancelled += r.cancelled;
    this.late += r.late;
    this.inputTokens += r.input_tokens;
    this.outputTokens += r.output_tokens;
    this.cachedTokens += r.cached_tokens;
    this.reasoningTokens += r.reasoning_tokens;
    this.estimatedUsageCalls += r.estimated_usage_calls;
    this.costMicroUsd += r.cost_micro_usd;
    this.unpricedCalls += r.unpriced_calls;
    this.generationMs += r.generation_ms;
    this.generationOutputTokens += r.generation_output_tokens;
    this.latencyMsSum += r.latency_ms_sum;
    if (r.last_event_at > this.lastEventAt) this.lastEventAt = r.last_event_at;
    if (r.calls > 0) mergeSketch(this.latency, r.latency_sketch);
    if (r.ttft_sketch) {
      this.ttft ??= new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
      mergeSketch(this.ttft, r.ttft_sketch);
    }
  }
}

function mergeSketch(into: DDSketch, proto: Buffer): void {
  // fromProto drops count/min/max/sum summaries; quantiles come from the bins, which it keeps.
  into.merge(DDSketch.fromProto(new Uint8Array(proto.buffer, proto.byteOffset, proto.byteLength)));
}

export interface Percentiles {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
}

export function percentiles(sketch: DDSketch | null): Percentiles | null {
  if (!sketch || sketch.count === 0) return null;
  const q = (x: number): number => round3(sketch.getValueAtQuantile(x));
  return { p50: q(0.5), p90: q(0.9), p95: q(0.95), p99: q(0.99) };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
