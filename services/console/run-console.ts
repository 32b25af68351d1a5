import { once } from 'node:events';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { TOPICS } from '../../topology/topics';
import type { Config } from '../shared/config/config';
import { inferenceEventSerde } from '../shared/event/inference-serde';
import { decodeLiveRecord } from '../shared/event/live-record-codec';
import type { EventLog } from '../shared/log/event-log';
import { PoisonRecordError, runConsumer } from '../shared/log/consumer-runner';
import type { Logger } from '../shared/observability/logger';
import type { RunningRole } from '../gateway/run-gateway';
import { closeServer } from '../shared/http/close-server';
import type { AggregatesSource } from './aggregates-contract';
import { startAlertRunner } from './alerts/alert-runner';
import { buildConsole } from './console-server';
import { httpAggregatesSource } from './http-aggregates-source';
import { LiveHub } from './live-hub';
import { RequestsStore, summarize } from './requests-store';
import { findWebRoot, StaticFiles } from './static-files';

export const CONSOLE_GROUP = 'llm-logger-console';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/**
 * Starts the console: its consumer group fills the requests view, an
 * ephemeral reader of the live topic feeds the dashboards' live tail, the
 * alert rules run on the aggregates, and the HTTP server serves all of it.
 */
export async function runConsole(
  config: Config,
  log: EventLog,
  registry: Registry,
  logger: Logger,
  opts: { aggregates?: AggregatesSource } = {},
): Promise<RunningRole> {
  const c = config.console;
  if (c.tokens.length === 0 && !LOOPBACK.test(c.host)) {
    logger.warn({ host: c.host }, 'console exposed beyond localhost without LLM_LOGGER_CONSOLE_TOKEN: anyone who can reach it reads every prompt');
  }
  const store = new RequestsStore(join(config.dataDir, 'console', 'requests.db'));
  const serde = await inferenceEventSerde(log.schemaRegistry);
  let port = 0;
  const selfUrl = (): string => `http://${LOOPBACK.test(c.host) || c.host.includes(':') || c.host === '0.0.0.0' ? '127.0.0.1' : c.host}:${port}`;
  const alerts = startAlertRunner({
    config: c.alerts,
    source: opts.aggregates ?? httpAggregatesSource(selfUrl, c.tokens[0] ?? null),
    log,
    registry,
    logger,
    onTransition: (t) => hub.onAlert(t),
  });
  const hub = new LiveHub(() => alerts.active());
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
    handle: async (batch) => {
      const events = batch.map((d) => d.value);
      store.put(events);
      hub.onFinished(events.map(summarize));
    },
  });
  // Live records matter only while a call runs: no group, start at the end.
  const live = runConsumer({
    log,
    role: 'console',
    topic: TOPICS.inferenceLive,
    groupId: null,
    start: 'latest',
    registry,
    logger,
    decode: async (record) => {
      try {
        return decodeLiveRecord(record.value);
      } catch (err) {
        throw new PoisonRecordError('decode_failed', (err as Error).message, err);
      }
    },
    eventTime: (r) => (r.type === 'started' ? r.started_at : r.at),
    handle: async (batch) => hub.onLive(batch.map((d) => d.value)),
  });
  const server = buildConsole({
    store,
    registry,
    logger,
    ready: () => true,
    hub,
    alerts,
    tokens: c.tokens,
    web: new StaticFiles(findWebRoot()),
  });
  server.listen(c.port, c.host);
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
  logger.info({ host: c.host, port, protected: c.tokens.length > 0, alertRules: c.alerts.rules.length }, 'console listening');
  let closing: Promise<void> | null = null;
  return {
    port,
    close() {
      closing ??= (async () => {
        hub.close();
        await alerts.stop();
        await closeServer(server, 1_000);
        await subscription.stop();
        await live.stop();
        store.close();
      })();
      return closing;
    },
  };
}
