import { Counter, Gauge, type Registry } from 'prom-client';
import type { SpoolingLog } from './spooling-log';

/** Broker state and spool depth as Prometheus gauges, read when scraped. */
export function registerSpoolMetrics(registry: Registry, log: SpoolingLog): void {
  new Gauge({
    name: 'llm_logger_log_broker_up',
    help: '1 while the Kafka log accepts records, 0 while records go to the disk spool.',
    registers: [registry],
    collect() {
      this.set(log.brokerState === 'up' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'llm_logger_log_spool_records',
    help: 'Records in the disk spool waiting for Kafka.',
    registers: [registry],
    collect() {
      this.set(log.spool.depth);
    },
  });
  new Gauge({
    name: 'llm_logger_log_spool_bytes',
    help: 'Bytes of record values in the disk spool (bounded by LLM_LOGGER_SPOOL_MAX_BYTES).',
    registers: [registry],
    collect() {
      this.set(log.spool.bytes);
    },
  });
  let refusedSeen = 0;
  new Counter({
    name: 'llm_logger_log_spool_refused_total',
    help: 'Spooled records the log refused for good (e.g. over its size limit), dropped so that they never block the records behind them.',
    registers: [registry],
    collect() {
      if (log.refusedRecords > refusedSeen) this.inc(log.refusedRecords - refusedSeen);
      refusedSeen = log.refusedRecords;
    },
  });
}
