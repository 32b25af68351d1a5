import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { topicSpec, TOPICS, type TopicName } from '../../topology/topics';
import type { Config } from '../shared/config/config';
import { inferenceEventSerde } from '../shared/event/inference-serde';
import { decodeLiveRecord } from '../shared/event/live-record-codec';
import { checkedTimes } from '../shared/log/checked-times';
import type { ConsumedRecord, ConsumerSubscription, EventLog } from '../shared/log/event-log';
import { PoisonRecordError, runConsumer } from '../shared/log/consumer-runner';
import type { Logger } from '../shared/observability/logger';
import type { RunningRole } from '../gateway/run-gateway';
import { closeServer } from '../shared/http/close-server';
import { startRoleServer, type RoleServer } from '../shared/http/role-server';
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
import { AccessLogStore } from './access/access-log-store';
import { AccessLogWriter } from './access/access-log-writer';
import { decodeAccessRecord, type AccessRecord } from './access/access-record';
import { ConsoleAuthenticator } from './access/authenticate';
import type { ConsoleRoute } from './access/route-guard';
import { SessionStore } from './access/session-store';
import { followErasures } from '../shared/erasure/erasure-follower';
import { openObjectStore } from '../roller/object-store/open-object-store';
import { queryCacheDir } from '../roller/query-cache';
import { eraseUser } from '../erasure/erase-user';
import { ADMIN_ERASE_PATH, serveAdminErase, type AdminEraser } from './admin-erase-route';
import { storedUser } from '../shared/redaction/stored-user';

export const CONSOLE_GROUP = 'llm-logger-console';
/** The group that fills the admins' access-log view from llm.access.v1 (under the console's ACL prefix). */
export const CONSOLE_ACCESS_GROUP = 'llm-logger-console-access';

/**
 * The groups that fill a console's views. Each console keeps views of its
 * own (the request list, the access log), so each must read every partition:
 * on Kafka a console's groups are its own, named after its instance
 * (LLM_LOGGER_INSTANCE; the pod name on Kubernetes), where one shared group
 * would give two consoles half the calls each. The embedded log has one
 * console per data directory, under the fixed names.
 */
export function consoleGroups(log: Pick<EventLog, 'kind'>, instance: string): { view: string; access: string } {
  if (log.kind === 'embedded') return { view: CONSOLE_GROUP, access: CONSOLE_ACCESS_GROUP };
  return { view: `${CONSOLE_GROUP}-${instance}`, access: `${CONSOLE_ACCESS_GROUP}-${instance}` };
}
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
  options: {
    routes?: readonly ConsoleRoute[];
    /** Tests: a group of their own for the access-log view on a shared broker. */
    accessGroupId?: string;
  } = {},
): Promise<RunningRole & { metricsPort: number | null }> {
  const c = config.console;
  const groups = consoleGroups(log, config.instance);
  const accessGroup = options.accessGroupId ?? groups.access;
  // The audit index is shared with the indexer in one process; on its own the console opens it read-side.
  const search = sharedSearch ?? openSearchIndex(config, logger);
  const sessions = new SessionStore(join(config.dataDir, 'console', 'sessions.db'));
  const auth = new ConsoleAuthenticator(c.access, sessions);
  const ended = sessions.retain(auth.credentials.digests());
  if (ended > 0) logger.info({ sessions: ended }, 'console sessions ended: expired, or their token is no longer configured');
  if (!auth.controlled && !LOOPBACK.test(c.host)) {
    logger.warn(
      { host: c.host },
      'console bound beyond localhost without access control (LLM_LOGGER_CONSOLE_TOKEN, console.tokens or console.sso): only Host names in LLM_LOGGER_CONSOLE_ALLOWED_HOSTS are served, and anyone who can reach it under one reads every prompt',
    );
  }
  const storePath = join(config.dataDir, 'console', 'requests.db');
  const freshStore = !existsSync(storePath);
  const store = new RequestsStore(storePath, c.viewHours * 3_600_000);
  // A new view (first start, or its volume was replaced, as an emptyDir is with each pod): the group's
  // committed offsets describe a view that is gone, so read the log again over the view's window. As a
  // rewind of the subscription, not a reset of the group: on Kafka a reset needs an empty group, and the
  // console that crashed before this one stays a member until its session times out.
  const viewRewind = freshStore ? { from: store.cutoff(Date.now()) } : undefined;
  if (viewRewind) logger.info({ group: groups.view, from: new Date(viewRewind.from).toISOString() }, 'new request view: reading the log again over its window');
  const accessPath = join(config.dataDir, 'console', 'access-log.db');
  const freshAccessLog = !existsSync(accessPath);
  const accessLog = new AccessLogStore(accessPath);
  const accessWriter = new AccessLogWriter(log, config.instance, registry);
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
  // Erased users: their calls are kept without bodies, and an erasure that arrives (from this process's admin
  // API, or from llm-logger erase elsewhere) erases what the view holds already.
  const erasures = followErasures(log, 'console', registry, logger);
  const stopErasures = erasures.list.onChange((e) => {
    store.eraseBodies(e.user, e.erased_at);
    hub.eraseUser(e.user);
  });
  const subscription = runConsumer({
    log,
    role: 'console',
    topic: TOPICS.inference,
    groupId: groups.view,
    start: 'earliest',
    rewind: viewRewind,
    registry,
    logger,
    decode: async (record) => checkedTimes(await serde.decode(record.value)),
    eventTime: (e) => e.ended_at,
    handle: async (batch) => {
      await erasures.ready(); // a view rebuilt from the log must not take back bodies erased before
      const events = batch.map((d) => erasures.list.apply(d.value));
      store.put(events);
      hub.onFinished(events.map(summarize));
    },
  });
  const accessSubscription = runConsumer<AccessRecord>({
    log,
    role: 'console',
    topic: TOPICS.access,
    groupId: accessGroup,
    start: 'earliest',
    // Same as the request view: a new access-log view is rebuilt from the topic's beginning.
    rewind: freshAccessLog ? {} : undefined,
    registry,
    logger,
    decode: async (record) => {
      const r = decodeAccessRecord(record.value);
      if (r === null) throw new PoisonRecordError('decode_failed', 'not an access-log record (JSON of AccessRecord, v 1)');
      return r;
    },
    eventTime: (r) => Date.parse(r.at),
    handle: async (batch) => accessLog.put(batch.map((d) => d.value)),
  });
  const accessRetentionMs = topicSpec(TOPICS.access).retentionMs;
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
    accessLog.prune(Date.now() - accessRetentionMs);
    sessions.retain(auth.credentials.digests());
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
  // POST /api/admin/erase: erases in this process, which owns the view (one erase at a time).
  let erasing: Promise<unknown> = Promise.resolve();
  const eraser: AdminEraser = (user) => {
    const run = erasing.then(async () => {
      const archive = openObjectStore(config.archive);
      try {
        return await eraseUser(
          {
            log,
            view: store,
            hub,
            search,
            archive,
            queryCacheDir: config.archive.kind === 's3' ? queryCacheDir(config.dataDir, archive.url) : null,
          },
          { user, source: 'console', logger },
        );
      } finally {
        await archive.close();
      }
    });
    erasing = run.catch(() => undefined);
    return run;
  };
  const eraseRoute: ConsoleRoute = {
    method: 'POST',
    path: ADMIN_ERASE_PATH,
    role: 'admin',
    handle: (ctx) =>
      serveAdminErase(
        ctx.req,
        ctx.res,
        eraser,
        logger,
        (user) => ctx.audit({ action: 'erase', filters: { user } }),
        (user) => storedUser(user, config.redaction),
      ),
  };
  const server = buildConsole({
    store,
    aggregates,
    registry,
    logger,
    ready: () => true,
    hub,
    alerts,
    web: new StaticFiles(findWebRoot()),
    search,
    auth,
    accessLog,
    accessWriter,
    routes: [eraseRoute, ...(options.routes ?? [])],
  });
  server.listen(c.port, c.host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  // Prometheus scrapes this port without a console identity; the console's own port wants one for /metrics.
  const metricsServer: RoleServer | null =
    c.access.metricsPort === null ? null : await startRoleServer(config.metrics.host, c.access.metricsPort, { registry, ready: () => true });
  logger.info(
    {
      host: c.host,
      port,
      protected: auth.controlled,
      tokens: c.access.credentials.length,
      sso: c.access.sso !== null,
      metricsPort: metricsServer?.port ?? null,
      alertRules: c.alerts.rules.length,
    },
    'console listening',
  );
  let closing: Promise<void> | null = null;
  return {
    port,
    metricsPort: metricsServer?.port ?? null,
    close() {
      closing ??= (async () => {
        stopUpdates();
        hub.close();
        await alerts.stop();
        await closeServer(server, 1_000);
        await metricsServer?.close();
        clearInterval(pruner);
        for (const check of loadChecks) clearInterval(check);
        await Promise.all([subscription.stop(), accessSubscription.stop(), aggregateSubscription.stop(), alertReader.stop(), live.stop()]);
        await erasing;
        stopErasures();
        await erasures.release();
        store.close();
        accessLog.close();
        sessions.close();
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
