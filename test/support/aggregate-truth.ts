import { randomUUID } from 'node:crypto';
import type { InferenceEvent } from '../../services/shared/event/inference-event';
import { windowStart, type AggregateRecord } from '../../services/aggregator/core/aggregate-record';
import { mergePartials, type AggregateRow } from '../../services/aggregator/core/aggregate-query';
import { sampleEvent } from './sample-event';

/**
 * Generated traffic with a known answer, for the aggregator's chaos tests:
 * every event carries the run's own app name, so the `app` dimension of the
 * run's group holds exactly these events whatever else is on the topic.
 */
export interface Traffic {
  app: string;
  events: InferenceEvent[];
}

export function generateTraffic(count: number, startAt: number, spanMs: number): Traffic {
  const app = `chaos-${randomUUID()}`;
  const events: InferenceEvent[] = [];
  for (let i = 0; i < count; i++) {
    const endedAt = startAt + Math.floor((i * spanMs) / count);
    const latency = 20 + ((i * 7919) % 9000);
    const error = i % 17 === 0 ? 'server_error' : i % 29 === 0 ? 'rate_limited' : null;
    events.push(
      sampleEvent({
        event_id: randomUUID(),
        started_at: endedAt - latency,
        first_token_at: endedAt - Math.floor(latency / 2),
        ended_at: endedAt,
        latency_ms: latency,
        ttft_ms: Math.floor(latency / 2),
        app,
        user: `u${i % 7}`,
        http_status: error === 'server_error' ? 500 : error === 'rate_limited' ? 429 : 200,
        error_class: error,
        usage: { input_tokens: i % 100, output_tokens: i % 50, cached_input_tokens: i % 3, cache_write_tokens: null, reasoning_tokens: i % 5, source: 'provider' },
        cost_micro_usd: i % 11,
        request_body: null,
        response_body: null,
        response_text: null,
        body_captured: false,
      }),
    );
  }
  return { app, events };
}

export interface Truth {
  calls: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  costMicroUsd: number;
  latencies: number[];
}

/** The exact answer per window start, computed from the events directly. */
export function groundTruth(events: InferenceEvent[], sizeMs: number): Map<number, Truth> {
  const out = new Map<number, Truth>();
  for (const e of events) {
    const start = windowStart(e.ended_at, sizeMs);
    let t = out.get(start);
    if (!t) out.set(start, (t = { calls: 0, errors: 0, inputTokens: 0, outputTokens: 0, cachedTokens: 0, reasoningTokens: 0, costMicroUsd: 0, latencies: [] }));
    t.calls++;
    if (e.error_class) t.errors++;
    t.inputTokens += e.usage.input_tokens ?? 0;
    t.outputTokens += e.usage.output_tokens ?? 0;
    t.cachedTokens += e.usage.cached_input_tokens ?? 0;
    t.reasoningTokens += e.usage.reasoning_tokens ?? 0;
    t.costMicroUsd += e.cost_micro_usd ?? 0;
    t.latencies.push(e.latency_ms);
  }
  return out;
}

/** The run's rows (dimension app, its group) of one window size, merged from the newest partials. */
export function rowsFor(partials: Iterable<AggregateRecord>, app: string, sizeMs: number): AggregateRow[] {
  return mergePartials([...partials].filter((r) => r.dimension === 'app' && r.group === app && r.window_size_ms === sizeMs));
}

/** Differences between rows and the truth; empty when they agree (percentiles within 1% plus one rank). */
export function compare(rows: AggregateRow[], truth: Map<number, Truth>): string[] {
  const problems: string[] = [];
  const byStart = new Map(rows.map((r) => [Date.parse(r.windowStart), r]));
  for (const [start, t] of truth) {
    const r = byStart.get(start);
    if (!r) {
      problems.push(`window ${new Date(start).toISOString()}: missing`);
      continue;
    }
    const exact: [string, number, number][] = [
      ['calls', r.calls, t.calls],
      ['errors', r.errors, t.errors],
      ['inputTokens', r.inputTokens, t.inputTokens],
      ['outputTokens', r.outputTokens, t.outputTokens],
      ['cachedTokens', r.cachedTokens, t.cachedTokens],
      ['reasoningTokens', r.reasoningTokens, t.reasoningTokens],
      ['costMicroUsd', r.costMicroUsd, t.costMicroUsd],
    ];
    for (const [name, got, want] of exact) if (got !== want) problems.push(`window ${new Date(start).toISOString()}: ${name} ${got} != ${want}`);
    const sorted = [...t.latencies].sort((a, b) => a - b);
    for (const [q, name] of [[0.5, 'p50'], [0.9, 'p90'], [0.95, 'p95'], [0.99, 'p99']] as const) {
      const got = r.latencyMs?.[name] ?? NaN;
      const rank = q * (sorted.length - 1);
      const lo = sorted[Math.max(0, Math.floor(rank) - 1)]! * 0.99;
      const hi = sorted[Math.min(sorted.length - 1, Math.ceil(rank) + 1)]! * 1.01;
      if (!(got >= lo && got <= hi)) problems.push(`window ${new Date(start).toISOString()}: latency ${name} ${got} outside [${lo}, ${hi}]`);
    }
  }
  for (const r of rows) if (!truth.has(Date.parse(r.windowStart))) problems.push(`window ${r.windowStart}: not in the input`);
  return problems;
}
