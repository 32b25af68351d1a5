import { once } from 'node:events';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { TOPICS } from '../../topology/topics';
import type { Config } from '../shared/config/config';
import { inferenceEventSerde } from '../shared/event/inference-serde';
import type { EventLog } from '../shared/log/event-log';
import { runConsumer } from '../shared/log/consumer-runner';
import type { Logger } from '../shared/observability/logger';
import type { RunningRole } from '../gateway/run-gateway';
import { closeServer } from '../shared/http/close-server';
import { buildConsole } from './console-server';
import { RequestsStore } from './requests-store';
import { AggregatesView } from './aggregates-view';
import { aggregateSerde } from '../aggregator/run-aggregator';
import type { SearchIndex } from '../indexer/search-index';
import { openSearchIndex } from '../indexer/open-search-index';

export const CONSOLE_GROUP = 'llm-logger-console';

/** Starts the console: its consumer group fills the requests view, the HTTP API reads it. */
export async function runConsole(
  config: Config,
  log: EventLog,
  registry: Registry,
  logger: Logger,
  sharedSearch?: SearchIndex,
): Promise<RunningRole> {
  // The audit index is shared with the indexer in one process; on its own the console opens it read-side.
  const search = sharedSearch ?? openSearchIndex(config, logger);
  const store = new RequestsStore(join(config.dataDir, 'console', 'requests.db'));
  const serde = await inferenceEventSerde(log.schemaRegistry);
  const subscription = runConsumer({
    log,
    role: 'console',
    topic: TOPICS.inference,
    groupId: CONSOLE_GROUP,
    start: 'earliest',
    registry,
    logger,
    decode: (record) => serde.decode(record.value),
    eventTime: (e) => e.ended_at,
    handle: async (batch) => store.put(batch.map((d) => d.value)),
  });
  const aggregates = new AggregatesView();
  const aggregateCodec = await aggregateSerde(log);
  // Every start reads the compacted aggregate topic from its beginning (no group): the view is rebuilt in memory.
  const aggregateSubscription = runConsumer({
    log,
    role: 'console',
    topic: TOPICS.aggregates,
    groupId: null,
    start: 'earliest',
    registry,
    logger,
    decode: (record) => aggregateCodec.decode(record.value),
    eventTime: (r) => r.updated_at,
    handle: async (batch) => aggregates.put(batch.map((d) => d.value), Date.now()),
  });
  const pruner = setInterval(() => aggregates.prune(Date.now()), 60_000);
  pruner.unref();
  const server = buildConsole({ store, aggregates, registry, logger, ready: () => true, search });
  server.listen(config.console.port, config.console.host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  logger.info({ host: config.console.host, port }, 'console listening');
  let closing: Promise<void> | null = null;
  return {
    port,
    close() {
      closing ??= (async () => {
        await closeServer(server, 1_000);
        clearInterval(pruner);
        await Promise.all([subscription.stop(), aggregateSubscription.stop()]);
        store.close();
        if (!sharedSearch) await search.close();
      })();
      return closing;
    },
  };
}
