import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Config } from '../shared/config/config';
import { inferenceEventSerde } from '../shared/event/inference-serde';
import type { EventLog } from '../shared/log/event-log';
import { EventRecorder } from '../shared/log/event-recorder';
import type { Logger } from '../shared/observability/logger';
import { loadPriceTable } from '../shared/pricing';
import { createGatewayMetrics } from './gateway-metrics';
import { buildGateway } from './gateway-server';
import { SpoolingLog } from '../shared/log/spool/spooling-log';
import { registerSpoolMetrics } from '../shared/log/spool/spool-metrics';
import { startLivePublisher } from './live-publisher';
import { TOPICS } from '../../topology/topics';
import { TopicPresence } from './topic-presence';
import type * as TopologyAdminModule from '../shared/log/kafka/topology-admin';

export interface RunningRole {
  /** Port actually bound (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

/** Starts the gateway role on an open log; `close()` drains calls, then flushes events. */
export async function runGateway(
  config: Config,
  log: EventLog,
  registry: Registry,
  logger: Logger,
  options: { /** tests: the topics whose absence makes the gateway unready */ requiredTopics?: readonly string[] } = {},
): Promise<RunningRole> {
  const prices = loadPriceTable(config.priceOverrides);
  const serde = await inferenceEventSerde(log.schemaRegistry);
  const recorder: EventRecorder = new EventRecorder(
    log,
    serde,
    {
      maxQueue: config.log.handoffQueueMax,
      maxBatch: config.log.handoffBatchMax,
      lingerMs: config.log.handoffLingerMs,
      onDrop: (count) => metrics.eventsDropped.inc(count),
      onError: (err, attempt) => logger.error({ err, attempt }, 'events could not be written to the log; retrying'),
    },
    (err, eventId) => logger.error({ err, eventId }, 'event could not be encoded; dropped'),
    () => !(log instanceof SpoolingLog) || log.canAccept(),
  );
  const metrics = createGatewayMetrics(registry, () => recorder.handoff.depth);
  const spooling = log instanceof SpoolingLog ? log : null;
  if (spooling) registerSpoolMetrics(registry, spooling);
  const live = config.gateway.liveIntervalMs > 0 ? startLivePublisher(log, config.gateway.liveIntervalMs, registry, logger) : null;
  const topics = config.log.kafkaBrokers ? watchTopics(config, options.requiredTopics ?? (config.gateway.liveIntervalMs > 0 ? [TOPICS.inference, TOPICS.inferenceLive] : [TOPICS.inference]), logger) : null;
  const gateway = buildGateway({
    live: live?.coalescer ?? null,
    config,
    recorder,
    metrics,
    prices,
    registry,
    logger,
    logReady: () => topics?.ready() ?? true,
    logDetails: () => ({
      log: log.kind,
      ...topics?.details(),
      handoff_queue: recorder.handoff.depth,
      ...(spooling ? { broker: spooling.brokerState, spool_records: spooling.spool.depth, spool_bytes: spooling.spool.bytes } : {}),
    }),
  });
  gateway.server.listen(config.gateway.port, config.gateway.host);
  await once(gateway.server, 'listening');
  const port = (gateway.server.address() as AddressInfo).port;
  logger.info({ host: config.gateway.host, port, upstreams: [...config.gateway.upstreams.keys()] }, 'gateway listening');
  let closing: Promise<void> | null = null;
  return {
    port,
    close() {
      closing ??= (async () => {
        topics?.stop();
        await gateway.close(config.gateway.shutdownGraceMs);
        live?.stop();
        await recorder.shutdown(config.gateway.shutdownGraceMs);
      })();
      return closing;
    },
  };
}

/** Watches for the gateway's topics on Kafka (the admin client is loaded only here, as `topology` does). */
function watchTopics(config: Config, topics: readonly string[], logger: Logger): TopicPresence {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { KafkaTopologyAdmin } = require('../shared/log/kafka/topology-admin') as typeof TopologyAdminModule;
  return new TopicPresence({
    topics,
    logger,
    probe: async (names) => {
      const admin = await KafkaTopologyAdmin.connect(config.log.kafkaBrokers!, config.log.kafka);
      try {
        return await admin.missingTopics(names);
      } finally {
        await admin.close();
      }
    },
  });
}
