import { randomUUID } from 'node:crypto';
import type { AggregateRow } from '../../services/aggregator/core/aggregate-query';
import { windowStart } from '../../services/aggregator/core/aggregate-record';
import type { InferenceEvent } from '../../services/shared/event/inference-event';
import { sampleEvent } from './sample-event';

/**
 * Traffic where a mean of per-minute percentiles is badly wrong: fifty quiet
 * minutes of fast calls (40–60 ms) and one minute of slow ones (5.0–5.15 s),
 * as in issue 19 (150 calls of 5 s among 3,000 of 50 ms: the dashboard said
 * p99 275 ms). Built from the clock it is given, so it always lies in the
 * last hour; every call carries the run's own model and app.
 */

const MIN = 60_000;

export interface SkewedTraffic {
  model: string;
  app: string;
  /** Start of the first minute with calls. */
  from: number;
  /** End of the last minute with calls (≤ `now`: every window is over). */
  to: number;
  events: InferenceEvent[];
  latencies: number[];
}

export interface SkewOptions {
  quietMinutes?: number;
  callsPerQuietMinute?: number;
  slowCalls?: number;
  /** Which minute (0-based, among quietMinutes + 1) is the slow one. */
  slowMinute?: number;
}

export function skewedTraffic(now: number, options: SkewOptions = {}): SkewedTraffic {
  const quietMinutes = options.quietMinutes ?? 50;
  const perQuiet = options.callsPerQuietMinute ?? 60;
  const slowCalls = options.slowCalls ?? 150;
  const slowMinute = options.slowMinute ?? 30;
  const minutes = quietMinutes + 1;
  const to = windowStart(now, MIN);
  const from = to - minutes * MIN;
  const model = `skew-${randomUUID().slice(0, 8)}`;
  const app = `skew-app-${randomUUID()}`;
  const events: InferenceEvent[] = [];
  for (let m = 0; m < minutes; m++) {
    const slow = m === slowMinute;
    const count = slow ? slowCalls : perQuiet;
    for (let k = 0; k < count; k++) {
      const endedAt = from + m * MIN + 100 + Math.floor((k * (MIN - 200)) / count);
      const latency = slow ? 5_000 + k : 40 + ((k * 7) % 21);
      events.push(
        sampleEvent({
          event_id: randomUUID(),
          started_at: endedAt - latency,
          first_token_at: endedAt - Math.floor(latency / 2),
          ended_at: endedAt,
          latency_ms: latency,
          ttft_ms: Math.floor(latency / 2),
          request_model: model,
          response_model: `${model}-2026-01-01`,
          app,
          request_body: null,
          response_body: null,
          response_text: null,
          body_captured: false,
        }),
      );
    }
  }
  return { model, app, from, to, events, latencies: events.map((e) => e.latency_ms) };
}

/**
 * The exact q-quantile of the raw values, by the rank DDSketch reads
 * (`q × (n − 1)`, rounded down): the sketch answers within its relative
 * accuracy of this value.
 */
export function exactQuantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

/** What the dashboard used to show: the call-weighted mean of the windows' percentiles. */
export function meanOfWindowPercentiles(rows: readonly AggregateRow[], p: 'p50' | 'p90' | 'p95' | 'p99'): number {
  let calls = 0;
  let total = 0;
  for (const r of rows) {
    if (!r.latencyMs || r.calls === 0) continue;
    calls += r.calls;
    total += r.latencyMs[p] * r.calls;
  }
  return total / calls;
}

export const relativeError = (got: number, exact: number): number => Math.abs(got - exact) / exact;
