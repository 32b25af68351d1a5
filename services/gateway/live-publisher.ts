import { Counter, type Registry } from 'prom-client';
import { TOPICS } from '../../topology/topics';
import { encodeLiveRecord } from '../shared/event/live-record-codec';
import type { EventLog } from '../shared/log/event-log';
import { SpoolingLog } from '../shared/log/spool/spooling-log';
import type { Logger } from '../shared/observability/logger';
import { LiveCoalescer } from './core/live-coalescer';

export interface LivePublisher {
  coalescer: LiveCoalescer;
  stop(): void;
}

/**
 * Publishes the live view's records on a timer, one append per tick. Live
 * records are best effort: while an append is still pending the tick is
 * skipped (the next one carries the news), and while Kafka is down they are
 * dropped rather than spooled (the inference event is what must not be lost).
 */
export function startLivePublisher(log: EventLog, intervalMs: number, registry: Registry, logger: Logger): LivePublisher {
  const coalescer = new LiveCoalescer({ maxCalls: 10_000, maxRecordsPerTick: 2_000, maxAgeMs: 60 * 60 * 1000, minAgeMs: intervalMs });
  const records = new Counter({
    name: 'llm_logger_gateway_live_records_total',
    help: 'Live-view records (call started / answer progress), published or dropped.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  let pending = false;
  const timer = setInterval(() => {
    if (pending) return;
    const batch = coalescer.tick(Date.now());
    if (batch.length === 0) return;
    if (log instanceof SpoolingLog && log.brokerState !== 'up') {
      records.inc({ outcome: 'dropped' }, batch.length);
      return;
    }
    pending = true;
    log
      .append(
        TOPICS.inferenceLive,
        batch.map((r) => ({ key: r.event_id, value: encodeLiveRecord(r) })),
      )
      .then(
        () => records.inc({ outcome: 'published' }, batch.length),
        (err: unknown) => {
          records.inc({ outcome: 'dropped' }, batch.length);
          logger.debug({ err }, 'live records not published');
        },
      )
      .finally(() => (pending = false));
  }, intervalMs);
  timer.unref();
  return { coalescer, stop: () => clearInterval(timer) };
}
