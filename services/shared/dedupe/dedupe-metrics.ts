import { Counter, Gauge, type Registry } from 'prom-client';

/** Metrics of the copies of ingested events dropped, per role (the aggregator and the roller share a registry in `start`). */
export interface DedupeMetrics {
  dropped: Counter<'role'>;
  remembered: Gauge<'role'>;
  forgottenEarly: Counter<'role'>;
}

const byRegistry = new WeakMap<Registry, DedupeMetrics>();

export function dedupeMetrics(registry: Registry): DedupeMetrics {
  let m = byRegistry.get(registry);
  if (!m) {
    const registers = [registry];
    const labelNames = ['role'] as const;
    m = {
      dropped: new Counter({
        name: 'llm_logger_duplicates_dropped_total',
        help: 'Copies of ingested events dropped: an event id already seen in its log partition within the window.',
        labelNames,
        registers,
      }),
      remembered: new Gauge({
        name: 'llm_logger_dedupe_ids',
        help: 'Ingested event ids remembered to drop copies, over the log partitions held.',
        labelNames,
        registers,
      }),
      forgottenEarly: new Counter({
        name: 'llm_logger_dedupe_forgotten_early_total',
        help: 'Ingested event ids forgotten before their window ended (LLM_LOGGER_DEDUPE_MAX_IDS reached): a later copy of one counts again.',
        labelNames,
        registers,
      }),
    };
    byRegistry.set(registry, m);
  }
  return m;
}
