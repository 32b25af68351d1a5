import { Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per process; roles register their own metrics on it. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'llm_logger_' });
  return registry;
}
