import type { Registry } from 'prom-client';
import { TOPICS } from '../../topology/topics';
import type { Config } from '../shared/config/config';
import { INFERENCE_EVENT_SCHEMA_FILE, INFERENCE_EVENT_SUBJECT, readSchemaText } from '../shared/event/inference-event';
import { AGGREGATED_FIELDS, type AggregatedEvent } from './core/aggregated-event';
import { AvroSerde } from '../shared/event/serde';
import type { EventLog } from '../shared/log/event-log';
import type { Logger } from '../shared/observability/logger';
import { startRoleServer, type RoleServer } from '../shared/http/role-server';
import type { RunningRole } from '../gateway/run-gateway';
import { AGGREGATE_SCHEMA_FILE, AGGREGATE_SUBJECT, WINDOWS, type AggregateRecord } from './core/aggregate-record';
import type { WindowingOptions } from './core/partition-state';
import { LocalEngine, type AggregationEngine } from './aggregation-engine';
import { WorkerEngine } from './worker-engine';
import { AGGREGATOR_GROUP, AggregateProcessor } from './aggregate-processor';

/** Transactional ids start with this (the aggregator's KafkaUser may use ids with this prefix). */
export const AGGREGATOR_TRANSACTIONAL_ID_PREFIX = 'llm-logger-aggregator';

/** The inference event schema with only the fields the aggregator reads (a reader schema). */
function projectedSchemaText(): string {
  const full = JSON.parse(readSchemaText(INFERENCE_EVENT_SCHEMA_FILE)) as { fields: { name: string }[] };
  const keep = new Set<string>(AGGREGATED_FIELDS);
  return JSON.stringify({ ...full, fields: full.fields.filter((f) => keep.has(f.name)) });
}

/**
 * Reads inference events as the aggregator needs them: a reader schema with
 * only the aggregated fields, resolved against whatever writer schema the
 * record names. Read-only: nothing is registered.
 */
export function aggregatedEventSerde(log: EventLog): AvroSerde<AggregatedEvent> {
  return new AvroSerde<AggregatedEvent>(log.schemaRegistry, INFERENCE_EVENT_SUBJECT, projectedSchemaText());
}

/**
 * On Kafka, events are decoded and aggregated on a worker thread while this
 * one reads the topic and runs the transactions (docs/benchmarks.md); on the
 * embedded log, on this thread (one process runs every role there, and a
 * second heap costs memory for little gain).
 */
export function aggregationEngine(log: EventLog, options: WindowingOptions): AggregationEngine {
  if (log.kind === 'kafka') return new WorkerEngine({ options, readerSchema: projectedSchemaText(), subject: INFERENCE_EVENT_SUBJECT }, log.schemaRegistry);
  return new LocalEngine(options, aggregatedEventSerde(log));
}

export async function aggregateSerde(log: EventLog): Promise<AvroSerde<AggregateRecord>> {
  const serde = new AvroSerde<AggregateRecord>(log.schemaRegistry, AGGREGATE_SUBJECT, readSchemaText(AGGREGATE_SCHEMA_FILE));
  await serde.init();
  return serde;
}

/**
 * Starts the aggregator: llm.inference.v1 → windowed aggregates on
 * llm.aggregates.v1, exactly once. `serveHealth` is false inside `start`,
 * where the gateway and console already serve /metrics.
 */
export async function runAggregator(
  config: Config,
  log: EventLog,
  registry: Registry,
  logger: Logger,
  options: { serveHealth: boolean } = { serveHealth: true },
): Promise<RunningRole> {
  const a = config.aggregator;
  const engine = aggregationEngine(log, {
    windowSizesMs: Object.values(WINDOWS),
    graceMs: a.graceMs,
    idleCloseMs: a.idleCloseMs,
    maxKeys: a.maxKeys,
  });
  const processor = new AggregateProcessor({
    engine,
    aggregates: await aggregateSerde(log),
    registry,
    logger: logger.child({ role: 'aggregator' }),
    dedupe: config.dedupe,
  });
  const subscription = log.subscribeTransactional(
    {
      topic: TOPICS.inference,
      groupId: AGGREGATOR_GROUP,
      transactionalId: `${AGGREGATOR_TRANSACTIONAL_ID_PREFIX}-${config.instance}`,
      changelogTopic: TOPICS.aggregatorChangelog,
      commitIntervalMs: a.emitIntervalMs,
    },
    processor,
  );
  let server: RoleServer | null = null;
  if (options.serveHealth) {
    server = await startRoleServer(config.metrics.host, config.metrics.port, {
      registry,
      ready: () => true,
      details: () => ({ lag: subscription.lag() }),
    });
    logger.info({ port: server.port }, 'aggregator health and metrics listening');
  }
  let closing: Promise<void> | null = null;
  return {
    port: server?.port ?? 0,
    close() {
      closing ??= (async () => {
        await subscription.stop();
        await engine.close();
        await server?.close();
      })();
      return closing;
    },
  };
}
