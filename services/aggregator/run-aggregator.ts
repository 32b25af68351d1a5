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
import { AggregatorCore } from './core/aggregator-core';
import { AGGREGATOR_GROUP, AggregateProcessor } from './aggregate-processor';

/** Transactional ids start with this (the aggregator's KafkaUser may use ids with this prefix). */
export const AGGREGATOR_TRANSACTIONAL_ID_PREFIX = 'llm-logger-aggregator';

/**
 * Reads inference events as the aggregator needs them: a reader schema with
 * only the aggregated fields, resolved against whatever writer schema the
 * record names. Read-only: nothing is registered.
 */
export function aggregatedEventSerde(log: EventLog): AvroSerde<AggregatedEvent> {
  const full = JSON.parse(readSchemaText(INFERENCE_EVENT_SCHEMA_FILE)) as { fields: { name: string }[] };
  const keep = new Set<string>(AGGREGATED_FIELDS);
  const projected = { ...full, fields: full.fields.filter((f) => keep.has(f.name)) };
  return new AvroSerde<AggregatedEvent>(log.schemaRegistry, INFERENCE_EVENT_SUBJECT, JSON.stringify(projected));
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
  const core = new AggregatorCore({
    windowSizesMs: Object.values(WINDOWS),
    graceMs: a.graceMs,
    idleCloseMs: a.idleCloseMs,
    maxKeys: a.maxKeys,
  });
  const processor = new AggregateProcessor({
    core,
    events: aggregatedEventSerde(log),
    aggregates: await aggregateSerde(log),
    registry,
    logger: logger.child({ role: 'aggregator' }),
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
        await server?.close();
      })();
      return closing;
    },
  };
}
