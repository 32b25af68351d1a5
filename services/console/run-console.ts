import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { TOPICS, type TopicName } from '../../topology/topics';
import type { Config } from '../shared/config/config';
import { inferenceEventSerde } from '../shared/event/inference-serde';
import { decodeLiveRecord } from '../shared/event/live-record-codec';
import { checkedTimes } from '../shared/log/checked-times';
import type { ConsumedRecord, ConsumerSubscription, EventLog } from '../shared/log/event-log';
import { PoisonRecordError, runConsumer } from '../shared/log/consumer-runner';
import type { Logger } from '../shared/observability/logger';
import type { RunningRole } from '../gateway/run-gateway';
import { closeServer } from '../shared/http/close-server';
import { startAlertRunner } from './alerts/alert-runner';
import type { AlertTransition } from './alerts/alert-tracker';
import { buildConsole } from './console-server';
import { LiveHub } from './live-hub';
import { RequestsStore, summarize } from './requests-store';
import { findWebRoot, StaticFiles } from './static-files';
import { AggregatesView } from './aggregates-view';
import { aggregateSerde } from '../aggregator/run-aggregator';
import type { SearchIndex } from '../indexer/search-index';
import { openSearchIndex } from '../indexer/open-search-index';

export const CONSOLE_GROUP = 'llm-logger-console';
/** The in-memory readers (aggregate view, alert history) count as read to the end after this long at most. */
const READ_TO_END_MAX_MS = 30_000;
/** The request view drops calls that aged out of its window this often. */
const VIEW_PRUNE_EVERY_MS = 10 * 60_000;

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
  sharedSearch?: SearchIndex,
): Promise<RunningRole> {
  const c = config.console;
  // The audit index is shared with the indexer in one process; on its own the console opens it read-side.
  const search = sharedSearch ?? openSearchIndex(config, logger);
  if (c.tokens.length === 0 && !LOOPBACK.test(c.host)) {
    logger.warn({ host: c.host }, 'console exposed beyond localhost without LLM_LOGGER_CONSOLE_TOKEN: anyone who can reach it reads every prompt');
  }
  const storePath = join(config.dataDir, 'console', 'requests.db');
  const freshStore = !existsSync(storePath);
  const store = new RequestsStore(storePath, c.viewHours * 3_600_000);
  if (freshStore) {
    // The view is new (first start, or its volume was replaced, as an emptyDir is with each pod): the
    // group's committed offsets describe a view that is gone, so read the log again over the view's window.
    try {
      await log.resetGroup(CONSOLE_GROUP, TOPICS.inference, store.cutoff(Date.now()));
    } catch (err) {
      logger.warn({ err, group: CONSOLE_GROUP }, 'new request view, but its consumer group could not be reset: calls before this start are missing from it');
    }
  }
  const serde = await inferenceEventSerde(log.schemaRegistry);
  const aggregates = new AggregatesView();
  let viewLoaded!: () => void;
  let historyLoaded!: (history: AlertTransition[]) => void;
  const alerts = startAlertRunner({
    config: c.alerts,
    source: async (q) => aggregates.query(q),
    log,
    registry,
    logger,
    onTransition: (t) => hub.onAlert(t),
    ready: new Promise<void>((resolve) => (viewLoaded = resolve)),
    history: new Promise<AlertTransition[]>((resolve) => (historyLoaded = resolve)),
  });
  const hub = new LiveHub(() => alerts.active());
  // New aggregate partials: dashboards refetch (throttled by the hub).
  const stopUpdates = aggregates.onUpdate(() => hub.onAggregates());
  const subscription = runConsumer({
    log,
    role: 'console',
    topic: TOPICS.inference,
    groupId: CONSOLE_GROUP,
    start: 'earliest',
    registry,
    logger,
    decode: async (record) => checkedTimes(await serde.decode(record.value)),
    eventTime: (e) => e.ended_at,
    handle: async (batch) => {
      const events = batch.map((d) => d.value);
      store.put(events);
      hub.onFinished(events.map(summarize));
    },
  });
  const aggregateCodec = await aggregateSerde(log);
  // A reader has read to the end when it has caught up (or after 30 s at most, on a slow cluster).
  const loadChecks: NodeJS.Timeout[] = [];
  /** Reads a topic from its beginning with no group, into memory; `loaded` once it has read to the end. */
  const readFromStart = <T>(
    topic: TopicName,
    decode: (record: ConsumedRecord) => Promise<T>,
    eventTime: (value: T) => number,
    put: (values: T[]) => void,
    loaded: () => void,
  ): ConsumerSubscription => {
    const reader = runConsumer({
      log,
      role: 'console',
      topic,
      groupId: null,
      start: 'earliest',
      registry,
      logger,
      decode,
      eventTime,
      handle: async (batch) => put(batch.map((d) => d.value)),
    });
    const since = Date.now();
    const check = setInterval(() => {
      if (reader.caughtUp() || Date.now() - since > READ_TO_END_MAX_MS) {
        clearInterval(check);
        loaded();
      }
    }, 200);
    check.unref();
    loadChecks.push(check);
    return reader;
  };
  // Every start reads the compacted aggregate topic (the view is rebuilt in memory) and the alert
  // transitions sent before this start (for the alert runner to take back; then this reader stops).
  const aggregateSubscription = readFromStart(
    TOPICS.aggregates,
    (record) => aggregateCodec.decode(record.value),
    (r) => r.updated_at,
    (records) => aggregates.put(records, Date.now()),
    viewLoaded,
  );
  const alertHistory: AlertTransition[] = [];
  const alertReader = readFromStart(
    TOPICS.alerts,
    async (record) => parseTransition(record.value),
    (t) => (t ? Date.parse(t.at) : 0),
    (transitions) => {
      for (const t of transitions) if (t) alertHistory.push(t);
    },
    () => {
      historyLoaded(alertHistory);
      void alertReader.stop();
    },
  );
  store.prune();
  let prunedAt = Date.now();
  const pruner = setInterval(() => {
    aggregates.prune(Date.now());
    if (Date.now() - prunedAt < VIEW_PRUNE_EVERY_MS) return;
    prunedAt = Date.now();
    store.prune();
  }, 60_000);
  pruner.unref();
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
    aggregates,
    registry,
    logger,
    ready: () => true,
    hub,
    alerts,
    tokens: c.tokens,
    web: new StaticFiles(findWebRoot()),
    search,
  });
  server.listen(c.port, c.host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  logger.info({ host: c.host, port, protected: c.tokens.length > 0, alertRules: c.alerts.rules.length }, 'console listening');
  let closing: Promise<void> | null = null;
  return {
    port,
    close() {
      closing ??= (async () => {
        stopUpdates();
        hub.close();
        await alerts.stop();
        await closeServer(server, 1_000);
        clearInterval(pruner);
        for (const check of loadChecks) clearInterval(check);
        await Promise.all([subscription.stop(), aggregateSubscription.stop(), alertReader.stop(), live.stop()]);
        store.close();
        if (!sharedSearch) await search.close();
      })();
      return closing;
    },
  };
}

/** A transition from llm.alerts.v1, or null for a record that is not one (it is skipped, not fatal). */
function parseTransition(value: Buffer): AlertTransition | null {
  try {
    const t = JSON.parse(value.toString()) as Partial<AlertTransition> | null;
    const valid =
      typeof t?.key === 'string' &&
      typeof t.rule === 'string' &&
      typeof t.message === 'string' &&
      (t.state === 'firing' || t.state === 'resolved') &&
      !Number.isNaN(Date.parse(t.at ?? '')) &&
      !Number.isNaN(Date.parse(t.since ?? ''));
    return valid ? (t as AlertTransition) : null;
  } catch {
    return null;
  }
}
