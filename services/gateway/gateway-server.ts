import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { v7 as uuidv7 } from 'uuid';
import type { Registry } from 'prom-client';
import type { Config } from '../shared/config/config';
import { inferenceEventType } from '../shared/event/inference-event';
import type { EventRecording } from '../shared/log/event-recorder';
import type { Logger } from '../shared/observability/logger';
import { estimateTokens, priceCall, type PriceTable } from '../shared/pricing';
import { ingestNotes, validateIngestItem, type IngestHorizons, type IngestNote, type IngestRejection } from './core/ingest-validation';
import { isRouteError, resolveRoute } from './core/routing';
import { boundedMemo } from '../shared/bounded-memo';
import type { GatewayMetrics } from './gateway-metrics';
import { sendJson, sendJsonError } from '../shared/http/json-response';
import { proxyCall, type ProxyDeps } from './proxy';
import { UpstreamDeadlines } from './upstream-deadlines';
import { Agent } from './undici-parts';
import { EndedCalls } from './ended-calls';
import type { LiveCoalescer } from './core/live-coalescer';
import { closeServer } from '../shared/http/close-server';
import { serveHealth } from '../shared/http/health';

export interface GatewayDeps {
  config: Config;
  recorder: EventRecording;
  metrics: GatewayMetrics;
  prices: PriceTable;
  registry: Registry;
  logger: Logger;
  /** Calls in flight for the live view (null: not published). */
  live?: LiveCoalescer | null;
  /** Broker state and spool depth for /readyz, when the log has them. */
  logDetails?: () => Record<string, unknown>;
}

export interface Gateway {
  server: Server;
  /** Stops accepting, lets in-flight calls finish up to the grace period, then closes upstream connections. */
  close(graceMs: number): Promise<void>;
}

export const INGEST_PATH = '/ingest/v1/events';
const MAX_INGEST_ITEMS = 10_000;

/** Builds the gateway's HTTP server without listening (the caller listens). */
export function buildGateway(deps: GatewayDeps): Gateway {
  const { config, recorder, logger } = deps;
  const g = config.gateway;
  const dispatcher = new Agent({
    connect: { timeout: g.connectTimeoutMs },
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
    connections: 256, // per upstream origin
    pipelining: 1,
  });
  const deadlines = new UpstreamDeadlines(g.headersTimeoutMs, g.bodyTimeoutMs);
  const { metrics } = deps;
  const ended = new EndedCalls({
    eventDeps: {
      estimateTokens,
      price: (provider, model, usage) => {
        const priced = priceCall(deps.prices, provider, model, usage);
        if (priced.reason === 'unknown_model') metrics.unknownModel.inc({ provider });
        return priced;
      },
    },
    metrics,
    sink: {
      record: (event) => void recorder.record(event), // a full queue counts the drop itself
      recordDurable: (event) => recorder.recordDurable(event),
    },
    live: deps.live ?? null,
    logger,
  });
  const proxyDeps: ProxyDeps = {
    settings: {
      instance: config.instance,
      sampleRate: g.sampleRate,
      maxRequestBytes: g.maxRequestBytes,
      captureMaxBytes: g.captureMaxBytes,
      strict: g.auditMode === 'strict',
      liveText: config.redaction.policy !== 'all',
    },
    dispatcher,
    deadlines,
    ended,
    canRecord: () => recorder.canRecord(),
    metrics,
    logger,
    live: deps.live ?? null,
  };

  let ready = true;
  // A route depends only on the request target and the configured upstreams: most calls repeat a few.
  const routeOf = boundedMemo(1_000, (url: string) => resolveRoute(g.upstreams, url));
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    if (serveHealth(req, res, { registry: deps.registry, ready: () => ready && recorder.canRecord(), details: deps.logDetails })) return;
    if (url === INGEST_PATH || url.startsWith(`${INGEST_PATH}?`)) {
      await ingest(req, res);
      return;
    }
    const route = routeOf(url);
    if (isRouteError(route)) {
      metrics.refused.inc({ reason: route.type });
      sendJsonError(res, route.status, route.type, route.message, {
        extra: route.type === 'unknown_upstream' ? { configured: [...g.upstreams.keys()].sort() } : {},
      });
      return;
    }
    await proxyCall(proxyDeps, route, req, res);
  };

  const eventType = inferenceEventType();
  const horizons: IngestHorizons = {
    consoleViewMs: config.console.viewHours * 3_600_000,
    aggregatorGraceMs: config.aggregator.graceMs,
    indexRetentionDays: config.index.retentionDays,
  };
  const ingest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'POST') {
      sendJsonError(res, 405, 'method_not_allowed', `${INGEST_PATH} takes POST with a JSON array of events`);
      return;
    }
    const raw = await readAll(req, g.maxRequestBytes);
    if (raw === null) {
      sendJsonError(res, 413, 'request_too_large', `body is larger than LLM_LOGGER_MAX_REQUEST_BYTES (${g.maxRequestBytes} bytes)`, {
        close: true,
      });
      return;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      sendJsonError(res, 400, 'invalid_json', `body is not valid JSON: ${(err as Error).message}`);
      return;
    }
    const items = Array.isArray(doc) ? doc : (doc as { events?: unknown } | null)?.events;
    if (!Array.isArray(items)) {
      sendJsonError(res, 400, 'invalid_body', 'body must be a JSON array of events or {"events": [...]}');
      return;
    }
    if (items.length > MAX_INGEST_ITEMS) {
      sendJsonError(res, 413, 'too_many_events', `at most ${MAX_INGEST_ITEMS} events per request`);
      return;
    }
    const rejected: IngestRejection[] = [];
    const notes: IngestNote[] = [];
    const accepted: string[] = [];
    const writes: Promise<void>[] = [];
    const now = Date.now();
    items.forEach((item, index) => {
      const r = validateIngestItem(eventType, item, index, { newEventId: uuidv7, instance: 'ingest', now });
      if (!r.ok) {
        rejected.push(r.rejection);
        return;
      }
      notes.push(...ingestNotes(r.event, index, now, horizons));
      accepted.push(r.event.event_id);
      writes.push(recorder.recordDurable(r.event));
    });
    try {
      await Promise.all(writes);
    } catch (err) {
      logger.error({ err }, 'ingest: events could not be recorded');
      sendJsonError(res, 503, 'log_unavailable', 'events could not be recorded; retry later', { retryAfterSeconds: 5 });
      return;
    }
    const status = rejected.length === 0 ? 200 : accepted.length === 0 ? 400 : 207;
    sendJson(res, status, { accepted: accepted.length, rejected, event_ids: accepted, notes });
  };

  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err }, 'gateway: unhandled error');
      sendJsonError(res, 500, 'gateway_error', 'internal gateway error');
    });
  });

  return {
    server,
    async close(graceMs) {
      ready = false;
      await closeServer(server, graceMs);
      ended.flush(); // the calls that ended last reach the log before it is flushed
      await dispatcher.close().catch(() => undefined);
      deadlines.close();
    },
  };
}

function readAll(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
