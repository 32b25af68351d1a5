import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { InferenceEvent } from '../shared/event/inference-event';

export interface GatewayMetrics {
  inFlight: Gauge;
  refused: Counter<'reason'>;
  unknownModel: Counter<'provider'>;
  eventsDropped: Counter;
  handoffDepth: Gauge;
  observeCall(event: InferenceEvent): void;
}

export function createGatewayMetrics(registry: Registry, handoffDepth: () => number): GatewayMetrics {
  const calls = new Counter({
    name: 'llm_logger_gateway_calls_total',
    help: 'Calls forwarded, by upstream, status class and error class.',
    labelNames: ['upstream', 'status', 'error_class'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'llm_logger_gateway_call_duration_seconds',
    help: 'Call duration as seen by the gateway, by upstream.',
    labelNames: ['upstream'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [registry],
  });
  const tokens = new Counter({
    name: 'llm_logger_gateway_tokens_total',
    help: 'Tokens by upstream and direction (input/output).',
    labelNames: ['upstream', 'direction'] as const,
    registers: [registry],
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
    eventsDropped: new Counter({
      name: 'llm_logger_gateway_events_dropped_total',
      help: 'Events that could not be handed to the log (queue full or shutdown timeout).',
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
      const status = event.http_status === null ? 'none' : `${Math.floor(event.http_status / 100)}xx`;
      calls.inc({ upstream: event.upstream, status, error_class: event.error_class ?? 'none' });
      latency.observe({ upstream: event.upstream }, event.latency_ms / 1000);
      if (event.usage.input_tokens) tokens.inc({ upstream: event.upstream, direction: 'input' }, event.usage.input_tokens);
      if (event.usage.output_tokens) tokens.inc({ upstream: event.upstream, direction: 'output' }, event.usage.output_tokens);
    },
  };
}
