import type { InferenceEvent } from '../shared/event/inference-event';
import type { Logger } from '../shared/observability/logger';
import { buildInferenceEvent, type CallObservation, type EventDeps } from './core/event-builder';
import type { LiveCoalescer, LiveEntry } from './core/live-coalescer';
import type { GatewayMetrics } from './gateway-metrics';

/** Where finished calls' events go. `record` must not block; `recordDurable` resolves once stored. */
export interface EventSink {
  record(event: InferenceEvent): void;
  recordDurable(event: InferenceEvent): Promise<void>;
}

export interface EndedCallsDeps {
  eventDeps: EventDeps;
  metrics: Pick<GatewayMetrics, 'observeCall' | 'eventsDropped'>;
  sink: EventSink;
  live: LiveCoalescer | null;
  logger: Logger;
}

interface Pending {
  observe: () => CallObservation;
  live: LiveEntry | null;
  durable: { resolve(): void; reject(err: unknown): void } | null;
}

/**
 * Calls whose answers have ended, recorded together at the end of the
 * event-loop turn they ended in (or on `flush()`): the answer parsed, the event
 * built and counted, encoded and handed to the log.
 *
 * Doing that work for the calls of a turn back to back, rather than for each
 * call between network callbacks, keeps its code and data in the CPU's caches:
 * at saturation on two cores it raised the gateway's throughput by ~20% (see
 * docs/benchmarks.md). The client's answer has already ended when this runs,
 * except in strict audit mode, where the answer's last bytes wait for
 * `recordDurable` anyway.
 */
export class EndedCalls {
  private pending: Pending[] = [];
  private scheduled = false;
  private readonly run = (): void => this.flush();

  constructor(private readonly deps: EndedCallsDeps) {}

  /** Records the call at the end of this turn; `observe` gathers its facts then. */
  record(observe: () => CallObservation, live: LiveEntry | null): void {
    this.add({ observe, live, durable: null });
  }

  /** Like `record`, resolving once the event is durable in the log. */
  recordDurable(observe: () => CallObservation, live: LiveEntry | null): Promise<void> {
    return new Promise((resolve, reject) => this.add({ observe, live, durable: { resolve, reject } }));
  }

  get waiting(): number {
    return this.pending.length;
  }

  /** Records every waiting call now (also used on shutdown, before the log is flushed). */
  flush(): void {
    this.scheduled = false;
    const calls = this.pending;
    if (calls.length === 0) return;
    this.pending = [];
    for (const call of calls) this.recordOne(call);
  }

  private add(call: Pending): void {
    this.pending.push(call);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }

  private recordOne(call: Pending): void {
    const { deps } = this;
    let event: InferenceEvent;
    try {
      event = buildInferenceEvent(call.observe(), deps.eventDeps);
      deps.metrics.observeCall(event);
    } catch (err) {
      // A defect in parsing or building must cost this call's event only, never the others'.
      deps.metrics.eventsDropped.inc();
      deps.logger.error({ err }, 'call could not be recorded; event dropped');
      call.durable?.reject(err);
      return;
    } finally {
      deps.live?.end(call.live);
    }
    if (call.durable) deps.sink.recordDurable(event).then(call.durable.resolve, call.durable.reject);
    else deps.sink.record(event);
  }
}
