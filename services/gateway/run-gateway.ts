import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Config } from '../shared/config/config';
import { inferenceEventSerde } from '../shared/event/inference-serde';
import type { EventLog } from '../shared/log/event-log';
import { EventRecorder, type EventRecording } from '../shared/log/event-recorder';
import { INFERENCE_EVENT_SCHEMA_FILE, readSchemaText } from '../shared/event/inference-event';
import { DLQ_HEADROOM_BYTES, type Fitted } from '../shared/event/record-fit';
import { RedactingRecorder } from './redaction-thread';
import type { Logger } from '../shared/observability/logger';
import { loadPrices, priceSourceOf } from '../shared/config/price-file';
import { startPriceReload } from './price-reload';
import { createGatewayMetrics } from './gateway-metrics';
import { buildGateway } from './gateway-server';
import { SpoolingLog } from '../shared/log/spool/spooling-log';
import { registerSpoolMetrics } from '../shared/log/spool/spool-metrics';
import { startLivePublisher } from './live-publisher';
import { TOPICS } from '../../topology/topics';
import { TopicPresence } from './topic-presence';
import type * as TopologyAdminModule from '../shared/log/kafka/topology-admin';
import { resolveGatewayAccess } from './core/access-policy';
import { KeyBudgets } from './core/key-budget';
import { GatewayKeyStore } from './key-store';

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
  // Refuses to start, naming the setting, when strangers could spend a provider key or write events.
  const access = resolveGatewayAccess(config.gateway);
  // Prices are validated here (a bad file stops the start with the field named) and again on every reload.
  const priceSource = priceSourceOf(config);
  const firstPrices = loadPrices(priceSource);
  const budgets = new KeyBudgets();
  const keys =
    access.clients.mode === 'keys'
      ? new GatewayKeyStore({
          file: access.clients.file,
          upstreamNames: new Set(config.gateway.upstreams.keys()),
          logger,
          registry,
          onLoad: (ids) => budgets.retain(ids),
        })
      : null;
  if (access.clients.mode === 'open' && access.clients.reason === 'opted-out') {
    logger.warn(
      { host: config.gateway.host },
      'LLM_LOGGER_GATEWAY_AUTH=none: the gateway serves anyone who can reach it, without gateway keys (clients bring their own provider keys)',
    );
  }
  if (access.ingest.mode === 'open' && access.ingest.reason === 'opted-out') {
    logger.warn({ host: config.gateway.host }, 'LLM_LOGGER_INGEST_AUTH=none: anyone who can reach the gateway may write events through POST /ingest/v1/events');
  }
  // SIGHUP reads both the gateway keys (here) and the prices (their reloader) again.
  const onHangup = (): void => void keys?.reload('SIGHUP');
  if (keys) process.on('SIGHUP', onHangup);
  const prices = startPriceReload(priceSource, firstPrices, registry, logger);
  const serde = await inferenceEventSerde(log.schemaRegistry);
  // On Kafka an event must fit in one record, with room for a consumer's DLQ headers (see record-fit.ts).
  const maxRecordBytes = config.log.kafkaBrokers ? config.log.kafka.maxRecordBytes - DLQ_HEADROOM_BYTES : null;
  const onShrunk = (fitted: Fitted | null, eventId: string): void => {
    metrics.eventsShrunk.inc({ kept: fitted ?? 'none' });
    if (fitted === null) logger.error({ eventId, maxRecordBytes }, 'event over the log record limit even without any text; dropped');
    else logger.warn({ eventId, maxRecordBytes, kept: fitted }, 'event over the log record limit; recorded without its bodies (flagged truncated)');
  };
  const writer = new EventRecorder(
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
    { maxRecordBytes, onShrunk },
  );
  // Redaction policy `all`: events are redacted (and encoded) on a worker thread before they are queued.
  const recorder: EventRecording =
    config.redaction.policy === 'all'
      ? new RedactingRecorder(writer, {
          init: { settings: config.redaction.settings, schemaId: await serde.init(), schemaText: readSchemaText(INFERENCE_EVENT_SCHEMA_FILE), maxRecordBytes },
          maxPending: config.log.handoffQueueMax,
          onDrop: (count) => metrics.eventsDropped.inc(count),
          onShrunk,
          logger,
        })
      : writer;
  const metrics = createGatewayMetrics(registry, () => recorder.depth);
  const spooling = log instanceof SpoolingLog ? log : null;
  if (spooling) registerSpoolMetrics(registry, spooling);
  const live = config.gateway.liveIntervalMs > 0 ? startLivePublisher(log, config.gateway.liveIntervalMs, registry, logger) : null;
  if (config.redaction.policy === 'all') logger.info('redaction policy all: events are redacted on a worker thread before they are written; the live tail shows no text');
  const topics = config.log.kafkaBrokers ? watchTopics(config, options.requiredTopics ?? (config.gateway.liveIntervalMs > 0 ? [TOPICS.inference, TOPICS.inferenceLive] : [TOPICS.inference]), logger) : null;
  const gateway = buildGateway({
    access,
    keys,
    budgets,
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
      handoff_queue: recorder.depth,
      ...(spooling ? { broker: spooling.brokerState, spool_records: spooling.spool.depth, spool_bytes: spooling.spool.bytes } : {}),
    }),
  });
  gateway.server.listen(config.gateway.port, config.gateway.host);
  await once(gateway.server, 'listening');
  const port = (gateway.server.address() as AddressInfo).port;
  logger.info(
    {
      host: config.gateway.host,
      port,
      upstreams: [...config.gateway.upstreams.keys()],
      clients: access.clients.mode,
      gatewayKeys: keys?.size ?? null,
      injecting: access.injecting,
      ingest: access.ingest.mode,
    },
    'gateway listening',
  );
  let closing: Promise<void> | null = null;
  return {
    port,
    close() {
      closing ??= (async () => {
        prices.close();
        topics?.stop();
        await gateway.close(config.gateway.shutdownGraceMs);
        if (keys) process.off('SIGHUP', onHangup);
        keys?.close();
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
