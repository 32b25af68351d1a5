import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { InferenceEvent } from '../shared/event/inference-event';
import { rejectionKinds } from './core/wire';

export interface GatewayMetrics {
  inFlight: Gauge;
  refused: Counter<'reason'>;
  unknownModel: Counter<'provider'>;
  /** Calls with usage but no cost for another reason than an unknown model. */
  unpriced: Counter<'provider' | 'reason'>;
  eventsDropped: Counter;
  /** Events shrunk to fit the log's record limit, by what was left out (`none`: dropped). */
  eventsShrunk: Counter<'kept'>;
  handoffDepth: Gauge;
  observeCall(event: InferenceEvent): void;
}

/**
 * Counts kept on a plain map and added to a prom-client counter when it is
 * collected (a scrape). prom-client hashes the labels on every `inc`, which
 * cost the gateway's event loop ~1 µs per call at saturation; a scrape sees
 * the same totals.
 */
class PendingCounts<L extends string> {
  private readonly pending = new Map<string, { labels: Record<L, string>; n: number }>();

  add(key: string, labels: () => Record<L, string>, n: number): void {
    const entry = this.pending.get(key);
    if (entry) entry.n += n;
    else this.pending.set(key, { labels: labels(), n });
  }

  flushInto(counter: Counter<L>): void {
    for (const entry of this.pending.values()) {
      if (entry.n === 0) continue;
      counter.inc(entry.labels, entry.n);
      entry.n = 0;
    }
  }
}

export function createGatewayMetrics(registry: Registry, handoffDepth: () => number): GatewayMetrics {
  const pendingCalls = new PendingCounts<'upstream' | 'status' | 'error_class'>();
  const pendingTokens = new PendingCounts<'upstream' | 'direction'>();
  const rejectedUsage = new Counter({
    name: 'llm_logger_gateway_usage_rejected_total',
    help: 'Calls whose upstream reported usage counts that are not token counts, by upstream and kind (negative, fractional, too_large, not_a_number): recorded as null with usage.note.',
    labelNames: ['upstream', 'kind'] as const,
    registers: [registry],
  });
  new Counter({
    name: 'llm_logger_gateway_calls_total',
    help: 'Calls forwarded, by upstream, status class and error class.',
    labelNames: ['upstream', 'status', 'error_class'] as const,
    registers: [registry],
    collect() {
      pendingCalls.flushInto(this);
    },
  });
  const latency = new Histogram({
    name: 'llm_logger_gateway_call_duration_seconds',
    help: 'Call duration as seen by the gateway, by upstream.',
    labelNames: ['upstream'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [registry],
  });
  new Counter({
    name: 'llm_logger_gateway_tokens_total',
    help: 'Tokens by upstream and direction (input/output).',
    labelNames: ['upstream', 'direction'] as const,
    registers: [registry],
    collect() {
      pendingTokens.flushInto(this);
    },
  });
  return {
    inFlight: new Gauge({ name: 'llm_logger_gateway_in_flight', help: 'Calls in progress.', registers: [registry] }),
    refused: new Counter({
      name: 'llm_logger_gateway_refused_total',
      help: 'Requests the gateway refused itself, by reason.',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    unknownModel: new Counter({
      name: 'llm_logger_gateway_unknown_model_total',
      help: 'Calls whose model has no price: cost recorded as null.',
      labelNames: ['provider'] as const,
      registers: [registry],
    }),
    unpriced: new Counter({
      name: 'llm_logger_gateway_unpriced_total',
      help: 'Calls with usage but a null cost for another reason than an unknown model (unknown_service_tier, unpriced_tokens, invalid_usage); the event says why in cost_note.',
      labelNames: ['provider', 'reason'] as const,
      registers: [registry],
    }),
    eventsDropped: new Counter({
      name: 'llm_logger_gateway_events_dropped_total',
      help: 'Events that could not be handed to the log (queue full or shutdown timeout).',
      registers: [registry],
    }),
    eventsShrunk: new Counter({
      name: 'llm_logger_gateway_events_shrunk_total',
      help: "Events over the log's record limit (LLM_LOGGER_KAFKA_MAX_RECORD_BYTES), by what was kept: without_bodies (flagged truncated), without_text, or none (dropped).",
      labelNames: ['kept'] as const,
      registers: [registry],
    }),
    handoffDepth: new Gauge({
      name: 'llm_logger_gateway_handoff_queue_depth',
      help: 'Events waiting to be written to the log.',
      registers: [registry],
      collect() {
        this.set(handoffDepth());
      },
    }),
    observeCall(event) {
      const { upstream, http_status: code, usage } = event;
      const status = code === null ? 'none' : `${Math.floor(code / 100)}xx`;
      const errorClass = event.error_class ?? 'none';
      pendingCalls.add(`${upstream}\n${status}\n${errorClass}`, () => ({ upstream, status, error_class: errorClass }), 1);
      latency.observe({ upstream }, event.latency_ms / 1000);
      // Only positive counts: a counter refuses a negative increment, and one would fail every scrape after it.
      if (usage.input_tokens !== null && usage.input_tokens > 0) {
        pendingTokens.add(`${upstream}\ninput`, () => ({ upstream, direction: 'input' }), usage.input_tokens);
      }
      if (usage.output_tokens !== null && usage.output_tokens > 0) {
        pendingTokens.add(`${upstream}\noutput`, () => ({ upstream, direction: 'output' }), usage.output_tokens);
      }
      if (usage.note) for (const kind of rejectionKinds(usage.note)) rejectedUsage.inc({ upstream, kind });
    },
  };
}
